"""R14 inside one answer (``qleads.desk.personal_data.one_answer``): a lead shown to a
person twice in one web request is recorded once; every return is still covered by a
record written before it, and outside an answer nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest

import qleads.desk.personal_data as desk_personal_data
from qleads.desk.personal_data import one_answer
from qleads.lifecycle import Status
from qleads.personal_data import AccessKind, AccessQuery, AccessRecord
from qleads.testing.world import World

MONDAY = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _records(world: World, lead_id: int) -> list[AccessRecord]:
    log = world.repository.access_log
    return log.records(AccessQuery(lead_id=lead_id, limit=100))


def _claimed(world: World) -> int:
    lead_id = world.intake()
    world.desk.claim(world.anna, lead_id)
    return lead_id


def test_a_read_and_the_record_it_led_to_are_one_access_in_one_answer() -> None:
    world = World(now=MONDAY)
    lead_id = _claimed(world)
    before = len(_records(world, lead_id))
    with one_answer():
        world.desk.get(world.anna, lead_id)
        assert len(_records(world, lead_id)) == before + 1  # written before it went out
        world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
    records = _records(world, lead_id)
    assert len(records) == before + 1
    assert records[0].kind is AccessKind.VIEW
    assert records[0].user_id == world.anna.id


def test_outside_an_answer_every_return_is_recorded() -> None:
    world = World(now=MONDAY)
    lead_id = _claimed(world)
    before = len(_records(world, lead_id))
    world.desk.get(world.anna, lead_id)
    world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
    assert len(_records(world, lead_id)) == before + 2


def test_another_kind_client_or_answer_is_recorded_again() -> None:
    world = World(now=MONDAY)
    lead_id = _claimed(world)
    before = len(_records(world, lead_id))
    with one_answer():
        world.desk.get(world.anna, lead_id)
        world.desk.get(world.anna, lead_id, access=AccessKind.PRINT)
        world.desk.get(world.anna, lead_id, client="198.51.100.1")
    with one_answer():
        world.desk.get(world.anna, lead_id)
    assert len(_records(world, lead_id)) == before + 4


def test_what_a_change_returns_is_recorded_with_the_answers_client() -> None:
    world = World(now=MONDAY)
    lead_id = world.intake()
    with one_answer("203.0.113.7"):
        world.desk.claim(world.anna, lead_id)
        world.desk.get(world.anna, lead_id, client="203.0.113.7")
    records = _records(world, lead_id)
    assert [r.client for r in records] == ["203.0.113.0"]


def test_a_change_whose_caller_shows_no_contact_returns_none_and_records_none() -> None:
    """``contact=False``: a portal that redirects after a claim or a record, or reads a
    lead only to decide on a change, gets the lead without its contact and no record
    is written (R14: nothing personal went out); the default still records."""
    world = World(now=MONDAY)
    lead_id = world.intake()
    claimed = world.desk.claim(world.anna, lead_id, contact=False)
    assert claimed.lead.holder_id == world.anna.id
    assert claimed.contact_hidden
    assert claimed.contact.name is None
    assert claimed.lead.document.contact.email == ""
    assert _records(world, lead_id) == []
    read = world.desk.get(world.anna, lead_id, contact=False)
    assert read.contact_hidden
    assert read.lead.document.contact.phone == ""
    recorded = world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED, contact=False)
    assert recorded.lead.status is Status.CONTACT_ATTEMPTED
    assert recorded.contact_hidden
    assert _records(world, lead_id) == []
    assert world.desk.get(world.anna, lead_id).contact.name
    assert [r.kind for r in _records(world, lead_id)] == [AccessKind.VIEW]


def test_a_change_without_the_contact_withholds_it_without_an_access_log_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``contact=False`` withholds the contact whether or not the repository keeps an
    access log (an embedder's own repository keeps none)."""
    world = World(now=MONDAY)
    lead_id = world.intake()
    monkeypatch.setattr(desk_personal_data, "_keeper", lambda repository: None)
    claimed = world.desk.claim(world.anna, lead_id, contact=False)
    assert claimed.contact_hidden
    assert claimed.lead.document.contact.email == ""
    assert world.desk.get(world.anna, lead_id).contact.name
