"""LeadDesk, use case by use case, on the in-memory adapters (R1–R13, R15, R16)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pytest

from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository, InMemoryUnitOfWork
from qleads.desk import SYSTEM_ACTOR, LeadDesk, SweepReport
from qleads.errors import (
    ClaimExpired,
    ConfigurationError,
    DatedBeforeHolding,
    FieldError,
    IntakeConflict,
    InvalidCalendar,
    InvalidDocument,
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.filters import LeadFilter
from qleads.lifecycle import Status
from qleads.model import (
    Actor,
    Channel,
    DeadlineKind,
    EventKind,
    Installer,
    Lead,
    Notification,
    NotificationKind,
    Policy,
    ReleaseReason,
    Territory,
)
from qleads.personal_data import AccessKind, AccessQuery
from qleads.tabs import Tab
from qleads.testing.world import World, lead_document

UTC = dt.UTC
BERLIN = dt.timezone(dt.timedelta(hours=1))  # November: CET
#: Friday 2026-11-13 16:00 in Berlin (R3's worked example).
FRIDAY_4PM = dt.datetime(2026, 11, 13, 16, 0, tzinfo=BERLIN)
#: Monday 2026-11-16 09:30 in Berlin; Wednesday 18 is Buß- und Bettag in Saxony only.
MONDAY = dt.datetime(2026, 11, 16, 9, 30, tzinfo=BERLIN)


@pytest.fixture
def world() -> World:
    """The manual's network (qleads.testing.world.CAST) on Monday morning."""
    return World(now=MONDAY)


# --- R1 ----------------------------------------------------------------------------------


class TestIntake:
    def test_new_lead_is_new_and_routed(self, world: World) -> None:
        """R1: a new lead is new and belongs to the territory of its postal code."""
        result = world.desk.intake(world.source, lead_document())
        assert result.created
        lead = result.lead
        assert lead.status is Status.NEW
        assert lead.territory_id == "t-leipzig"
        assert lead.holder_id is None
        assert lead.received_at == dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def test_same_document_twice_is_one_lead(self, world: World) -> None:
        """R1: idempotent on source_id: the same lead, no second notification."""
        first = world.desk.intake(world.source, lead_document())
        notices = world.notices()
        again = world.desk.intake(world.source, lead_document())
        assert not again.created
        assert again.lead == first.lead
        assert world.notices() == notices
        assert len(world.repository) == 1

    def test_different_document_under_known_id_is_a_conflict(self, world: World) -> None:
        """R1: another document under a known source_id is refused."""
        lead_id = world.intake()
        changed = lead_document()
        changed["roof"]["module_count"] = 17
        with pytest.raises(IntakeConflict) as raised:
            world.desk.intake(world.source, changed)
        assert raised.value.lead_id == lead_id
        assert raised.value.source_id == "solarrechner-279"
        assert len(world.repository) == 1

    def test_invalid_document_stores_nothing(self, world: World) -> None:
        """R1: every field error at once, nothing stored, nobody notified."""
        broken = lead_document()
        broken["roof"]["tilt_deg"] = 91
        broken["contact"]["email"] = "not-an-email"
        with pytest.raises(InvalidDocument) as raised:
            world.desk.intake(world.source, broken)
        paths = {error.path for error in raised.value.errors}
        assert {"roof.tilt_deg", "contact.email"} <= paths
        assert len(world.repository) == 0
        assert world.notices() == []

    def test_unrouted_lead_is_kept_and_listed_for_admins(self, world: World) -> None:
        """R1: a lead no territory matches is never dropped: admins see it in
        Tab.UNROUTED; installers and reps do not."""
        lead_id = world.intake("hamburg", postal_code="20095")
        page = world.desk.tab(world.admin, Tab.UNROUTED)
        assert [v.lead.id for v in page.items] == [lead_id]
        assert page.counts[Tab.UNROUTED] == 1
        with pytest.raises(LeadNotFound):
            world.desk.get(world.anna, lead_id)
        with pytest.raises(LeadNotFound):
            world.desk.get(world.rep_east, lead_id)
        with pytest.raises(NotPermitted):
            world.desk.tab(world.rep_east, Tab.UNROUTED)
        assert world.notices() == []

    def test_every_installer_who_can_see_it_is_notified(self, world: World) -> None:
        """R1/R10: both installers of the Leipzig rep get a new-lead notice, the Munich
        installer and inactive installers do not."""
        world.directory.add_installer(
            Installer("i-gone", "Gone", "gone@example.org", "r-east", active=False)
        )
        lead_id = world.intake()
        assert sorted(world.notices()) == [
            ("new_lead", lead_id, "i-anna"),
            ("new_lead", lead_id, "i-ben"),
        ]

    def test_longest_prefix_wins(self, world: World) -> None:
        """R1: 04107 belongs to a '041' territory rather than to '04'."""
        world.directory.add_territory(
            Territory("t-leipzig-mitte", "Leipzig-Mitte", "DE", frozenset({"041"}), "r-south")
        )
        lead_id = world.intake()
        assert world.desk.get(world.admin, lead_id).lead.territory_id == "t-leipzig-mitte"
        assert [n[2] for n in world.notices()] == ["i-carl"]

    def test_only_the_source_or_an_admin_submits(self, world: World) -> None:
        """R12: an installer or a rep cannot submit leads."""
        for actor in (world.anna, world.rep_east):
            with pytest.raises(NotPermitted):
                world.desk.intake(actor, lead_document())
        assert world.desk.intake(world.admin, lead_document()).created


# --- R2, R16 -------------------------------------------------------------------------------


class TestVisibilityThroughTheDesk:
    def test_installer_of_another_rep_gets_not_found(self, world: World) -> None:
        """R2: never the data of a lead he may not see — just "not found"."""
        lead_id = world.intake()
        with pytest.raises(LeadNotFound) as raised:
            world.desk.get(world.carl, lead_id)
        assert raised.value.lead_id == lead_id
        with pytest.raises(LeadNotFound):
            world.desk.history(world.carl, lead_id)

    def test_contact_hidden_until_claimed(self, world: World) -> None:
        """R16: hidden by default: the pool shows postal code and city, not the name;
        the holder sees everything, the others see nothing at all."""
        lead_id = world.intake()
        pooled = world.desk.get(world.ben, lead_id)
        assert pooled.contact_hidden
        assert pooled.lead.document.contact.name == ""
        assert pooled.lead.document.contact.postal_code == "04107"
        row = world.desk.tab(world.ben, Tab.AVAILABLE).items[0]
        assert row.contact_hidden
        claimed = world.desk.claim(world.anna, lead_id)
        assert not claimed.contact_hidden
        assert claimed.lead.document.contact.name == "Test3 DEipzig"
        assert world.desk.get(world.rep_east, lead_id).lead.document.contact.name != ""

    def test_contact_shown_with_the_manuals_policy(self) -> None:
        """R16: ``shown`` is the manual's behaviour."""
        world = World(now=MONDAY, policy=Policy(contact_before_claim="shown"))
        lead_id = world.intake()
        shown = world.desk.get(world.ben, lead_id)
        assert not shown.contact_hidden
        assert shown.lead.document.contact.name == "Test3 DEipzig"


# --- R3 ------------------------------------------------------------------------------------


class TestClaim:
    def test_claim_holds_for_two_business_days(self, world: World) -> None:
        """R3/R9: claimed Fri 2026-11-13 16:00 Berlin, held until Tue 17th 16:00."""
        world.clock.set(FRIDAY_4PM)
        lead_id = world.intake()
        claimed = world.desk.claim(world.anna, lead_id).lead
        assert claimed.status is Status.CLAIMED
        assert claimed.holder_id == "i-anna"
        assert claimed.hold_until == dt.datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
        assert claimed.running_deadline == claimed.hold_until

    def test_hold_runs_on_the_installers_own_calendar(self, world: World) -> None:
        """R9: Monday 09:30 + 2 business days is Thursday in Saxony (Buß- und Bettag),
        Wednesday in Bavaria."""
        saxon = world.desk.claim(world.anna, world.intake("a", "01067")).lead
        bavarian = world.desk.claim(world.carl, world.intake("b", "80331")).lead
        assert saxon.hold_until == dt.datetime(2026, 11, 19, 8, 30, tzinfo=UTC)
        assert bavarian.hold_until == dt.datetime(2026, 11, 18, 8, 30, tzinfo=UTC)

    def test_second_claim_loses(self, world: World) -> None:
        """R3: the lead is gone: a clear "no longer available"."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        with pytest.raises(LeadNoLongerAvailable) as raised:
            world.desk.claim(world.ben, lead_id)
        assert raised.value.lead_id == lead_id
        assert raised.value.code == "lead_no_longer_available"

    def test_other_territory_gets_not_found(self, world: World) -> None:
        """R2/R3: an installer of another rep cannot even learn the lead exists."""
        lead_id = world.intake()
        with pytest.raises(LeadNotFound):
            world.desk.claim(world.carl, lead_id)

    def test_claimed_lead_disappears_for_the_others(self, world: World) -> None:
        """R2: once claimed, no other installer sees it anywhere."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        with pytest.raises(LeadNotFound):
            world.desk.get(world.ben, lead_id)
        assert world.desk.counts(world.ben)[Tab.ALL] == 0
        assert [v.lead.id for v in world.desk.tab(world.anna, Tab.NEW).items] == [lead_id]

    def test_claiming_ones_own_lead_again_is_refused(self, world: World) -> None:
        """R3/R15: only a new lead can be claimed."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        with pytest.raises(InvalidTransition) as raised:
            world.desk.claim(world.anna, lead_id)
        assert (raised.value.status, raised.value.action) == ("claimed", "claim")

    def test_concurrent_claims_exactly_one_wins(self, world: World) -> None:
        """R3: of many simultaneous claims exactly one wins, every other one gets
        LeadNoLongerAvailable."""
        installers = [
            world.directory.add_installer(
                Installer(f"i-{n}", f"I{n}", f"i{n}@example.org", "r-east")
            )
            for n in range(8)
        ]
        lead_id = world.intake()
        barrier = threading.Barrier(len(installers))
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(installer: Installer) -> None:
            barrier.wait()
            try:
                world.desk.claim(installer, lead_id)
                result = "won"
            except LeadNoLongerAvailable:
                result = "lost"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in installers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["lost"] * 7 + ["won"]
        assert len(world.desk.history(world.admin, lead_id)) == 2


# --- R4 ------------------------------------------------------------------------------------


class TestClaimExpiry:
    def test_sweep_returns_an_unworked_claim_to_the_pool(self, world: World) -> None:
        """R4: at hold_until the sweep releases the lead: new, no holder, an event by
        the system, the marker for the former holder."""
        lead_id = world.intake()
        hold = world.desk.claim(world.anna, lead_id).lead.hold_until
        assert hold is not None
        world.clock.set(hold - dt.timedelta(seconds=1))
        assert world.desk.sweep().expired == 0
        world.clock.set(hold)
        assert world.desk.sweep().expired == 1
        lead = world.desk.get(world.admin, lead_id).lead
        assert (lead.status, lead.holder_id, lead.deadline) == (Status.NEW, None, None)
        last = world.desk.history(world.admin, lead_id)[-1]
        assert (last.kind, last.actor_id, last.holder_id) == (
            EventKind.EXPIRED,
            SYSTEM_ACTOR,
            "i-anna",
        )
        assert world.desk.get(world.anna, lead_id).previously_handled
        assert not world.desk.get(world.ben, lead_id).previously_handled

    def test_expiry_notifies_the_holder_and_the_others(self, world: World) -> None:
        """R4/R10: claim expired to the former holder, new lead to the others."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        before = {n.key for n in world.repository.notifications()}
        world.advance(days=7)
        world.desk.sweep()
        fresh = [
            (n.kind.value, n.lead_id, n.recipient_id)
            for n in world.repository.notifications()
            if n.key not in before
        ]
        assert sorted(fresh) == [
            ("claim_expired", lead_id, "i-anna"),
            ("new_lead", lead_id, "i-ben"),
        ]

    def test_recorded_work_ends_the_hold(self, world: World) -> None:
        """R4/R6: a work status before hold_until keeps the lead."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED, channel=Channel.PHONE)
        world.advance(days=30)
        assert world.desk.sweep().total == 0
        assert world.desk.get(world.admin, lead_id).lead.holder_id == "i-anna"


class TestTheDeadlineBoundary:
    """R4, R5, R6, R11: a change made after a deadline but before the sweep."""

    def _claimed_past_hold(self, world: World) -> tuple[int, dt.datetime]:
        lead_id = world.intake()
        hold = world.desk.claim(world.anna, lead_id).lead.hold_until
        assert hold is not None
        world.clock.set(hold)
        return lead_id, hold

    def test_a_record_at_hold_until_is_refused_as_claim_expired(self, world: World) -> None:
        """R4: at hold_until the claim is over even before a sweep has run: the record
        is refused, nothing is stored, and the next sweep returns the lead to the pool."""
        lead_id, hold = self._claimed_past_hold(world)
        before = world.desk.get(world.admin, lead_id).lead
        with pytest.raises(ClaimExpired) as raised:
            world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
        assert isinstance(raised.value, LeadNoLongerAvailable)
        assert (raised.value.code, raised.value.lead_id) == ("claim_expired", lead_id)
        assert raised.value.hold_until == hold
        assert world.desk.get(world.admin, lead_id).lead == before
        assert world.desk.sweep().expired == 1
        lead = world.desk.get(world.admin, lead_id).lead
        assert (lead.status, lead.holder_id, lead.hold_until) == (Status.NEW, None, None)

    def test_a_record_a_moment_before_hold_until_keeps_the_lead(self, world: World) -> None:
        """R4, R6: the boundary is strict; a second earlier the record ends the hold."""
        lead_id, hold = self._claimed_past_hold(world)
        world.clock.set(hold - dt.timedelta(seconds=1))
        world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
        world.clock.set(hold + dt.timedelta(days=10))
        assert world.desk.sweep().total == 0
        assert world.desk.get(world.admin, lead_id).lead.holder_id == "i-anna"

    def test_a_backdated_record_after_hold_until_is_refused_too(self, world: World) -> None:
        """R4: what counts is when the status is recorded, not the date it names."""
        lead_id, hold = self._claimed_past_hold(world)
        world.clock.set(hold + dt.timedelta(hours=2))
        with pytest.raises(ClaimExpired):
            world.desk.record(
                world.anna, lead_id, Status.FIRST_CONTACT, effective_at=hold - dt.timedelta(hours=1)
            )

    def test_a_release_at_hold_until_is_refused_and_the_sweep_expires_it(
        self, world: World
    ) -> None:
        """R4, R7: the claim is over, so there is nothing of his left to release; the
        sweep releases it as an expiry, with his "claim expired" notice."""
        lead_id, _hold = self._claimed_past_hold(world)
        with pytest.raises(ClaimExpired):
            world.desk.release(world.anna, lead_id, reason=ReleaseReason.NO_TIME)
        assert world.desk.sweep().expired == 1
        kinds = [e.kind for e in world.desk.history(world.admin, lead_id)]
        assert kinds == [EventKind.RECEIVED, EventKind.CLAIMED, EventKind.EXPIRED]
        assert ("claim_expired", lead_id, "i-anna") in world.notices()

    def test_an_admin_cannot_record_for_an_expired_claim(self, world: World) -> None:
        """R4, R12: the boundary is the lead's, whoever records for the holder."""
        lead_id, _hold = self._claimed_past_hold(world)
        with pytest.raises(ClaimExpired):
            world.desk.record(world.admin, lead_id, Status.CONTACT_ATTEMPTED)
        with pytest.raises(ClaimExpired):
            world.desk.release(world.admin, lead_id)

    def test_assigning_an_expired_claim_expires_it_first(self, world: World) -> None:
        """R4, R5: for the rep the lead is back in the pool: the expiry fires (dated at
        the hold, with its notices), then the lead is assigned — to the former holder
        too, if the rep wants him."""
        lead_id, hold = self._claimed_past_hold(world)
        world.advance(hours=3)
        before = {n.key for n in world.repository.notifications()}
        assigned = world.desk.assign(world.rep_east, lead_id, world.anna).lead
        assert (assigned.status, assigned.holder_id) == (Status.ASSIGNED, "i-anna")
        events = world.desk.history(world.admin, lead_id)
        assert [e.kind for e in events[-2:]] == [EventKind.EXPIRED, EventKind.ASSIGNED]
        assert events[-2].effective_at == hold
        assert events[-1].from_status is Status.NEW
        fresh = sorted(
            (n.kind.value, n.recipient_id)
            for n in world.repository.notifications()
            if n.key not in before
        )
        assert fresh == [("assigned", "i-anna"), ("claim_expired", "i-anna"), ("new_lead", "i-ben")]
        assert world.desk.sweep().total == 0

    def test_a_late_record_fires_the_due_reminder_first(self, world: World) -> None:
        """R5, R11: the reminder fell due before the assignee recorded: it is in the
        history, dated at its deadline, with its notice, before the record — not dropped."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        due = dt.datetime(2026, 11, 19, 9, 30, tzinfo=BERLIN)
        world.clock.set(due + dt.timedelta(hours=5))
        recorded = world.desk.record(world.anna, lead_id, Status.FIRST_CONTACT).lead
        events = world.desk.history(world.admin, lead_id)
        assert [e.kind for e in events[-2:]] == [EventKind.REMINDED, EventKind.RECORDED]
        assert events[-2].effective_at == due
        assert (events[-2].actor_id, events[-1].actor_id) == (SYSTEM_ACTOR, "i-anna")
        assert recorded.version == events[-1].version == events[-2].version + 1
        assert world.notices(NotificationKind.ASSIGNMENT_REMINDER) == [
            ("assignment_reminder", lead_id, "i-anna")
        ]
        assert (recorded.status, recorded.deadline) == (Status.FIRST_CONTACT, None)
        assert world.desk.sweep().total == 0

    def test_a_late_record_fires_reminder_and_escalation(self) -> None:
        """R5: both passed — the rep is told the assignment went untouched, then the
        record is applied."""
        world = World(now=MONDAY, policy=Policy(escalation_days=1))
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.advance(days=14)
        world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
        kinds = [e.kind for e in world.desk.history(world.admin, lead_id)]
        assert kinds[-3:] == [EventKind.REMINDED, EventKind.ESCALATED, EventKind.RECORDED]
        assert world.notices(NotificationKind.ESCALATION) == [("escalation", lead_id, "r-east")]
        assert world.desk.sweep().total == 0

    def test_a_late_record_fires_the_due_follow_up_first(self, world: World, claimed: int) -> None:
        """R6: the follow-up came due before the next record: its reminder is in the
        history at the due date, then the record."""
        due = MONDAY + dt.timedelta(days=1)
        world.desk.record(world.anna, claimed, Status.FOLLOW_UP, due_at=due)
        world.clock.set(due + dt.timedelta(hours=1))
        world.desk.record(world.anna, claimed, Status.OFFER_SENT)
        events = world.desk.history(world.admin, claimed)
        assert [e.kind for e in events[-2:]] == [EventKind.FOLLOW_UP_DUE, EventKind.RECORDED]
        assert events[-2].effective_at == due
        assert world.notices(NotificationKind.FOLLOW_UP_DUE) == [
            ("follow_up_due", claimed, "i-anna")
        ]
        assert world.desk.sweep().total == 0

    def test_a_late_release_and_a_late_reassignment_fire_the_reminder_first(
        self, world: World
    ) -> None:
        """R5, R7, R11: whatever the change, a due deadline is fired, not dropped."""
        released, moved = world.intake("late-1"), world.intake("late-2")
        world.desk.assign(world.rep_east, released, world.anna)
        world.desk.assign(world.rep_east, moved, world.anna)
        world.advance(days=7)
        world.desk.release(world.anna, released)
        world.desk.assign(world.rep_east, moved, world.ben)
        for lead_id, last in ((released, EventKind.RELEASED), (moved, EventKind.REASSIGNED)):
            kinds = [e.kind for e in world.desk.history(world.admin, lead_id)]
            assert kinds[-2:] == [EventKind.REMINDED, last]
        assert world.desk.sweep().total == 0

    def test_a_refused_late_change_fires_nothing(self, world: World) -> None:
        """R11: a change refused after the catch-up stores nothing: the due reminder is
        still there for the sweep."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.advance(days=7)
        with pytest.raises(InvalidTransition):
            world.desk.assign(world.rep_east, lead_id, world.anna)
        assert world.desk.sweep().reminded == 1


# --- R5 ------------------------------------------------------------------------------------


class TestAssignment:
    def test_rep_assigns_to_his_installer(self, world: World) -> None:
        """R5: the lead is assigned to him and he gets a notice."""
        lead_id = world.intake()
        assigned = world.desk.assign(world.rep_east, lead_id, world.anna).lead
        assert (assigned.status, assigned.holder_id) == (Status.ASSIGNED, "i-anna")
        assert ("assigned", lead_id, "i-anna") in world.notices()
        with pytest.raises(LeadNotFound):
            world.desk.get(world.ben, lead_id)

    def test_one_reminder_after_two_business_days_and_no_release(self, world: World) -> None:
        """R5: one reminder after 2 business days without a work status (Mon 09:30 →
        Thu 09:30 in Saxony), and the lead is never released automatically."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.clock.set(dt.datetime(2026, 11, 19, 9, 29, tzinfo=BERLIN))
        assert world.desk.sweep().reminded == 0
        world.clock.set(dt.datetime(2026, 11, 19, 9, 30, tzinfo=BERLIN))
        assert world.desk.sweep().reminded == 1
        world.advance(days=20)
        assert world.desk.sweep().total == 0
        assert world.notices(NotificationKind.ASSIGNMENT_REMINDER) == [
            ("assignment_reminder", lead_id, "i-anna")
        ]
        lead = world.desk.get(world.admin, lead_id).lead
        assert (lead.status, lead.holder_id) == (Status.ASSIGNED, "i-anna")

    def test_escalation_to_the_rep_after_further_days(self) -> None:
        """R5 (beyond the manual): with escalation_days the rep is told N business days
        after the reminder."""
        world = World(now=MONDAY, policy=Policy(escalation_days=2))
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.clock.set(dt.datetime(2026, 11, 19, 9, 30, tzinfo=BERLIN))
        assert world.desk.sweep().reminded == 1
        world.clock.set(dt.datetime(2026, 11, 23, 9, 29, tzinfo=BERLIN))
        assert world.desk.sweep().escalated == 0
        world.clock.set(dt.datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN))
        assert world.desk.sweep().escalated == 1
        assert world.notices(NotificationKind.ESCALATION) == [("escalation", lead_id, "r-east")]

    def test_reminder_and_escalation_both_passed_fire_in_one_sweep(self) -> None:
        """R5/R11: when both the reminder and the escalation lie in the past, one sweep
        fires both; a second sweep finds nothing new (idempotent)."""
        world = World(now=MONDAY, policy=Policy(escalation_days=1))
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.advance(days=14)
        first = world.desk.sweep()
        assert (first.reminded, first.escalated) == (1, 1)
        assert world.desk.sweep().total == 0

    def test_escalation_when_the_assignee_is_gone(self) -> None:
        """R5: the assignee left the directory before his deadlines: the reminder still
        fires (on the default calendar) and the escalation is recorded, but there is
        nobody whose rep could be told."""
        world = World(now=MONDAY, policy=Policy(escalation_days=1))
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        desk = LeadDesk(
            world.repository, _Without(world.directory, "i-anna"), world.clock, world.desk.policy
        )
        world.advance(days=14)
        first = desk.sweep()
        assert (first.reminded, first.escalated) == (1, 1)
        kinds = [e.kind for e in desk.history(world.admin, lead_id)]
        assert kinds[-2:] == [EventKind.REMINDED, EventKind.ESCALATED]
        assert world.notices(NotificationKind.ESCALATION) == []
        assert desk.get(world.admin, lead_id).lead.deadline is None

    def test_rep_assigns_only_his_installers(self, world: World) -> None:
        """R12: a rep cannot hand a lead to another rep's installer."""
        lead_id = world.intake()
        with pytest.raises(NotPermitted):
            world.desk.assign(world.rep_east, lead_id, world.carl)

    def test_rep_assigns_only_in_his_territories(self, world: World) -> None:
        """R2/R12: another rep's lead is not found for him."""
        lead_id = world.intake("munich", "80331")
        with pytest.raises(LeadNotFound):
            world.desk.assign(world.rep_east, lead_id, world.anna)

    def test_unknown_installer_is_invalid_input(self, world: World) -> None:
        """R15: assigning to nobody is refused with the field named."""
        lead_id = world.intake()
        with pytest.raises(InvalidInput) as raised:
            world.desk.assign(world.rep_east, lead_id, attrs.evolve(world.anna, id="i-nobody"))
        assert raised.value.field == "installer"

    def test_assign_takes_the_installer_and_his_id_still_with_a_warning(self, world: World) -> None:
        """R5: ``assign`` takes the installer like every use case takes actors; his id
        still works for one more release, with a DeprecationWarning."""
        first, second = world.intake("dep-1"), world.intake("dep-2")
        assert world.desk.assign(world.rep_east, first, world.anna).lead.holder_id == "i-anna"
        with pytest.warns(DeprecationWarning, match="takes the Installer"):
            moved = world.desk.assign(world.rep_east, second, "i-ben")
        assert moved.lead.holder_id == "i-ben"

    def test_assign_reads_the_installer_from_the_directory(self, world: World) -> None:
        """R5, R12: a stale record of the installer decides nothing: one the directory
        has deactivated cannot be assigned, whatever the record passed says."""
        lead_id = world.intake()
        world.directory.update_installer(attrs.evolve(world.anna, active=False))
        with pytest.raises(InvalidInput):
            world.desk.assign(world.rep_east, lead_id, world.anna)

    def test_reassign_moves_a_held_lead(self, world: World) -> None:
        """R5: reassignment takes the lead from its holder, who then no longer sees it."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        moved = world.desk.assign(world.rep_east, lead_id, world.ben).lead
        assert (moved.status, moved.holder_id) == (Status.ASSIGNED, "i-ben")
        assert "i-anna" in moved.previous_holders
        assert world.desk.history(world.admin, lead_id)[-1].kind is EventKind.REASSIGNED
        # R10: the new assignee is told, with his own reminder running.
        assert world.notices(NotificationKind.ASSIGNED) == [("assigned", lead_id, "i-ben")]
        assert moved.deadline is not None
        assert moved.deadline.kind is DeadlineKind.ASSIGNMENT_REMINDER
        with pytest.raises(LeadNotFound):
            world.desk.get(world.anna, lead_id)

    def test_recorded_work_ends_the_reminder(self, world: World) -> None:
        """R5/R6: a work status before the reminder cancels it."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.desk.record(world.anna, lead_id, Status.FIRST_CONTACT)
        world.advance(days=10)
        assert world.desk.sweep().total == 0


# --- R6 ------------------------------------------------------------------------------------


@pytest.fixture
def claimed(world: World) -> int:
    lead_id = world.intake()
    world.desk.claim(world.anna, lead_id)
    return lead_id


class TestRecord:
    def test_effective_date_may_not_lie_in_the_future(self, world: World, claimed: int) -> None:
        """R6: never in the future."""
        with pytest.raises(InvalidInput) as raised:
            world.desk.record(
                world.anna,
                claimed,
                Status.FIRST_CONTACT,
                effective_at=world.clock.now() + dt.timedelta(minutes=1),
            )
        assert raised.value.field == "effective_at"

    def test_effective_date_may_not_precede_receipt(self, world: World, claimed: int) -> None:
        """R6: never before received_at."""
        with pytest.raises(InvalidInput) as raised:
            world.desk.record(
                world.anna,
                claimed,
                Status.FIRST_CONTACT,
                effective_at=dt.datetime(2026, 11, 2, 7, 59, tzinfo=UTC),
            )
        assert raised.value.field == "effective_at"

    def test_effective_date_defaults_to_now(self, world: World, claimed: int) -> None:
        """R6: default today; a past date (since the claim) is kept as the status date."""
        now = world.clock.now()
        lead = world.desk.record(world.anna, claimed, Status.CONTACT_ATTEMPTED).lead
        assert lead.status_at == now
        world.clock.advance(dt.timedelta(days=3))
        earlier = now + dt.timedelta(days=1)
        lead = world.desk.record(
            world.anna, claimed, Status.FIRST_CONTACT, effective_at=earlier
        ).lead
        assert lead.status_at == earlier
        with pytest.raises(DatedBeforeHolding):  # but not before the claim
            world.desk.record(
                world.anna, claimed, Status.OFFER_SENT, effective_at=now - dt.timedelta(days=1)
            )

    def test_follow_up_needs_a_due_date_in_the_future(self, world: World, claimed: int) -> None:
        """R6: follow-up without a date, or with a past one, is refused."""
        now = world.clock.now()
        for due in (None, now, now - dt.timedelta(hours=1)):
            with pytest.raises(InvalidInput) as raised:
                world.desk.record(world.anna, claimed, Status.FOLLOW_UP, due_at=due)
            assert raised.value.field == "due_at"
        with pytest.raises(InvalidInput):
            world.desk.record(world.anna, claimed, Status.OFFER_SENT, due_at=now + dt.timedelta(1))

    def test_follow_up_reminds_once_and_stays_overdue(self, world: World, claimed: int) -> None:
        """R6: when due, the holder gets one reminder; the lead stays in the follow-up
        tab, due date kept, until the next record."""
        due = world.clock.now() + dt.timedelta(days=2)
        world.desk.record(world.anna, claimed, Status.FOLLOW_UP, due_at=due)
        world.clock.set(due)
        assert world.desk.sweep().follow_ups_due == 1
        world.advance(days=3)
        assert world.desk.sweep().total == 0
        assert world.notices(NotificationKind.FOLLOW_UP_DUE) == [
            ("follow_up_due", claimed, "i-anna")
        ]
        rows = world.desk.tab(world.anna, Tab.FOLLOW_UP).items
        assert [(v.lead.id, v.lead.due_at) for v in rows] == [(claimed, due)]
        assert rows[0].lead.status is Status.FOLLOW_UP

    def test_follow_up_history_keeps_the_date(self, world: World, claimed: int) -> None:
        """R6/R13: the follow-up record carries its date; the event the date fires is
        effective at that date; the reminder's deadline is that date."""
        due = world.clock.now() + dt.timedelta(days=2)
        world.desk.record(world.anna, claimed, Status.FOLLOW_UP, due_at=due)
        world.clock.set(due + dt.timedelta(hours=1))
        world.desk.sweep()
        recorded, fired = world.desk.history(world.admin, claimed)[-2:]
        assert (recorded.kind, recorded.due_at) == (EventKind.RECORDED, due)
        assert (fired.kind, fired.effective_at) == (EventKind.FOLLOW_UP_DUE, due)
        assert fired.recorded_at == due + dt.timedelta(hours=1)
        (notice,) = [
            n for n in world.repository.notifications() if n.kind is NotificationKind.FOLLOW_UP_DUE
        ]
        assert notice.deadline_at == due

    def test_terminal_lead_accepts_nothing(self, world: World, claimed: int) -> None:
        """R6: after order placed, no record and no release."""
        world.desk.record(world.anna, claimed, Status.ORDER_PLACED)
        with pytest.raises(InvalidTransition) as raised:
            world.desk.record(world.anna, claimed, Status.OFFER_SENT)
        assert raised.value.status == "order_placed"
        with pytest.raises(InvalidTransition):
            world.desk.release(world.anna, claimed)

    def test_unsuccessful_never_returns_to_the_pool(self, world: World, claimed: int) -> None:
        """R6: the customer refused everyone: no other installer ever sees it."""
        world.desk.record(world.anna, claimed, Status.UNSUCCESSFUL)
        world.advance(days=60)
        world.desk.sweep()
        with pytest.raises(LeadNotFound):
            world.desk.get(world.ben, claimed)
        assert [v.lead.id for v in world.desk.tab(world.anna, Tab.CLOSED).items] == [claimed]

    def test_only_the_holder_records(self, world: World, claimed: int) -> None:
        """R6/R12: another installer's lead is not found; a pool lead is not his."""
        with pytest.raises(LeadNotFound):
            world.desk.record(world.ben, claimed, Status.FIRST_CONTACT)
        pooled = world.intake("other")
        with pytest.raises(NotPermitted):
            world.desk.record(world.ben, pooled, Status.FIRST_CONTACT)

    def test_only_work_statuses_are_recorded(self, world: World, claimed: int) -> None:
        """R6: claimed, assigned and new are set by actions, not recorded."""
        for status in (Status.NEW, Status.CLAIMED, Status.ASSIGNED):
            with pytest.raises(InvalidInput):
                world.desk.record(world.anna, claimed, status)

    def test_note_is_checked(self, world: World, claimed: int) -> None:
        """R6/R15: a note is text without control characters, at most 2000 characters."""
        for note in ("bell\x07", "x" * 2001):
            with pytest.raises(InvalidInput) as raised:
                world.desk.record(world.anna, claimed, Status.FIRST_CONTACT, note=note)
            assert raised.value.field == "note"


# --- R7 ------------------------------------------------------------------------------------


class TestRelease:
    def test_release_returns_the_lead_with_the_marker(self, world: World, claimed: int) -> None:
        """R7: back in the pool, visible to the territory, with the marker for him."""
        world.desk.record(world.anna, claimed, Status.CONTACT_ATTEMPTED)
        released = world.desk.release(world.anna, claimed, reason=ReleaseReason.NO_CAPACITY)
        assert released.previously_handled
        assert (released.lead.status, released.lead.holder_id) == (Status.NEW, None)
        assert not world.desk.get(world.ben, claimed).previously_handled
        last = world.desk.history(world.admin, claimed)[-1]
        assert (last.kind, last.reason, last.holder_id) == (
            EventKind.RELEASED,
            ReleaseReason.NO_CAPACITY,
            "i-anna",
        )
        assert ("new_lead", claimed, "i-ben") in world.notices()
        assert world.notices().count(("new_lead", claimed, "i-anna")) == 1

    def test_released_lead_can_be_claimed_by_another(self, world: World, claimed: int) -> None:
        """R7: the territory can take it."""
        world.desk.release(world.anna, claimed)
        assert world.desk.claim(world.ben, claimed).lead.holder_id == "i-ben"

    def test_admin_release_of_a_pool_lead_names_the_release(self, world: World) -> None:
        """R15: the error names the action that was refused."""
        lead_id = world.intake()
        with pytest.raises(InvalidTransition) as raised:
            world.desk.release(world.admin, lead_id)
        assert (raised.value.status, raised.value.action) == ("new", "release")


# --- R8 ------------------------------------------------------------------------------------


class TestTabPages:
    def test_counts_and_pages(self, world: World) -> None:
        """R8: every tab has its count; pages split the list; newest first."""
        ids = [world.intake(f"src-{n}") for n in range(5)]
        world.desk.claim(world.anna, ids[0])
        first = world.desk.tab(world.anna, Tab.AVAILABLE, per_page=2)
        second = world.desk.tab(world.anna, Tab.AVAILABLE, page=2, per_page=2)
        assert (first.total, first.pages) == (4, 2)
        assert [v.lead.id for v in (*first.items, *second.items)] == [
            ids[4],
            ids[3],
            ids[2],
            ids[1],
        ]
        assert first.counts[Tab.AVAILABLE] == 4
        assert first.counts[Tab.MINE] == first.counts[Tab.NEW] == 1
        assert first.counts[Tab.ALL] == 5
        assert world.desk.counts(world.anna) == dict(first.counts)

    def test_a_second_list_of_a_screen_is_read_without_counts(self, world: World) -> None:
        """R8: a screen of two lists counts the tabs once; the list read with
        ``counts=False`` has its rows and its total, and still records its access (R14)."""
        ids = [world.intake(f"src-{n}") for n in range(3)]
        world.desk.claim(world.anna, ids[0])
        mine = world.desk.tab(world.anna, Tab.MINE, counts=False)
        found = world.desk.search(world.anna, Tab.MINE, LeadFilter(), counts=False)
        for page in (mine, found):
            assert ([v.lead.id for v in page.items], page.total) == ([ids[0]], 1)
            assert page.counts == {}
        log = world.repository.access_log  # type: ignore[attr-defined]
        records = log.records(AccessQuery(lead_id=ids[0], limit=100))
        listed = [r for r in records if r.kind is AccessKind.LIST]
        assert len(listed) == 2
        assert world.desk.tab(world.anna, Tab.AVAILABLE).counts[Tab.MINE] == 1

    def test_page_arguments_are_checked(self, world: World) -> None:
        """R8/R15: pages start at 1 and hold 1 to 500 rows."""
        with pytest.raises(InvalidInput):
            world.desk.tab(world.anna, Tab.ALL, page=0)
        with pytest.raises(InvalidInput):
            world.desk.tab(world.anna, Tab.ALL, per_page=501)


# --- R10 -----------------------------------------------------------------------------------


class _FailingUnitOfWork(InMemoryUnitOfWork):
    def enqueue(self, notifications: Sequence[Notification]) -> None:
        super().enqueue(notifications)
        raise StorageError("outbox table is gone")


class _FailingOutboxRepository(InMemoryLeadRepository):
    """A real repository whose outbox fails: what survives a failure?"""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def unit_of_work(self, *, writing: bool = False) -> InMemoryUnitOfWork:
        if self.failing:
            return _FailingUnitOfWork(self)
        return super().unit_of_work(writing=writing)


class _Without:
    """A directory in which one installer no longer exists (left the network)."""

    def __init__(self, directory: InMemoryDirectory, gone: str) -> None:
        self._directory = directory
        self._gone = gone

    def installer(self, installer_id: str) -> Installer | None:
        return None if installer_id == self._gone else self._directory.installer(installer_id)

    def installers_of(self, rep_id: str) -> Sequence[Installer]:
        return [i for i in self._directory.installers_of(rep_id) if i.id != self._gone]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)


class _RacedUnitOfWork(InMemoryUnitOfWork):
    def __init__(self, store: _RacedRepository) -> None:
        super().__init__(store)
        self._raced = store

    def update(self, lead: Lead, *, expected_version: int) -> None:
        if self._raced.losses and lead.status is Status.NEW:
            self._raced.losses -= 1
            raise StaleUpdate(lead.id, expected_version)
        super().update(lead, expected_version=expected_version)


class _RacedRepository(InMemoryLeadRepository):
    """A real repository whose next ``losses`` sweep updates (to ``new``: a claim
    expiring) lose the race, as if another writer had changed the lead after ``due``."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def unit_of_work(self, *, writing: bool = False) -> InMemoryUnitOfWork:
        return _RacedUnitOfWork(self)


class TestNotifications:
    def test_notification_is_stored_with_the_change(self, world: World) -> None:
        """R10: the assignment notice is in the outbox as soon as the assignment is."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.ben)
        (notice,) = [n for n in world.repository.notifications() if n.kind.value == "assigned"]
        lead = world.desk.get(world.admin, lead_id).lead
        assert notice.key == f"{lead_id}:{lead.version}:assigned:i-ben"
        assert lead.deadline is not None
        assert notice.deadline_at == lead.deadline.at

    def test_nothing_is_stored_when_the_outbox_fails(self) -> None:
        """R10: lead, history and notices are one transaction: a failing outbox stores
        no lead and no change."""
        repository = _FailingOutboxRepository()
        world = World(repository, now=MONDAY)
        repository.failing = True
        with pytest.raises(StorageError):
            world.intake()
        assert len(repository) == 0
        repository.failing = False
        lead_id = world.intake()
        repository.failing = True
        world.advance(hours=1)
        world.desk.claim(world.anna, lead_id)  # claims write no notices
        with pytest.raises(StorageError):
            world.desk.release(world.anna, lead_id)
        lead = world.desk.get(world.admin, lead_id).lead
        assert (lead.status, lead.holder_id) == (Status.CLAIMED, "i-anna")
        kinds = [e.kind for e in world.desk.history(world.admin, lead_id)]
        assert kinds == [EventKind.RECEIVED, EventKind.CLAIMED]

    def test_keys_are_unique_per_event_and_recipient(self, world: World) -> None:
        """R10: no event is mailed twice: every stored key is distinct."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        world.advance(days=7)
        world.desk.sweep()
        world.desk.sweep()
        keys = [n.key for n in world.repository.notifications()]
        assert len(keys) == len(set(keys)) == 4


# --- R11 -----------------------------------------------------------------------------------


class TestSweep:
    def test_three_sweeps_in_one_business_day_send_one_reminder(self, world: World) -> None:
        """R11: idempotent: repeated sweeps fire a deadline once."""
        lead_id = world.intake()
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.clock.set(dt.datetime(2026, 11, 19, 10, 0, tzinfo=BERLIN))
        reports = [world.desk.sweep()]
        world.advance(hours=4)
        reports.append(world.desk.sweep())
        world.advance(hours=4)
        reports.append(world.desk.sweep())
        assert [r.reminded for r in reports] == [1, 0, 0]
        assert len(world.notices(NotificationKind.ASSIGNMENT_REMINDER)) == 1

    def test_every_due_deadline_fires_in_small_batches(self, world: World) -> None:
        """R11: batches of one still fire every due deadline in one call."""
        ids = [world.intake(f"b-{n}") for n in range(4)]
        for lead_id in ids:
            world.desk.claim(world.anna, lead_id)
        world.advance(days=10)
        assert world.desk.sweep(batch_size=1).expired == 4

    def test_progress_is_told_the_totals_after_every_batch(self, world: World) -> None:
        """R11: a long sweep tells its caller how far it is after each committed batch,
        the totals so far; the last call holds what the sweep returns."""
        ids = [world.intake(f"g-{n}") for n in range(5)]
        for lead_id in ids:
            world.desk.claim(world.anna, lead_id)
        world.advance(days=10)
        told: list[SweepReport] = []
        report = world.desk.sweep(batch_size=2, progress=told.append)
        assert [r.expired for r in told] == [2, 4, 5]
        assert told[-1].total == report.total == 5

    def test_parallel_sweeps_fire_each_deadline_once(self, world: World) -> None:
        """R11: several sweeps at once share the work, nothing fires twice."""
        ids = [world.intake(f"p-{n}") for n in range(6)]
        for lead_id in ids:
            world.desk.claim(world.ben, lead_id)
        world.advance(days=10)
        barrier = threading.Barrier(4)
        totals: list[int] = []

        def run() -> None:
            barrier.wait()
            totals.append(world.desk.sweep(batch_size=2).expired)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(totals) == 6
        assert len(world.notices(NotificationKind.CLAIM_EXPIRED)) == 6

    def test_a_batch_that_lost_a_race_is_read_again(self) -> None:
        """R11: when another writer changed a due lead between ``due`` and the
        update, the whole batch is dropped and read again; every deadline fires once."""
        repository = _RacedRepository(losses=2)
        world = World(repository, now=MONDAY)
        ids = [world.intake(f"race-{n}") for n in range(3)]
        for lead_id in ids:
            world.desk.claim(world.anna, lead_id)
        world.advance(days=10)
        report = world.desk.sweep()
        assert report.expired == 3
        assert repository.losses == 0
        assert len(world.notices(NotificationKind.CLAIM_EXPIRED)) == 3
        for lead_id in ids:
            events = world.desk.history(world.admin, lead_id)
            assert [e.kind for e in events].count(EventKind.EXPIRED) == 1

    def test_a_sweep_that_keeps_losing_gives_up(self) -> None:
        """R11: a batch that loses more than five times in a row raises StaleUpdate and
        has fired nothing; the next sweep fires it."""
        repository = _RacedRepository(losses=6)
        world = World(repository, now=MONDAY)
        lead_id = world.intake("race-forever")
        world.desk.claim(world.anna, lead_id)
        world.advance(days=10)
        with pytest.raises(StaleUpdate):
            world.desk.sweep()
        assert world.notices(NotificationKind.CLAIM_EXPIRED) == []
        assert world.desk.get(world.admin, lead_id).lead.status is Status.CLAIMED
        assert world.desk.sweep().expired == 1

    def test_sweep_takes_an_explicit_now(self, world: World) -> None:
        """R11: sweep(now) fires what has passed by then; a naive now is refused."""
        lead_id = world.intake()
        hold = world.desk.claim(world.anna, lead_id).lead.hold_until
        assert hold is not None
        assert world.desk.sweep(hold).expired == 1
        with pytest.raises(InvalidInput):
            world.desk.sweep(dt.datetime(2026, 11, 30, 12, 0))


# --- R12 -----------------------------------------------------------------------------------

ALLOWED = "allowed"


def _use_cases(world: World, lead_id: int) -> dict[str, Callable[[Actor], object]]:
    return {
        "intake": lambda actor: world.desk.intake(actor, lead_document("perm-new")),
        "claim": lambda actor: world.desk.claim(actor, lead_id),
        "assign": lambda actor: world.desk.assign(actor, lead_id, world.anna),
        "get": lambda actor: world.desk.get(actor, lead_id),
        "tab": lambda actor: world.desk.tab(actor, Tab.ALL),
        "history": lambda actor: world.desk.history(actor, lead_id),
    }


PERMISSIONS: list[tuple[str, str, str]] = [
    # (actor, use case, outcome) for a new lead of Leipzig.
    ("source", "intake", ALLOWED),
    ("admin", "intake", ALLOWED),
    ("installer", "intake", "NotPermitted"),
    ("rep", "intake", "NotPermitted"),
    ("installer", "claim", ALLOWED),
    ("rep", "claim", "NotPermitted"),
    ("admin", "claim", "NotPermitted"),
    ("source", "claim", "NotPermitted"),
    ("rep", "assign", ALLOWED),
    ("admin", "assign", ALLOWED),
    ("installer", "assign", "NotPermitted"),
    ("source", "assign", "NotPermitted"),
    ("installer", "get", ALLOWED),
    ("rep", "get", ALLOWED),
    ("admin", "get", ALLOWED),
    ("source", "get", "NotPermitted"),
    ("installer", "tab", ALLOWED),
    ("rep", "tab", ALLOWED),
    ("admin", "tab", ALLOWED),
    ("source", "tab", "NotPermitted"),
    ("installer", "history", ALLOWED),
    ("rep", "history", ALLOWED),
    ("admin", "history", ALLOWED),
    ("source", "history", "NotPermitted"),
]


class TestPermissions:
    @pytest.mark.parametrize(("who", "use_case", "outcome"), PERMISSIONS)
    def test_matrix_on_a_new_lead(
        self, world: World, who: str, use_case: str, outcome: str
    ) -> None:
        """R12: the library enforces who may do what, not the UI."""
        lead_id = world.intake()
        actors: dict[str, Actor] = {
            "source": world.source,
            "admin": world.admin,
            "installer": world.anna,
            "rep": world.rep_east,
        }
        actor = actors[who]
        action = _use_cases(world, lead_id)[use_case]
        if outcome == ALLOWED:
            action(actor)
        else:
            with pytest.raises(NotPermitted) as raised:
                action(actor)
            assert raised.value.actor_id == actor.id

    @pytest.mark.parametrize("who", ["rep", "source"])
    def test_only_holder_or_admin_records_and_releases(self, world: World, who: str) -> None:
        """R12: reps read and assign; they do not record or release."""
        lead_id = world.intake()
        world.desk.claim(world.anna, lead_id)
        actor: Actor = world.rep_east if who == "rep" else world.source
        with pytest.raises(NotPermitted):
            world.desk.record(actor, lead_id, Status.FIRST_CONTACT)
        with pytest.raises(NotPermitted):
            world.desk.release(actor, lead_id)
        world.desk.record(world.admin, lead_id, Status.FIRST_CONTACT)
        world.desk.release(world.admin, lead_id)

    def test_only_an_admin_reopens_and_it_is_audited(self, world: World, claimed: int) -> None:
        """R12/R13: reopening a closed lead is the admin's, with his note in history."""
        world.desk.record(world.anna, claimed, Status.UNSUCCESSFUL)
        for actor in (world.anna, world.rep_east, world.source):
            with pytest.raises(NotPermitted):
                world.desk.reopen(actor, claimed)
        reopened = world.desk.reopen(world.admin, claimed, note="Kunde hat sich gemeldet").lead
        assert (reopened.status, reopened.holder_id) == (Status.NEW, None)
        last = world.desk.history(world.admin, claimed)[-1]
        assert (last.kind, last.actor_id, last.note) == (
            EventKind.REOPENED,
            "a-root",
            "Kunde hat sich gemeldet",
        )
        with pytest.raises(InvalidTransition):
            world.desk.reopen(world.admin, claimed)
        # R2c/R10: back in the pool, the territory is told, and the former holder sees it
        # as one he handled before.
        assert ("new_lead", claimed, "i-anna") in world.notices(NotificationKind.NEW_LEAD)
        assert world.desk.get(world.anna, claimed).previously_handled

    def test_inactive_installer_cannot_claim(self, world: World) -> None:
        """R12: a deactivated account acts no more."""
        gone = world.directory.add_installer(
            Installer("i-gone", "Gone", "gone@example.org", "r-east", active=False)
        )
        with pytest.raises(NotPermitted):
            world.desk.claim(gone, world.intake())


# --- R13 -----------------------------------------------------------------------------------


class TestHistory:
    def test_every_change_is_a_line(self, world: World) -> None:
        """R13: actor, action, from → to, effective date, recorded time, channel, note."""
        lead_id = world.intake()
        received_at = world.clock.now()
        world.advance(hours=1)
        world.desk.claim(world.anna, lead_id)
        claimed_at = world.clock.now()
        world.advance(hours=2)
        effective = claimed_at + dt.timedelta(minutes=30)
        world.desk.record(
            world.anna,
            lead_id,
            Status.FIRST_CONTACT,
            effective_at=effective,
            channel=Channel.ON_SITE,
            note="  Termin vor Ort  ",
        )
        lines = [
            (e.kind, e.actor_id, e.from_status, e.to_status, e.effective_at, e.recorded_at)
            for e in world.desk.history(world.anna, lead_id)
        ]
        assert lines == [
            (
                EventKind.RECEIVED,
                "solarrechner",
                None,
                Status.NEW,
                dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
                received_at,
            ),
            (EventKind.CLAIMED, "i-anna", Status.NEW, Status.CLAIMED, claimed_at, claimed_at),
            (
                EventKind.RECORDED,
                "i-anna",
                Status.CLAIMED,
                Status.FIRST_CONTACT,
                effective,
                world.clock.now(),
            ),
        ]
        last = world.desk.history(world.anna, lead_id)[-1]
        assert (last.channel, last.note, last.version) == (Channel.ON_SITE, "Termin vor Ort", 3)


# --- R15 -----------------------------------------------------------------------------------


class TestErrors:
    def test_codes_are_stable(self) -> None:
        """R15: each case has its machine code, for API bodies and logs."""
        codes: dict[type[QleadsError], str] = {
            InvalidDocument: "invalid_document",
            LeadNotFound: "not_found",
            NotPermitted: "not_permitted",
            InvalidTransition: "invalid_transition",
            LeadNoLongerAvailable: "lead_no_longer_available",
            ClaimExpired: "claim_expired",
            StaleUpdate: "stale_update",
            IntakeConflict: "intake_conflict",
            InvalidInput: "invalid_input",
            InvalidCalendar: "invalid_calendar",
            StorageError: "storage_error",
            ConfigurationError: "configuration_error",
            QleadsError: "qleads_error",
        }
        assert {cls: cls.code for cls in codes} == codes

    def test_errors_carry_their_attributes(self) -> None:
        """R15: structured attributes and a readable message for each case."""
        errors: list[tuple[QleadsError, dict[str, object]]] = [
            (LeadNotFound(7), {"lead_id": 7}),
            (NotPermitted("i-anna", "claim leads", 7), {"actor_id": "i-anna", "lead_id": 7}),
            (
                InvalidTransition(7, "order_placed", "record"),
                {"lead_id": 7, "status": "order_placed", "action": "record"},
            ),
            (LeadNoLongerAvailable(7), {"lead_id": 7}),
            (StaleUpdate(7, 3), {"lead_id": 7, "expected_version": 3}),
            (IntakeConflict("s-1", 7), {"source_id": "s-1", "lead_id": 7}),
            (InvalidInput("due_at", "must lie in the future"), {"field": "due_at"}),
        ]
        for error, attributes in errors:
            assert isinstance(error, QleadsError)
            assert error.message == str(error) != ""
            assert error.to_dict() == {"code": error.code, "message": error.message}
            for name, value in attributes.items():
                assert getattr(error, name) == value

    def test_claim_expired_names_the_hold(self) -> None:
        """R4, R15: a late record's error is a lost lead with its own code and the
        instant the claim ended, in the API body too."""
        hold = dt.datetime(2026, 11, 18, 8, 30, tzinfo=UTC)
        error = ClaimExpired(7, hold)
        assert isinstance(error, LeadNoLongerAvailable)
        assert (error.lead_id, error.hold_until) == (7, hold)
        assert "2026-11-18T08:30:00+00:00" in error.message
        assert error.to_dict() == {
            "code": "claim_expired",
            "message": error.message,
            "hold_until": "2026-11-18T08:30:00+00:00",
        }

    def test_invalid_document_lists_every_field_error(self) -> None:
        """R1/R15: all field errors at once, with their paths, in the API body."""
        error = InvalidDocument(
            [FieldError("roof.tilt_deg", "must be at most 90"), FieldError("contact", "missing")]
        )
        assert error.to_dict()["errors"] == [
            {"path": "roof.tilt_deg", "message": "must be at most 90"},
            {"path": "contact", "message": "missing"},
        ]

    def test_errors_are_also_the_builtins_they_are(self) -> None:
        """R15: generic handlers keep working (like attrs' FrozenError(AttributeError))."""
        assert isinstance(LeadNotFound(1), LookupError)
        assert isinstance(NotPermitted("x", "y"), PermissionError)
        assert isinstance(InvalidInput("f", "m"), ValueError)
        assert isinstance(InvalidDocument([]), ValueError)
