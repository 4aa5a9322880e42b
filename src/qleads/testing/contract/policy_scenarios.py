"""The policy's scenarios on a repository: the escalation ladder, decline reasons with
their effects, the rep's queue and duplicate detection, end to end on the adapter under
test (part of :class:`~qleads.testing.contract.RepositoryContract`), and the storage
promises they build on: match keys found by key within a window, duplicate links, the
tally of release reasons.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from qleads.errors import (
    InvalidInput,
    InvalidTransition,
    LeadDeclined,
    LeadNoLongerAvailable,
    LeadNotFound,
)
from qleads.ladder import Ladder, LadderAction, Step
from qleads.lifecycle import Status
from qleads.model import DeadlineKind, EventKind, NotificationKind, Policy, ReleaseReason
from qleads.ports import LeadRepository
from qleads.rep_queue import queue_holder
from qleads.tabs import Tab
from qleads.testing.contract.desk_scenarios import Outbox
from qleads.testing.world import T0, World, make_document, make_lead, store_leads

__all__ = ["PolicyContract"]

UTC = dt.UTC
#: Friday 2026-11-13, 16:00 in Berlin.
FRIDAY_16 = dt.datetime(2026, 11, 13, 15, 0, tzinfo=UTC)


def _available(world: World, installer_id: str) -> set[int]:
    page = world.desk.tab(world.cast.installer(installer_id), Tab.AVAILABLE)
    return {row.lead.id for row in page.items}


class PolicyContract:
    """The policy's share of :class:`~qleads.testing.contract.RepositoryContract`."""

    class TestPolicyOnTheRepository:
        def test_a_ladder_step_in_business_hours_fires_once_and_the_next_follows(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """The ladder counts working hours on the holder's calendar: 4 business
            hours after Friday 16:00 is Monday 10:00; the release 2 business days later
            skips Buß- und Bettag (Saxony). The step fires once, however often the
            sweep runs, and the next step is stored in its place."""
            ladder = Ladder(
                claimed=(
                    Step.hours(4, LadderAction.REMIND_HOLDER),
                    Step.days(2, LadderAction.RELEASE_TO_TERRITORY),
                )
            )
            world = World(repository, now=FRIDAY_16, policy=Policy(ladder=ladder))
            lead = world.desk.intake(world.source, make_document("ladder-1")).lead
            claimed = world.desk.claim(world.anna, lead.id).lead
            monday_10 = dt.datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
            thursday_10 = dt.datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
            assert claimed.deadline is not None
            assert (claimed.deadline.kind, claimed.deadline.at) == (
                DeadlineKind.HOLDER_REMINDER,
                monday_10,
            )
            assert claimed.hold_until == thursday_10
            world.clock.set(monday_10)
            assert world.desk.sweep().reminded == 1
            assert world.desk.sweep().total == 0
            stored = world.desk.get(world.admin, lead.id).lead
            assert stored.deadline is not None
            assert (stored.deadline.kind, stored.deadline.at) == (
                DeadlineKind.CLAIM_EXPIRY,
                thursday_10,
            )
            reminders = [n for n in outbox() if n.kind is NotificationKind.HOLDER_REMINDER]
            assert [(n.lead_id, n.recipient_id) for n in reminders] == [(lead.id, "i-anna")]
            world.clock.set(thursday_10)
            assert world.desk.sweep().expired == 1
            assert world.desk.get(world.admin, lead.id).lead.status is Status.NEW

        def test_the_ladder_returns_an_unworked_assignment_to_the_rep(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """ "Reassign to the rep's pool": the lead leaves its holder for the rep's
            queue, where no installer sees it, until the rep sends it to the pool."""
            ladder = Ladder(assigned=(Step.days(1, LadderAction.REASSIGN_TO_REP),))
            world = World(repository, policy=Policy(ladder=ladder))
            lead_id = world.desk.intake(world.source, make_document("ladder-2")).lead.id
            world.desk.assign(world.rep_east, lead_id, world.anna)
            world.advance(days=1, hours=1)
            assert world.desk.sweep().returned_to_rep == 1
            queued = world.desk.get(world.rep_east, lead_id).lead
            assert (queued.status, queued.holder_id) == (Status.NEW, queue_holder("r-east"))
            assert lead_id not in _available(world, "i-anna") | _available(world, "i-ben")
            rows, total = world.desk.queue(world.rep_east)
            assert total == 1
            assert [row.lead.id for row in rows] == [lead_id]
            kinds = {(n.kind, n.recipient_id) for n in outbox() if n.lead_id == lead_id}
            assert (NotificationKind.WITHDRAWN, "i-anna") in kinds
            assert (NotificationKind.REP_QUEUE, "r-east") in kinds
            with pytest.raises(LeadNoLongerAvailable):  # in the queue, not in the pool
                world.desk.claim(world.ben, lead_id)
            world.desk.return_to_pool(world.rep_east, lead_id, note="bitte übernehmen")
            assert lead_id in _available(world, "i-anna") & _available(world, "i-ben")
            assert world.desk.get(world.anna, lead_id).previously_handled
            with pytest.raises(InvalidTransition):
                world.desk.return_to_pool(world.rep_east, lead_id)

        def test_decline_reasons_take_effect_and_reps_read_them(
            self, repository: LeadRepository
        ) -> None:
            """Kein Interesse closes the lead for him; außerhalb meines Gebiets sends it
            to the rep; Spam closes it for everyone once a second installer says so; the
            rep reads the reasons per lead and counted."""
            world = World(repository)
            desk, anna, ben = world.desk, world.anna, world.ben
            lost, outside, spam = (
                desk.intake(world.source, make_document(f"decline-{n}")).lead.id for n in range(3)
            )
            for lead_id in (lost, outside, spam):
                desk.claim(anna, lead_id)
            desk.release(anna, lost, reason=ReleaseReason.NOT_INTERESTED)
            assert lost in _available(world, "i-ben")
            with pytest.raises(LeadDeclined):
                desk.claim(anna, lost)
            desk.claim(ben, lost)

            desk.release(anna, outside, reason=ReleaseReason.OUT_OF_SCOPE, note="nur Gewerbe")
            assert desk.get(world.rep_east, outside).lead.holder_id == queue_holder("r-east")
            assert outside not in _available(world, "i-ben")

            desk.release(anna, spam, reason=ReleaseReason.SPAM)
            assert spam in _available(world, "i-ben")
            desk.claim(ben, spam)
            desk.release(ben, spam, reason=ReleaseReason.SPAM)
            assert desk.get(world.rep_east, spam).lead.holder_id == queue_holder("r-east")
            assert [e.kind for e in desk.history(world.admin, spam)][-2:] == [
                EventKind.RELEASED,
                EventKind.SPAM,
            ]

            reasons = desk.decline_reasons(world.rep_east, spam)
            assert [(d.installer_id, d.reason) for d in reasons] == [
                ("i-anna", ReleaseReason.SPAM),
                ("i-ben", ReleaseReason.SPAM),
            ]
            summary = desk.decline_summary(world.rep_east)
            assert summary[ReleaseReason.SPAM] == 2
            assert summary[ReleaseReason.NOT_INTERESTED] == 1
            assert summary[ReleaseReason.OUT_OF_SCOPE] == 1
            assert summary[ReleaseReason.UNREACHABLE] == 0
            assert next(iter(summary)) is ReleaseReason.SPAM
            assert sum(desk.decline_summary(world.rep_south).values()) == 0
            later = world.clock.now() + dt.timedelta(days=1)
            assert set(desk.decline_summary(world.rep_east, since=later).values()) == {0}
            with pytest.raises(LeadNotFound):
                desk.decline_reasons(world.rep_south, spam)

        def test_a_lead_released_by_n_installers_is_unserviceable(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """*Nicht vermittelbar*: after the second installer's release the lead goes
            to the rep's queue with its history, and the rep is told."""
            world = World(repository, policy=Policy(unserviceable_after_releases=2))
            desk = world.desk
            lead_id = desk.intake(world.source, make_document("unserviceable")).lead.id
            desk.claim(world.anna, lead_id)
            desk.release(world.anna, lead_id, reason=ReleaseReason.UNREACHABLE)
            assert lead_id in _available(world, "i-ben")
            desk.claim(world.ben, lead_id)
            desk.release(world.ben, lead_id, reason=ReleaseReason.NO_TIME)
            lead = desk.get(world.rep_east, lead_id).lead
            assert lead.holder_id == queue_holder("r-east")
            assert desk.history(world.admin, lead_id)[-1].kind is EventKind.UNSERVICEABLE
            assert (NotificationKind.REP_QUEUE.value, lead_id, "r-east") in world.notices()

        def test_a_duplicate_is_held_back_linked_and_never_distributed(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """The same person again within the window: stored, linked to the original,
            not offered to installers; the holder of the original hears "Kunde hat
            erneut angefragt"; the rep unlinks it and it is distributed normally."""
            world = World(repository, policy=Policy(duplicate_detection=True))
            desk = world.desk
            first = desk.intake(world.source, make_document("dup-1")).lead.id
            desk.claim(world.anna, first)
            again = attrs.evolve(
                make_document("dup-2"),
                consumption=attrs.evolve(make_document("dup-2").consumption, annual_kwh=5200),
            )
            result = desk.intake(world.source, again)
            assert result.created
            assert result.duplicate_of == first
            duplicate = result.lead.id
            assert desk.duplicate_of(world.rep_east, duplicate) == first
            assert desk.intake(world.source, again).duplicate_of == first  # a replay says so
            assert duplicate not in _available(world, "i-ben")
            assert not [n for n in outbox() if n.lead_id == duplicate]
            again_notices = [n for n in outbox() if n.kind is NotificationKind.REQUESTED_AGAIN]
            assert [(n.lead_id, n.recipient_id) for n in again_notices] == [(first, "i-anna")]
            note = desk.history(world.admin, duplicate)[0].note
            assert "consumption.annual_kwh: 4500 → 5200" in note
            # The holder of the original reads what changed on his lead.
            (repeated,) = desk.repetitions(world.anna, first)
            assert repeated.lead_id == duplicate
            assert repeated.changes == ("consumption.annual_kwh: 4500 → 5200",)
            with pytest.raises(LeadNotFound):
                desk.repetitions(world.ben, first)

            desk.unlink_duplicate(world.rep_east, duplicate)
            assert desk.duplicate_of(world.rep_east, duplicate) is None
            assert duplicate in _available(world, "i-ben")
            assert (NotificationKind.NEW_LEAD.value, duplicate, "i-ben") in world.notices()
            with pytest.raises(InvalidTransition):
                desk.unlink_duplicate(world.rep_east, duplicate)

        def test_a_release_as_a_duplicate_links_it_to_its_original(
            self, repository: LeadRepository
        ) -> None:
            world = World(repository)
            desk = world.desk
            first = desk.intake(world.source, make_document("dup-a")).lead.id
            second = desk.intake(world.source, make_document("dup-b")).lead.id
            desk.claim(world.anna, second)
            before = desk.get(world.admin, second).lead
            for wrong in (None, second, 10_000):
                with pytest.raises(InvalidInput, match="duplicate_of"):
                    desk.release(
                        world.anna, second, reason=ReleaseReason.DUPLICATE, duplicate_of=wrong
                    )
            assert desk.get(world.admin, second).lead == before
            desk.release(world.anna, second, reason=ReleaseReason.DUPLICATE, duplicate_of=first)
            assert desk.duplicate_of(world.admin, second) == first
            assert desk.get(world.admin, second).lead.holder_id == queue_holder("r-east")

        def test_match_keys_are_found_by_key_within_the_window(
            self, repository: LeadRepository
        ) -> None:
            """The storage finds the leads with a key in common received since a time,
            forgets a lead's keys, and keeps duplicate links."""
            old, new, other = store_leads(
                repository,
                [
                    make_lead("keys-old", received_at=T0 - dt.timedelta(days=100)),
                    make_lead("keys-new", received_at=T0),
                    make_lead("keys-other", received_at=T0),
                ],
            )
            with repository.unit_of_work(writing=True) as uow:
                uow.add_match_keys(old.id, ["a" * 64, "b" * 64], old.received_at)
                uow.add_match_keys(new.id, ["b" * 64], new.received_at)
                uow.add_match_keys(other.id, ["c" * 64], other.received_at)
                uow.link_duplicate(new.id, old.id)
                uow.commit()
            with repository.unit_of_work() as uow:
                since = T0 - dt.timedelta(days=90)
                assert uow.matching(["b" * 64], since) == [new.id]
                assert uow.matching(["a" * 64, "b" * 64], since - dt.timedelta(days=30)) == [
                    old.id,
                    new.id,
                ]
                assert uow.matching(["d" * 64], since) == []
                assert uow.duplicate_of(new.id) == old.id
                assert uow.duplicate_of(old.id) is None
            with repository.unit_of_work(writing=True) as uow:
                uow.clear_match_keys(old.id)
                uow.unlink_duplicate(new.id)
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.matching(["a" * 64, "b" * 64], T0 - dt.timedelta(days=365)) == [new.id]
                assert uow.duplicate_of(new.id) is None
            with repository.unit_of_work(writing=True) as uow, pytest.raises(LeadNotFound):
                uow.link_duplicate(new.id, 10_000)
