"""Short scenarios of :class:`~qleads.desk.LeadDesk` on a repository: part of
:class:`~qleads.testing.contract.RepositoryContract`.

The unit tests run the desk on the in-memory repository; these run it end to end on the
adapter under test, the deadline boundary among them (R4: a record at or after
``hold_until`` is refused; a change after any other deadline stores that deadline's
effect first, several versions of a lead in one unit of work).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest

from qleads.errors import ClaimExpired, DatedBeforeHolding, LeadNoLongerAvailable, LeadNotFound
from qleads.lifecycle import Status
from qleads.model import Channel, EventKind, Notification, NotificationKind, Policy, ReleaseReason
from qleads.ports import LeadRepository
from qleads.tabs import Tab
from qleads.testing.world import World, make_document

__all__ = ["DeskScenarioContract", "Outbox"]

#: Reads the committed notifications of the repository under test (the ``outbox``
#: fixture of :class:`~qleads.testing.contract.RepositoryContract`).
Outbox = Callable[[], Sequence[Notification]]


class DeskScenarioContract:
    """The desk's share of :class:`~qleads.testing.contract.RepositoryContract`, which
    provides the ``repository`` and ``outbox`` fixtures."""

    class TestLeadDeskOnTheRepository:
        def test_claim_record_release_and_sweep(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R1/R3/R4/R6/R7/R10/R11/R13 end to end: the desk works on this adapter."""
            world = World(repository)
            desk, anna, ben = world.desk, world.anna, world.ben
            # Friday 2026-11-13 16:00 Berlin.
            world.clock.set(dt.datetime(2026, 11, 13, 15, 0, tzinfo=dt.UTC))
            first = desk.intake(world.source, make_document("e2e-1")).lead
            again = desk.intake(world.source, make_document("e2e-1"))
            assert not again.created
            assert again.lead.id == first.id
            assert {n.recipient_id for n in outbox() if n.kind is NotificationKind.NEW_LEAD} == {
                "i-anna",
                "i-ben",
            }

            claimed = desk.claim(anna, first.id)
            assert claimed.lead.hold_until == dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)
            with pytest.raises(LeadNoLongerAvailable):
                desk.claim(ben, first.id)
            with pytest.raises(LeadNotFound):
                desk.get(ben, first.id)

            world.clock.advance(dt.timedelta(hours=1))
            desk.record(anna, first.id, Status.FIRST_CONTACT, channel=Channel.PHONE, note="ok")
            desk.release(anna, first.id, reason=ReleaseReason.NO_TIME)
            assert desk.get(anna, first.id).previously_handled

            second = desk.intake(world.source, make_document("e2e-2")).lead
            desk.claim(ben, second.id)
            world.clock.advance(dt.timedelta(days=5))
            report = desk.sweep()
            assert report.expired == 1
            assert desk.sweep().total == 0
            expired = desk.get(world.admin, second.id).lead
            assert expired.status is Status.NEW
            assert expired.holder_id is None
            assert ("claim_expired", "i-ben") in {
                (n.kind.value, n.recipient_id) for n in outbox() if n.lead_id == second.id
            }

            kinds = [e.kind for e in desk.history(world.admin, first.id)]
            assert kinds == [
                EventKind.RECEIVED,
                EventKind.CLAIMED,
                EventKind.RECORDED,
                EventKind.RELEASED,
            ]
            counts = desk.counts(anna)
            assert counts[Tab.AVAILABLE] == 2
            assert counts[Tab.MINE] == 0

        def test_a_record_at_hold_until_is_refused_and_the_sweep_releases_it(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R4: from hold_until on the claim is over before any sweep: a record is
            refused with ClaimExpired, nothing is stored, the next sweep releases."""
            world = World(repository)
            lead_id = world.desk.intake(world.source, make_document("late-claim")).lead.id
            hold = world.desk.claim(world.anna, lead_id).lead.hold_until
            assert hold is not None
            world.clock.set(hold)
            before = world.desk.get(world.admin, lead_id).lead
            with pytest.raises(ClaimExpired):
                world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
            with pytest.raises(ClaimExpired):
                world.desk.release(world.anna, lead_id)
            assert world.desk.get(world.admin, lead_id).lead == before
            assert len(world.desk.history(world.admin, lead_id)) == 2
            assert world.desk.sweep().expired == 1
            lead = world.desk.get(world.admin, lead_id).lead
            assert (lead.status, lead.holder_id, lead.hold_until) == (Status.NEW, None, None)
            assert ("claim_expired", "i-anna") in {
                (n.kind.value, n.recipient_id) for n in outbox() if n.lead_id == lead_id
            }

        def test_a_late_record_fires_the_due_deadlines_first(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R5, R11: a record after the reminder and the escalation fell due stores
            both, dated at their deadlines, with their notices, then the record — three
            versions of the lead in one unit of work — and the sweep finds nothing."""
            world = World(repository, policy=Policy(escalation_days=1))
            lead_id = world.desk.intake(world.source, make_document("late-assigned")).lead.id
            assigned = world.desk.assign(world.rep_east, lead_id, world.anna).lead
            assert assigned.deadline is not None
            reminded_at = assigned.deadline.at
            world.clock.set(reminded_at + dt.timedelta(days=10))
            recorded = world.desk.record(world.anna, lead_id, Status.OFFER_SENT).lead
            stored = world.desk.get(world.admin, lead_id).lead
            assert stored == recorded
            assert (stored.status, stored.deadline, stored.version) == (
                Status.OFFER_SENT,
                None,
                assigned.version + 3,
            )
            events = world.desk.history(world.admin, lead_id)
            assert [(e.kind, e.version) for e in events[-3:]] == [
                (EventKind.REMINDED, assigned.version + 1),
                (EventKind.ESCALATED, assigned.version + 2),
                (EventKind.RECORDED, assigned.version + 3),
            ]
            assert events[-3].effective_at == reminded_at
            kinds = {(n.kind, n.recipient_id) for n in outbox() if n.lead_id == lead_id}
            assert (NotificationKind.ASSIGNMENT_REMINDER, "i-anna") in kinds
            assert (NotificationKind.ESCALATION, "r-east") in kinds
            assert world.desk.sweep().total == 0

        def test_assigning_an_expired_claim_expires_it_first(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R4, R5: for the rep an expired claim is back in the pool: the expiry is
            stored (dated at the hold), then the assignment."""
            world = World(repository)
            lead_id = world.desk.intake(world.source, make_document("late-reassign")).lead.id
            hold = world.desk.claim(world.anna, lead_id).lead.hold_until
            assert hold is not None
            world.clock.set(hold + dt.timedelta(hours=1))
            world.desk.assign(world.rep_east, lead_id, world.ben)
            events = world.desk.history(world.admin, lead_id)
            assert [e.kind for e in events] == [
                EventKind.RECEIVED,
                EventKind.CLAIMED,
                EventKind.EXPIRED,
                EventKind.ASSIGNED,
            ]
            assert events[2].effective_at == hold
            lead = world.desk.get(world.admin, lead_id).lead
            assert (lead.status, lead.holder_id) == (Status.ASSIGNED, "i-ben")
            assert lead.previous_holders == {"i-anna"}
            assert world.desk.sweep().total == 0

        def test_a_status_dated_before_the_claim_or_assignment_is_refused(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R6: a status may be dated back to the claim (or the assignment) that
            gave the lead to its holder, not before it; a refused one stores nothing."""
            world = World(repository)
            desk = world.desk
            received = dt.datetime(2026, 11, 9, 8, 0, tzinfo=dt.UTC)  # a Monday
            world.clock.set(received)
            lead_id = desk.intake(world.source, make_document("dated")).lead.id
            world.clock.set(received + dt.timedelta(days=1))
            claimed_at = world.clock.now()
            desk.claim(world.anna, lead_id)
            world.clock.advance(dt.timedelta(hours=5))
            before = desk.get(world.admin, lead_id).lead
            early = claimed_at - dt.timedelta(minutes=1)
            with pytest.raises(DatedBeforeHolding) as refused:
                desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED, effective_at=early)
            assert refused.value.held_since == claimed_at
            assert refused.value.field == "effective_at"
            assert refused.value.code == "dated_before_holding"
            with pytest.raises(DatedBeforeHolding):  # an admin recording for him, too
                desk.record(world.admin, lead_id, Status.CONTACT_ATTEMPTED, effective_at=early)
            assert desk.get(world.admin, lead_id).lead == before
            assert len(desk.history(world.admin, lead_id)) == 2
            shown = desk.record(
                world.anna, lead_id, Status.CONTACT_ATTEMPTED, effective_at=claimed_at
            )
            assert shown.lead.status_at == claimed_at

            # A rep's assignment starts a new holding: the earlier claim no longer counts.
            desk.release(world.anna, lead_id)
            world.clock.advance(dt.timedelta(hours=1))
            assigned_at = world.clock.now()
            desk.assign(world.rep_east, lead_id, world.ben)
            world.clock.advance(dt.timedelta(hours=1))
            with pytest.raises(DatedBeforeHolding) as again:
                desk.record(world.ben, lead_id, Status.FIRST_CONTACT, effective_at=claimed_at)
            assert again.value.held_since == assigned_at
            desk.record(world.ben, lead_id, Status.FIRST_CONTACT, effective_at=assigned_at)
