"""A Hypothesis state machine that drives :class:`~qleads.desk.LeadDesk` like a busy week.

Shipped in the package (like zarr-python's ``zarr/testing/stateful.py``) so that every
storage adapter can run it: :func:`make_machine` takes a repository factory and returns a
``RuleBasedStateMachine`` class. Three installers (two under the rep of Leipzig and
Dresden, one under the rep of Munich), two reps, an admin and the calculator take turns
with the clock: intake, claims, assignments and reassignments, records of every work
status (follow-ups with due dates), releases, reopening, clock advances from minutes to
days, and sweeps.

The machine keeps a deliberately simple model of every lead (status, holder, next
deadline, due date, previous holders) and predicts the outcome of each action — success
or the exact error of R15 — from the rules alone. After every step the invariants check:

* the stored lead equals the model, and its history replays to it (:func:`replay`, R13);
* at most one installer holds a lead, and no other installer can see it (R2);
* a terminal lead never changes until an admin reopens it (R6, R12);
* every deadline fires exactly once, and after a sweep nothing is left due (R4, R5, R11);
* at and after ``hold_until`` a record or release of the claim is refused
  (``ClaimExpired``, R4), and a change made after any other deadline fires it first, as
  the model predicts (the clock also stops exactly on deadlines to meet the boundary);
* what each actor sees (R2, R8, R16): :mod:`qleads.testing.stateful_views`;
* the escalation ladder's steps fire at most once, the decline reasons take effect, a
  lead in a rep's queue waits for him, an installer never claims a lead he declined, and
  a duplicate is never distributed: :mod:`qleads.testing.stateful_policy`.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.calendar import Calendar
from qleads.desk import SYSTEM_ACTOR
from qleads.documents import document_fingerprint
from qleads.errors import (
    ClaimExpired,
    DatedBeforeHolding,
    IntakeConflict,
    InvalidInput,
    InvalidTransition,
    LeadDeclined,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    QleadsError,
)
from qleads.escalation import hold_until
from qleads.intake import parse_document
from qleads.lifecycle import WORK_STATUSES, Status
from qleads.model import (
    Actor,
    Admin,
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    Installer,
    Lead,
    Policy,
    ReleaseReason,
    SalesRep,
)
from qleads.ports import LeadRepository
from qleads.tabs import Tab
from qleads.testing import world
from qleads.testing.lead_model import ExpectedLead, replay
from qleads.testing.stateful_personal_data import PersonalDataRules
from qleads.testing.stateful_policy import PolicyRules
from qleads.testing.stateful_search import SearchRules
from qleads.testing.strategies import lead_documents
from qleads.testing.world import ADMIN, ANNA, REP_EAST, REP_SOUTH, SOURCE
from qleads.visibility import LeadView

__all__ = ["DEFAULT_POLICY", "LeadDeskMachine", "make_machine", "replay"]

#: Escalation on, so that the sweep's reminder → escalation chain is exercised (R5).
DEFAULT_POLICY = Policy(escalation_days=1)

#: Monday 2026-11-16, 08:00 in Berlin: Buß- und Bettag (Wed 18, Saxony only) is close.
START = dt.datetime(2026, 11, 16, 7, 0, tzinfo=dt.UTC)

#: The manual's network (:data:`~qleads.testing.world.CAST`), with Ben working on
#: Saturdays too, so that two calendars of one territory meet (R9).
BEN = attrs.evolve(world.BEN, calendar=Calendar("DE", "SN", workdays=frozenset(range(6))))
CAST = world.CAST.replacing(BEN)
INSTALLERS = CAST.installers
REPS = CAST.reps
TERRITORIES = CAST.territories
#: Postal code, city and the territory the model expects (``None``: unrouted, R1).
PLACES: tuple[tuple[str, str, str | None], ...] = (
    ("04107", "Leipzig", "t-leipzig"),
    ("01067", "Dresden", "t-dresden"),
    ("09111", "Chemnitz", "t-dresden"),
    ("80331", "München", "t-munich"),
    ("86150", "Augsburg", "t-munich"),
    ("20095", "Hamburg", None),
)
_FIRED_KINDS = frozenset(
    {
        EventKind.EXPIRED,
        EventKind.REMINDED,
        EventKind.ESCALATED,
        EventKind.FOLLOW_UP_DUE,
        EventKind.WITHDRAWN,
    }
)
#: A ladder step into the rep's queue starts from a work status; a decline's from ``new``.
_QUEUE_KINDS = frozenset({EventKind.RETURNED_TO_REP, EventKind.UNSERVICEABLE})
_WORK_TABS = (Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)
_PER_PAGE = 500


class LeadDeskMachine(SearchRules, PolicyRules):
    """Drives a :class:`LeadDesk` on a fresh repository; see the module docstring.

    Subclasses (made by :func:`make_machine`) override :meth:`make_repository` and
    :meth:`dispose_repository`; this class runs on :class:`InMemoryLeadRepository`.
    """

    policy: ClassVar[Policy] = DEFAULT_POLICY
    cast: ClassVar[world.Cast] = CAST

    def __init__(self) -> None:
        super().__init__()
        self.repository = self.make_repository()
        built = world.World(self.repository, now=START, policy=self.policy, cast=CAST)
        self.clock = built.clock
        self.desk = built.desk
        self.expected: dict[int, ExpectedLead] = {}
        self.by_source: dict[str, int] = {}
        self.closed: dict[int, Lead] = {}
        self.fired = 0

    def make_repository(self) -> LeadRepository:
        return InMemoryLeadRepository()

    def dispose_repository(self, repository: LeadRepository) -> None:
        """Release what :meth:`make_repository` acquired (an engine, a file)."""

    def teardown(self) -> None:
        self.dispose_repository(self.repository)

    # --- helpers ------------------------------------------------------------------------

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    def _lead(self, lead_id: int) -> Lead:
        return self.desk.get(ADMIN, lead_id).lead

    def _draw_lead(
        self, data: st.DataObject, prefer: Callable[[ExpectedLead], bool]
    ) -> ExpectedLead:
        """A lead, most often one the action can succeed on (so that the interesting
        paths are taken), sometimes any lead (so that the refusals are too)."""
        everything = sorted(self.expected)
        good = [i for i in everything if prefer(self.expected[i])]
        pool = st.sampled_from(everything)
        if good:
            pool = st.sampled_from(good) | pool
        return self.expected[data.draw(pool, label="lead")]

    def _draw_actor(
        self, data: st.DataObject, expected: ExpectedLead, others: Sequence[Actor]
    ) -> Actor:
        """The holder most of the time; sometimes someone else (R12's refusals)."""
        actors: st.SearchStrategy[Actor] = st.sampled_from(others)
        if expected.holder_id is not None and not self.queued(expected):
            actors = st.just(CAST.installer(expected.holder_id)) | actors
        return data.draw(actors, label="actor")

    def _expect_error(
        self, error: type[QleadsError], action: Callable[[], object], what: str
    ) -> None:
        try:
            action()
        except QleadsError as exc:
            note(f"  -> {type(exc).__name__}: {exc}")
            if not isinstance(exc, error):
                raise AssertionError(f"{what}: expected {error.__name__}, got {exc!r}") from exc
            return
        raise AssertionError(f"{what}: expected {error.__name__}, but it succeeded")

    def _claim_expired(self, expected: ExpectedLead) -> bool:
        """R4: from hold_until on, the holder's claim is over before any sweep."""
        return (
            expected.status is Status.CLAIMED
            and expected.hold_until is not None
            and expected.hold_until <= self.now
        )

    def _caught_up(self, expected: ExpectedLead) -> tuple[ExpectedLead, int]:
        """A copy of the model after the deadlines due now have fired, and how many did:
        what a change made after a deadline does first (R4, R5, R6, R11)."""
        caught = copy.copy(expected)
        fired = 0
        while caught.deadline is not None and caught.deadline.at <= self.now:
            self._fire(caught, caught.deadline)
            fired += 1
        return caught, fired

    def _taken_by_the_ladder(self, expected: ExpectedLead) -> bool:
        """A due ladder step takes the lead from its holder before his change."""
        return expected.holder_id is not None and self._caught_up(expected)[0].status is Status.NEW

    def _catch_up(self, expected: ExpectedLead) -> ExpectedLead:
        """Adopt :meth:`_caught_up` once the change succeeded; the model it returns is
        the lead's model from now on."""
        caught, fired = self._caught_up(expected)
        if fired:
            note(f"  (fired {fired} due deadline(s) of lead {expected.lead_id} first)")
        self.fired += fired
        self.expected[expected.lead_id] = caught
        return caught

    def _close_if_terminal(self, expected: ExpectedLead) -> None:
        if expected.status.is_terminal:
            self.closed[expected.lead_id] = self._lead(expected.lead_id)

    # --- rules: the calculator (R1) -----------------------------------------------------

    @rule(
        document=lead_documents(),
        place=st.sampled_from(PLACES),
        hours_ago=st.none() | st.integers(min_value=0, max_value=24 * 30),
    )
    def intake(
        self, document: dict[str, Any], place: tuple[str, str, str | None], hours_ago: int | None
    ) -> None:
        raw = copy.deepcopy(document)
        raw["contact"]["postal_code"], raw["contact"]["city"], territory = place
        received = self.now if hours_ago is None else self.now - dt.timedelta(hours=hours_ago)
        raw["received_at"] = None if hours_ago is None else received.isoformat()
        source_id = raw["source_id"]
        fingerprint = document_fingerprint(parse_document(raw))
        note(f"intake {source_id!r} from {place[1]} (territory {territory})")
        known = self.by_source.get(source_id)
        if known is not None and self.expected[known].fingerprint != fingerprint:
            self._expect_error(
                IntakeConflict, lambda: self.desk.intake(SOURCE, raw), "intake of a known id"
            )
            return
        result = self.desk.intake(SOURCE, raw)
        note(f"  -> lead {result.lead.id}, created={result.created}")
        if known is not None:
            assert not result.created
            assert result.lead.id == known
            return
        assert result.created
        assert result.lead.id not in self.expected
        assert result.lead.status is Status.NEW
        original = self.original_of(raw, received)
        assert result.duplicate_of == original
        self.expected[result.lead.id] = ExpectedLead(
            lead_id=result.lead.id,
            source_id=source_id,
            fingerprint=fingerprint,
            raw=raw,
            territory_id=territory,
            received_at=received,
            holder_id=None if original is None else self.queue_of(territory),
            linked_to=original,
        )
        self.by_source[source_id] = result.lead.id

    @precondition(lambda self: self.expected)
    @rule(data=st.data())
    def intake_again(self, data: st.DataObject) -> None:
        """R1: the same document twice is the same lead and changes nothing."""
        expected = self._draw_lead(data, lambda e: True)
        before = self._lead(expected.lead_id)
        note(f"intake {expected.source_id!r} again")
        result = self.desk.intake(SOURCE, expected.raw)
        assert not result.created
        assert result.lead.id == expected.lead_id
        assert self._lead(expected.lead_id) == before

    # --- rules: installers (R3, R6, R7) -------------------------------------------------

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), installer=st.sampled_from(INSTALLERS))
    def claim(self, data: st.DataObject, installer: Installer) -> None:
        territories = CAST.territory_ids_of(installer.rep_id)
        expected = self._draw_lead(
            data, lambda e: e.status is Status.NEW and e.territory_id in territories
        )
        self._claim(installer, expected)

    def _claim(self, installer: Installer, expected: ExpectedLead) -> None:
        """R3 on a drawn lead: the claim succeeds, or fails as the model says."""
        territories = CAST.territory_ids_of(installer.rep_id)
        lead_id = expected.lead_id
        note(f"{installer.id} claims lead {lead_id} ({expected.status.value})")
        if expected.holder_id == installer.id:
            error: type[QleadsError] | None = InvalidTransition
        elif expected.territory_id not in territories:
            error = LeadNotFound
        elif expected.status is not Status.NEW or expected.holder_id is not None:
            error = LeadNoLongerAvailable
        elif installer.id in expected.closed_for:
            error = LeadDeclined
        else:
            error = None
        if error is not None:
            self._expect_error(error, lambda: self.desk.claim(installer, lead_id), "claim")
            return
        shown = self.desk.claim(installer, lead_id)
        expected.status = Status.CLAIMED
        expected.holder_id = installer.id
        expected.held_since = self.now
        expected.due_at = None
        hold: dt.datetime | None
        if self.policy.ladder is None:
            hold = installer.calendar.add_business_days(self.now, self.policy.claim_hold_days)
            expected.deadline = Deadline(DeadlineKind.CLAIM_EXPIRY, hold)
        else:
            hold = hold_until(self.policy.ladder, installer.calendar, self.now)
            self.ladder_first(expected, self.now)
        expected.hold_until = hold
        assert shown.lead.hold_until == hold
        assert not shown.contact_hidden

    @precondition(lambda self: self.expected)
    @rule(
        data=st.data(),
        status=st.sampled_from(sorted(WORK_STATUSES, key=lambda s: s.value)),
        channel=st.none() | st.sampled_from(Channel),
        hours_ago=st.none() | st.integers(min_value=0, max_value=24 * 10),
        due_in_hours=st.integers(min_value=-6, max_value=24 * 14),
    )
    def record(
        self,
        data: st.DataObject,
        status: Status,
        channel: Channel | None,
        hours_ago: int | None,
        due_in_hours: int,
    ) -> None:
        expected = self._draw_lead(
            data, lambda e: e.holder_id is not None and not e.status.is_terminal
        )
        actor = self._draw_actor(data, expected, (*INSTALLERS, ADMIN, REP_EAST))
        effective = None if hours_ago is None else self.now - dt.timedelta(hours=hours_ago)
        due = self.now + dt.timedelta(hours=due_in_hours) if status is Status.FOLLOW_UP else None
        lead_id = expected.lead_id
        note(
            f"{actor.id} records {status.value} on lead {lead_id} ({expected.status.value}), "
            f"effective {effective}, due {due}"
        )
        error = self._record_error(actor, expected, due, effective)

        def act() -> object:
            return self.desk.record(
                actor, lead_id, status, effective_at=effective, channel=channel, due_at=due
            )

        if error is not None:
            self._expect_error(error, act, "record")
            return
        act()
        expected = self._catch_up(expected)
        expected.status = status
        expected.due_at = due
        expected.hold_until = None
        if self.policy.ladder is None:
            expected.deadline = Deadline(DeadlineKind.FOLLOW_UP_DUE, due) if due else None
        else:
            self.ladder_first(expected, due or effective or self.now)
        self._close_if_terminal(expected)

    def _record_error(
        self,
        actor: Actor,
        expected: ExpectedLead,
        due: dt.datetime | None,
        effective: dt.datetime | None,
    ) -> type[QleadsError] | None:
        if not isinstance(actor, Installer | Admin):
            return NotPermitted
        if due is not None and due <= self.now:
            return InvalidInput
        refused = self._holder_error(actor, expected)
        if refused is not None:
            return refused
        if self._claim_expired(expected):
            return ClaimExpired
        if expected.status.is_terminal or self._taken_by_the_ladder(expected):
            return InvalidTransition
        if effective is not None and effective < expected.received_at:
            return InvalidInput
        if (
            effective is not None
            and expected.held_since is not None
            and effective < expected.held_since
        ):
            return DatedBeforeHolding
        return None

    def _holder_error(
        self, actor: Installer | Admin, expected: ExpectedLead
    ) -> type[QleadsError] | None:
        """What R2/R12 answer an actor who changes a lead he may not hold."""
        if isinstance(actor, Admin):
            return InvalidTransition if expected.status is Status.NEW else None
        if expected.holder_id == actor.id:
            return None
        visible = (
            expected.status is Status.NEW
            and expected.holder_id is None
            and expected.territory_id in CAST.territory_ids_of(actor.rep_id)
        )
        return NotPermitted if visible else LeadNotFound

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), reason=st.none() | st.sampled_from(ReleaseReason))
    def release(self, data: st.DataObject, reason: ReleaseReason | None) -> None:
        """R7 with the decline reasons' effects (``qleads.decline``)."""
        expected = self._draw_lead(
            data, lambda e: e.holder_id is not None and not e.status.is_terminal
        )
        actor = self._draw_actor(data, expected, (*INSTALLERS, ADMIN, REP_SOUTH))
        lead_id = expected.lead_id
        original = None
        if reason is ReleaseReason.DUPLICATE:
            original = data.draw(st.sampled_from(sorted(self.expected)), label="original")
        note(f"{actor.id} releases lead {lead_id} ({expected.status.value}), reason {reason}")
        if not isinstance(actor, Installer | Admin):
            error: type[QleadsError] | None = NotPermitted
        else:
            error = self._holder_error(actor, expected)
            if error is None and self._claim_expired(expected):
                error = ClaimExpired
            elif error is None and (
                expected.status.is_terminal or self._taken_by_the_ladder(expected)
            ):
                error = InvalidTransition
            elif error is None and original == lead_id:
                error = InvalidInput

        def act() -> LeadView:
            return self.desk.release(
                actor, lead_id, reason=reason, note="keine Zeit", duplicate_of=original
            )

        if error is not None:
            self._expect_error(error, act, "release")
            return
        shown = act()
        if isinstance(actor, Installer):
            assert shown.previously_handled
        self.release_effect(self._catch_up(expected), reason, original)

    # --- rules: reps and the admin (R5, R12) --------------------------------------------

    @precondition(lambda self: self.expected)
    @rule(
        data=st.data(),
        actor=st.sampled_from((*REPS, ADMIN)),
        installer=st.sampled_from(INSTALLERS),
    )
    def assign(self, data: st.DataObject, actor: SalesRep | Admin, installer: Installer) -> None:
        target = installer
        mine = None if isinstance(actor, Admin) else CAST.territory_ids_of(actor.id)
        expected = self._draw_lead(
            data,
            lambda e: (mine is None or e.territory_id in mine) and not e.status.is_terminal,
        )
        lead_id = expected.lead_id
        note(
            f"{actor.id} assigns lead {lead_id} ({expected.status.value}, "
            f"held by {expected.holder_id}) to {target.id}"
        )
        # For the rep an expired claim is back in the pool: its expiry, and any other
        # deadline due, fire before the assignment (R4, R5).
        caught, _fired = self._caught_up(expected)
        if isinstance(actor, SalesRep) and target.rep_id != actor.id:
            error: type[QleadsError] | None = NotPermitted
        elif mine is not None and expected.territory_id not in mine:
            error = LeadNotFound
        elif caught.holder_id == target.id or caught.status.is_terminal:
            error = InvalidTransition
        else:
            error = None
        if error is not None:
            self._expect_error(error, lambda: self.desk.assign(actor, lead_id, target), "assign")
            return
        self.desk.assign(actor, lead_id, target)
        expected = self._catch_up(expected)
        if expected.holder_id is not None and not self.queued(expected):
            expected.previous = expected.previous | {expected.holder_id}
        if self.queued(expected):
            expected.linked_to = None
        expected.status = Status.ASSIGNED
        expected.holder_id = target.id
        expected.held_since = self.now
        expected.due_at = None
        expected.hold_until = None
        if self.policy.ladder is None:
            days = self.policy.assignment_reminder_days
            remind = target.calendar.add_business_days(self.now, days)
            expected.deadline = Deadline(DeadlineKind.ASSIGNMENT_REMINDER, remind)
        else:
            self.ladder_first(expected, self.now)

    @precondition(lambda self: self.closed)
    @rule(data=st.data(), actor=st.sampled_from((ADMIN, ADMIN, REP_EAST, ANNA)))
    def reopen(self, data: st.DataObject, actor: Actor) -> None:
        expected = self._draw_lead(data, lambda e: e.status.is_terminal)
        lead_id = expected.lead_id
        note(f"{actor.id} reopens lead {lead_id} ({expected.status.value})")
        if not isinstance(actor, Admin):
            error: type[QleadsError] | None = NotPermitted
        elif not expected.status.is_terminal:
            error = InvalidTransition
        else:
            error = None
        if error is not None:
            self._expect_error(
                error, lambda: self.desk.reopen(actor, lead_id, note="Kunde meldet sich"), "reopen"
            )
            return
        self.desk.reopen(actor, lead_id, note="Kunde meldet sich wieder")
        expected.to_pool()
        del self.closed[lead_id]

    # --- rules: the clock (R4, R5, R6, R11) ---------------------------------------------

    @rule(
        minutes=st.one_of(
            st.integers(min_value=1, max_value=12 * 60),
            st.integers(min_value=1, max_value=6).map(lambda d: d * 24 * 60),
        )
    )
    def advance_clock(self, minutes: int) -> None:
        now = self.clock.advance(dt.timedelta(minutes=minutes))
        note(f"clock + {minutes} min -> {now.isoformat()}")

    @precondition(
        lambda self: any(e.deadline and e.deadline.at > self.now for e in self.expected.values())
    )
    @rule(data=st.data())
    def advance_to_a_deadline(self, data: st.DataObject) -> None:
        """The clock stops exactly at a lead's deadline, so that the next change meets
        the boundary itself: at ``hold_until`` the claim is over (R4)."""
        deadlines = [e.deadline for e in self.expected.values() if e.deadline is not None]
        ahead = sorted({d.at for d in deadlines if d.at > self.now})
        at = data.draw(st.sampled_from(ahead), label="deadline")
        self.clock.set(at)
        note(f"clock -> {at.isoformat()} (a deadline)")

    @rule(batch_size=st.sampled_from((1, 2, 3, 500)))
    def sweep(self, batch_size: int) -> None:
        now = self.now
        note(f"sweep at {now.isoformat()} in batches of {batch_size}")
        fired: Counter[DeadlineKind] = Counter()
        while True:
            due = sorted(
                (e for e in self.expected.values() if e.deadline and e.deadline.at <= now),
                key=lambda e: (e.deadline.at if e.deadline else now, e.lead_id),
            )
            if not due:
                break
            for expected in due:
                assert expected.deadline is not None
                fired[expected.deadline.kind] += 1
                self._fire(expected, expected.deadline)
        report = self.desk.sweep(batch_size=batch_size)
        note(f"  -> {report}")
        assert report.expired == fired[DeadlineKind.CLAIM_EXPIRY]
        assert report.reminded == (
            fired[DeadlineKind.ASSIGNMENT_REMINDER] + fired[DeadlineKind.HOLDER_REMINDER]
        )
        assert report.withdrawn == fired[DeadlineKind.WITHDRAWAL]
        assert report.returned_to_rep == fired[DeadlineKind.RETURN_TO_REP]
        assert report.unserviceable == fired[DeadlineKind.UNSERVICEABLE]
        assert report.escalated == fired[DeadlineKind.ESCALATION]
        assert report.follow_ups_due == fired[DeadlineKind.FOLLOW_UP_DUE]
        self.fired += report.total
        for lead_id in self.expected:
            deadline = self._lead(lead_id).deadline
            assert deadline is None or deadline.at > now, (
                f"lead {lead_id} still due after the sweep: {deadline}"
            )
        assert self.desk.sweep(batch_size=batch_size).total == 0, "a second sweep fired again"

    def _fire(self, expected: ExpectedLead, deadline: Deadline) -> None:
        if self.policy.ladder is not None:
            self.ladder_fire(expected, deadline)
        elif deadline.kind is DeadlineKind.CLAIM_EXPIRY:
            expected.to_pool()
        elif deadline.kind is DeadlineKind.ASSIGNMENT_REMINDER:
            days = self.policy.escalation_days
            assert expected.holder_id is not None
            calendar = CAST.installer(expected.holder_id).calendar
            expected.deadline = (
                Deadline(DeadlineKind.ESCALATION, calendar.add_business_days(deadline.at, days))
                if days is not None
                else None
            )
        else:
            expected.deadline = None

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def leads_match_the_model(self) -> None:
        for lead_id, expected in self.expected.items():
            lead = self._lead(lead_id)
            assert lead.status is expected.status, (lead_id, lead.status, expected.status)
            assert lead.holder_id == expected.holder_id, (lead_id, lead.holder_id)
            assert lead.deadline == expected.deadline, (lead_id, lead.deadline, expected.deadline)
            assert lead.due_at == expected.due_at, (lead_id, lead.due_at, expected.due_at)
            assert lead.previous_holders == expected.previous, (lead_id, lead.previous_holders)
            assert lead.territory_id == expected.territory_id, (lead_id, lead.territory_id)
            assert (lead.holder_id is None or self.queued(expected)) == (
                lead.status is Status.NEW
            ), lead
            assert lead.hold_until == expected.hold_until, lead
            if lead.status is Status.CLAIMED and self.policy.ladder is None:
                assert lead.deadline is not None
                assert lead.hold_until == lead.deadline.at
            elif lead.status is not Status.CLAIMED:
                assert lead.hold_until is None, lead

    @invariant()
    def terminal_leads_never_change(self) -> None:
        for lead_id, snapshot in self.closed.items():
            assert self._lead(lead_id) == snapshot, f"closed lead {lead_id} changed"

    @invariant()
    def history_replays_to_the_current_state(self) -> None:
        fired: Counter[tuple[int, EventKind, dt.datetime]] = Counter()
        for lead_id in self.expected:
            lead = self._lead(lead_id)
            events = self.desk.history(ADMIN, lead_id)
            assert events[0].kind is EventKind.RECEIVED
            assert events[0].effective_at == lead.received_at, events[0]
            assert replay(events) == (lead.status, lead.holder_id)
            assert events[-1].version == lead.version
            for event in events:
                if event.kind in _FIRED_KINDS or (
                    event.kind in _QUEUE_KINDS and event.from_status is not Status.NEW
                ):
                    assert event.actor_id == SYSTEM_ACTOR
                    fired[(lead_id, event.kind, event.effective_at)] += 1
        twice = [key for key, n in fired.items() if n > 1]
        assert not twice, f"deadlines fired more than once: {twice}"
        assert sum(fired.values()) == self.fired


def make_machine(
    repository_factory: Callable[[], LeadRepository],
    *,
    dispose: Callable[[LeadRepository], None] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> type[LeadDeskMachine]:
    """A :class:`LeadDeskMachine` class that runs on ``repository_factory()``, a fresh,
    empty repository per example; ``dispose`` releases it after the example. Run it with
    ``run_state_machine_as_test(cls, settings=...)`` or ``cls.TestCase``. It has the
    rules of R14 too (:mod:`qleads.testing.stateful_personal_data`)."""

    class Machine(PersonalDataRules, LeadDeskMachine):
        def make_repository(self) -> LeadRepository:
            return repository_factory()

        def dispose_repository(self, repository: LeadRepository) -> None:
            if dispose is not None:
                dispose(repository)

    Machine.policy = policy
    Machine.__name__ = Machine.__qualname__ = "LeadDeskMachine"
    return Machine
