"""Decline reasons (qleads.decline) and duplicate detection (qleads.duplicates): the pure
rules, and the desk's refusals."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from qleads.decline import (
    DECLINE_REASONS,
    Effect,
    closed_for,
    declines,
    effect_of,
    releasers,
    spam_reporters,
)
from qleads.duplicates import (
    changes,
    match_keys,
    normal_address,
    normal_email,
    normal_phone,
)
from qleads.errors import InvalidInput, LeadNotFound, NotPermitted
from qleads.lifecycle import Status
from qleads.model import EventKind, HistoryEvent, Policy, ReleaseReason
from qleads.tabs import Tab
from qleads.testing.world import T0, World, make_document


def _released(holder: str, reason: ReleaseReason | None, minutes: int) -> HistoryEvent:
    return HistoryEvent(
        lead_id=1,
        version=minutes,
        kind=EventKind.RELEASED,
        actor_id=holder,
        from_status=Status.CLAIMED,
        to_status=Status.NEW,
        effective_at=T0 + dt.timedelta(minutes=minutes),
        recorded_at=T0 + dt.timedelta(minutes=minutes),
        holder_id=holder,
        reason=reason,
    )


class TestDeclineReasons:
    def test_every_reason_has_an_effect_and_old_ones_keep_theirs(self) -> None:
        assert {r: effect_of(r) for r in DECLINE_REASONS} == {
            ReleaseReason.NOT_INTERESTED: Effect.POOL_CLOSED_FOR_HOLDER,
            ReleaseReason.UNREACHABLE: Effect.POOL,
            ReleaseReason.OUT_OF_SCOPE: Effect.REP_QUEUE,
            ReleaseReason.DUPLICATE: Effect.DUPLICATE,
            ReleaseReason.SPAM: Effect.SPAM_REPORT,
        }
        legacy = set(ReleaseReason) - set(DECLINE_REASONS)
        assert legacy == {
            ReleaseReason.NO_TIME,
            ReleaseReason.NO_CAPACITY,
            ReleaseReason.OUT_OF_AREA,
            ReleaseReason.OTHER,
        }
        assert all(effect_of(r) is Effect.POOL for r in legacy)
        assert effect_of(None) is Effect.POOL

    def test_history_tells_who_declined_and_why(self) -> None:
        history = [
            _released("i-anna", ReleaseReason.SPAM, 1),
            _released("i-ben", ReleaseReason.UNREACHABLE, 2),
            _released("i-anna", ReleaseReason.NOT_INTERESTED, 3),
            _released("i-carl", None, 4),
        ]
        assert [d.reason for d in declines(history)] == [
            ReleaseReason.SPAM,
            ReleaseReason.UNREACHABLE,
            ReleaseReason.NOT_INTERESTED,
            None,
        ]
        assert releasers(history) == {"i-anna", "i-ben", "i-carl"}
        assert spam_reporters(history) == {"i-anna"}
        assert closed_for(history) == {"i-anna"}

    def test_only_staff_read_reasons(self) -> None:
        world = World()
        lead_id = world.intake("reasons")
        with pytest.raises(NotPermitted):
            world.desk.decline_reasons(world.anna, lead_id)
        with pytest.raises(NotPermitted):
            world.desk.decline_summary(world.anna)
        with pytest.raises(NotPermitted):
            world.desk.return_to_pool(world.anna, lead_id)
        with pytest.raises(LeadNotFound):
            world.desk.confirm_spam(world.rep_south, lead_id)

    def test_the_rep_confirms_spam_and_the_lead_leaves_the_pool(self) -> None:
        world = World()
        lead_id = world.intake("spam")
        world.desk.confirm_spam(world.rep_east, lead_id, note="Testanfrage")
        lead = world.desk.get(world.rep_east, lead_id).lead
        assert lead.holder_id == "@r-east"
        event = world.desk.history(world.admin, lead_id)[-1]
        assert (event.kind, event.actor_id, event.note) == (EventKind.SPAM, "r-east", "Testanfrage")
        assert world.desk.tab(world.anna, Tab.AVAILABLE).total == 0

    def test_the_rep_assigns_a_lead_of_his_queue(self) -> None:
        world = World()
        lead_id = world.intake("queue")
        world.desk.claim(world.anna, lead_id)
        world.desk.release(world.anna, lead_id, reason=ReleaseReason.OUT_OF_SCOPE)
        assigned = world.desk.assign(world.rep_east, lead_id, world.ben).lead
        assert (assigned.status, assigned.holder_id) == (Status.ASSIGNED, "i-ben")
        assert assigned.previous_holders == {"i-anna"}
        assert world.desk.queue(world.rep_east)[1] == 0


class TestNormalisation:
    @pytest.mark.parametrize(
        ("phone", "country", "normal"),
        [
            ("+49 341 1406-5515", "DE", "034114065515"),
            ("0049 3411406 5515", "DE", "034114065515"),
            ("0341 / 14065515", "DE", "034114065515"),
            ("+43 1 234567", "AT", "01234567"),
            ("+43 1 234567", "DE", "+431234567"),
            ("12 34", "DE", ""),
            ("", "DE", ""),
        ],
    )
    def test_phone_numbers(self, phone: str, country: str, normal: str) -> None:
        assert normal_phone(phone, country) == normal

    def test_email_and_address(self) -> None:
        assert normal_email("  Erika@Example.ORG ") == "erika@example.org"
        assert normal_address("Härtelstraße 32", "04107") == "04107|haertelstr32"
        assert normal_address("Haertelstr. 32", "04107") == normal_address(
            "HÄRTEL-STRASSE 32 ", "04107"
        )
        assert normal_address("Härtelstraße", "04107") == ""
        assert normal_address("Härtelstraße 32", "04109") != normal_address(
            "Härtelstraße 32", "04107"
        )

    def test_match_keys_are_digests_not_the_data(self) -> None:
        contact = make_document("k").contact
        keys = match_keys(contact)
        assert len(keys) == 3
        assert all(len(key) == 64 for key in keys)
        assert not any("erika" in key for key in keys)
        assert match_keys(attrs.evolve(contact, phone="", street="Postfach")) == keys[:1]

    def test_changes_name_personal_fields_without_their_values(self) -> None:
        before = make_document("a")
        after = attrs.evolve(
            make_document("b"),
            contact=attrs.evolve(before.contact, phone="+49 351 999999"),
            consumption=attrs.evolve(before.consumption, annual_kwh=5200),
        )
        assert changes(before, after) == [
            "consumption.annual_kwh: 4500 → 5200",
            "contact.phone",
        ]
        assert changes(before, make_document("c")) == []


class TestDuplicateDetection:
    def test_off_by_default_so_the_same_person_is_two_leads(self) -> None:
        world = World()
        first = world.desk.intake(world.source, make_document("same-1"))
        second = world.desk.intake(world.source, make_document("same-2"))
        assert second.duplicate_of is None
        assert second.lead.holder_id is None
        assert first.lead.id != second.lead.id

    def test_only_within_the_window(self) -> None:
        world = World(policy=Policy(duplicate_detection=True, duplicate_window_days=30))
        old = make_document("w-1", received_at=T0 - dt.timedelta(days=31))
        world.desk.intake(world.source, old)
        assert world.desk.intake(world.source, make_document("w-2")).duplicate_of is None
        third = world.desk.intake(world.source, make_document("w-3"))
        assert third.duplicate_of is not None

    def test_a_repetition_of_a_duplicate_links_to_the_first_original(self) -> None:
        world = World(policy=Policy(duplicate_detection=True))
        first = world.desk.intake(world.source, make_document("c-1")).lead.id
        second = world.desk.intake(world.source, make_document("c-2"))
        third = world.desk.intake(world.source, make_document("c-3"))
        assert second.duplicate_of == third.duplicate_of == first

    def test_a_window_of_no_days_is_refused(self) -> None:
        with pytest.raises(ValueError, match="duplicate_window_days"):
            Policy(duplicate_window_days=0)


class TestRepetitions:
    def test_a_page_that_shows_the_lead_passes_what_it_was_shown(self) -> None:
        """The repetitions of a lead read beside its view compare the stored documents,
        not the view's (masked for an installer who does not hold it, R16)."""
        world = World(policy=Policy(duplicate_detection=True))
        first = world.desk.intake(world.source, make_document("r-1")).lead.id
        world.desk.intake(world.source, make_document("r-2", name="Erika Musterfrau"))
        seen = world.desk.get(world.anna, first)
        assert seen.contact_hidden
        read = world.desk.repetitions(world.anna, first)
        assert [r.changes for r in read] == [("contact.name",)]
        assert world.desk.repetitions(world.anna, first, seen=seen) == read

    def test_without_repetitions_the_answer_is_empty_and_a_wrong_view_refused(self) -> None:
        world = World()
        lonely = world.intake("r-lonely")
        other = world.intake("r-other")
        seen = world.desk.get(world.anna, lonely)
        assert world.desk.repetitions(world.anna, lonely, seen=seen) == []
        with pytest.raises(InvalidInput):
            world.desk.repetitions(world.anna, other, seen=seen)
        with pytest.raises(LeadNotFound):
            world.desk.repetitions(world.rep_south, lonely)
