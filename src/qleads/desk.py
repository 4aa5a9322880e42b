"""``LeadDesk``: every use case of the product, one method each.

The desk is the only place that changes leads. Each method takes the acting user and
checks R12 itself, so a portal cannot forget a permission check; each change is one unit
of work holding the new lead, its history event (R13) and its outbox notifications (R10),
so they are stored together or not at all. The rules themselves live in pure modules
(``lifecycle``, ``visibility``, ``tabs``, ``calendar``, ``intake``); the desk composes them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import warnings
from collections.abc import Mapping

import attrs

from qleads.changes import (
    Change,
    bump,
    handled_by,
    history_event,
    new_lead_notices,
    to_pool,
)
from qleads.deadlines import SYSTEM_ACTOR, DirectoryMemo, catch_up, fire
from qleads.documents import document_fingerprint
from qleads.errors import (
    IntakeConflict,
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    StaleUpdate,
)
from qleads.instants import require_utc
from qleads.intake import check_received_at, parse_document
from qleads.lifecycle import WORK_STATUSES, Action, Status, check
from qleads.model import (
    Actor,
    Admin,
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadDocument,
    LeadSource,
    Notification,
    NotificationKind,
    Policy,
    ReleaseReason,
    SalesRep,
)
from qleads.ports import Clock, Directory, LeadRepository, UnitOfWork
from qleads.routing import route
from qleads.tabs import INSTALLER_TABS, Scope, Tab, query_for
from qleads.visibility import LeadView, RowView, can_see, view, view_row

__all__ = ["SYSTEM_ACTOR", "IntakeResult", "LeadDesk", "SweepReport", "TabPage"]

_NOTE_LIMIT = 2000
_SWEEP_RETRIES = 5


@attrs.frozen
class IntakeResult:
    """``created`` is false when the same document arrived before (R1 idempotency)."""

    lead: Lead
    created: bool


@attrs.frozen
class TabPage:
    """One page of one tab, with every tab's count for the tab bar (R8). Its rows are
    summaries (:class:`~qleads.model.LeadSummary`); :meth:`LeadDesk.get` opens one."""

    tab: Tab
    items: tuple[RowView, ...]
    total: int
    page: int
    per_page: int
    counts: Mapping[Tab, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@attrs.frozen
class SweepReport:
    """What one sweep fired (R11)."""

    expired: int = 0
    reminded: int = 0
    escalated: int = 0
    follow_ups_due: int = 0

    @property
    def total(self) -> int:
        return self.expired + self.reminded + self.escalated + self.follow_ups_due


class LeadDesk:
    """The service object of qleads: construct it once with its ports, share it freely
    (it holds no per-request state)."""

    def __init__(
        self,
        repository: LeadRepository,
        directory: Directory,
        clock: Clock,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.directory = directory
        self.clock = clock
        self.policy = policy if policy is not None else Policy()

    # --- intake (R1) -----------------------------------------------------------------

    def intake(self, source: Actor, document: Mapping[str, object] | LeadDocument) -> IntakeResult:
        """Validate, store and route a new lead, and notify the installers who can see it.

        Raises :class:`~qleads.errors.InvalidDocument` with every field error and stores
        nothing; the same document twice returns the first lead with ``created=False``;
        another document under a known ``source_id`` raises
        :class:`~qleads.errors.IntakeConflict`. R1: ``received_at`` may not lie after now
        (plus a few minutes for the sender's clock) nor before 2000, whoever calls, so a
        ready-made :class:`LeadDocument` is checked for that too.
        """
        if not isinstance(source, LeadSource | Admin):
            raise NotPermitted(source.id, "submit leads")
        now = self._now()
        if isinstance(document, LeadDocument):
            doc = check_received_at(document, now)
        else:
            doc = parse_document(document, now=now)
        fingerprint = document_fingerprint(doc)
        received = doc.received_at or now
        territory = route(
            doc.contact.country, doc.contact.postal_code, self.directory.territories()
        )
        draft = Lead(
            id=0,
            document=doc,
            received_at=received,
            territory_id=territory.id if territory is not None else None,
            status=Status.NEW,
            status_at=received,
        )
        try:
            with self.repository.unit_of_work(writing=True) as uow:
                known = uow.get_by_source(doc.source_id)
                if known is not None:
                    return self._replay(known, fingerprint)
                lead = uow.add(draft)
                received_event = history_event(
                    lead, EventKind.RECEIVED, source.id, None, received, now
                )
                uow.append([received_event])
                uow.enqueue(new_lead_notices(lead, now, self.directory))
                uow.commit()
        except IntakeConflict:
            # A concurrent intake of the same source_id won the insert: answer as a replay.
            with self.repository.unit_of_work() as uow:
                known = uow.get_by_source(doc.source_id)
            if known is None:
                raise
            return self._replay(known, fingerprint)
        return IntakeResult(lead, created=True)

    @staticmethod
    def _replay(known: Lead, fingerprint: str) -> IntakeResult:
        if document_fingerprint(known.document) != fingerprint:
            raise IntakeConflict(known.source_id, known.id)
        return IntakeResult(known, created=False)

    # --- the installer's actions (R3, R6, R7) ----------------------------------------

    def claim(self, installer: Actor, lead_id: int) -> LeadView:
        """R3: take a ``new`` lead of one's territory; held for the claim hold (R9).

        Of concurrent claims exactly one wins; the others get
        :class:`~qleads.errors.LeadNoLongerAvailable`.
        """
        actor = self._installer(installer, "claim leads")
        scope = self._scope(actor)
        now = self._now()
        # Worked out before the unit of work: on SQLite it holds the write lock.
        hold = actor.calendar.add_business_days(now, self.policy.claim_hold_days)
        try:
            with self.repository.unit_of_work(writing=True) as uow:
                lead = uow.get(lead_id)
                if lead.holder_id == actor.id:
                    raise InvalidTransition(lead.id, lead.status.value, Action.CLAIM.value)
                if not can_see(scope, lead):
                    if lead.territory_id is not None and lead.territory_id in (
                        scope.territory_ids or ()
                    ):
                        raise LeadNoLongerAvailable(lead.id)
                    raise LeadNotFound(lead_id)
                check(lead.id, lead.status, Action.CLAIM)
                new = bump(
                    lead,
                    status=Status.CLAIMED,
                    status_at=now,
                    holder_id=actor.id,
                    hold_until=hold,
                    due_at=None,
                    deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, hold),
                )
                event = history_event(new, EventKind.CLAIMED, actor.id, lead.status, now, now)
                self._write(uow, lead, Change(new, event))
                uow.commit()
        except StaleUpdate:
            raise LeadNoLongerAvailable(lead_id) from None
        return view(scope, new, self.policy)

    def record(
        self,
        actor: Actor,
        lead_id: int,
        status: Status,
        *,
        effective_at: dt.datetime | None = None,
        channel: Channel | None = None,
        note: str = "",
        due_at: dt.datetime | None = None,
    ) -> LeadView:
        """R6: the holder (or an admin for him) records a work status.

        ``effective_at`` defaults to now and may lie neither in the future nor before the
        lead was received. ``follow_up`` needs ``due_at`` in the future. Any record ends
        the claim hold (R4) and the assignment reminder (R5).

        Deadlines are strict (R4, R11); what counts is when the record is made, not its
        effective date:

        * on a ``claimed`` lead at or after ``hold_until`` the claim is over, even if no
          sweep has run yet: :class:`~qleads.errors.ClaimExpired` is raised, nothing is
          stored, and the next sweep returns the lead to the pool;
        * any other deadline that is due (assignment reminder, escalation, follow-up
          reminder) fires first, in the same unit of work, exactly as the sweep would
          fire it — its history event dated at the deadline, its notices — and then the
          record is applied. A late record never drops a due deadline; a notice it makes
          stale is not mailed (:func:`qleads.mail.is_obsolete`).
        """
        if not isinstance(actor, Installer | Admin):
            raise NotPermitted(actor.id, "record progress", lead_id)
        if status not in WORK_STATUSES:
            raise InvalidInput("status", f"{status.value!r} is not a work status")
        now = self._now()
        effective = now if effective_at is None else require_utc("effective_at", effective_at)
        if effective > now:
            raise InvalidInput("effective_at", "lies in the future")
        if status is Status.FOLLOW_UP:
            if due_at is None:
                raise InvalidInput("due_at", "a follow-up needs a due date")
            due_at = require_utc("due_at", due_at)
            if due_at <= now:
                raise InvalidInput("due_at", "must lie in the future")
        elif due_at is not None:
            raise InvalidInput("due_at", "only a follow-up has a due date")
        text = _clean_note(note)
        scope = self._scope(actor)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = self._held_by(uow, actor, scope, lead_id, Action.RECORD)
            fired = self._catch_up(lead, now)
            current = fired[-1].lead if fired else lead
            check(current.id, current.status, Action.RECORD, status)
            if effective < lead.received_at:
                raise InvalidInput("effective_at", "lies before the lead was received")
            new = bump(
                current,
                status=status,
                status_at=effective,
                hold_until=None,
                due_at=due_at,
                deadline=Deadline(DeadlineKind.FOLLOW_UP_DUE, due_at) if due_at else None,
            )
            event = attrs.evolve(
                history_event(new, EventKind.RECORDED, actor.id, current.status, effective, now),
                channel=channel,
                note=text,
                due_at=due_at,
            )
            self._write(uow, lead, *fired, Change(new, event))
            uow.commit()
        return view(scope, new, self.policy)

    def release(
        self,
        actor: Actor,
        lead_id: int,
        *,
        reason: ReleaseReason | None = None,
        note: str = "",
    ) -> LeadView:
        """R7: give a non-terminal lead back to the pool; the releaser keeps the
        *previously handled* marker and the territory is told it is available again.

        A claim whose hold has run out is not his to give back any more (R4): from
        ``hold_until`` on this raises :class:`~qleads.errors.ClaimExpired` and stores
        nothing, and the sweep releases the lead as an expiry — with the notice to him
        that his claim ran out and the history saying so, which a release at that point
        would have replaced with one he never made in time. Any other due deadline fires
        first, as for :meth:`record`."""
        if not isinstance(actor, Installer | Admin):
            raise NotPermitted(actor.id, "release leads", lead_id)
        text = _clean_note(note)
        scope = self._scope(actor)
        now = self._now()
        with self.repository.unit_of_work(writing=True) as uow:
            lead = self._held_by(uow, actor, scope, lead_id, Action.RELEASE)
            fired = self._catch_up(lead, now)
            current = fired[-1].lead if fired else lead
            check(current.id, current.status, Action.RELEASE)
            new = to_pool(current, now)
            event = attrs.evolve(
                history_event(new, EventKind.RELEASED, actor.id, current.status, now, now),
                reason=reason,
                note=text,
                holder_id=current.holder_id,
            )
            notices = new_lead_notices(new, now, self.directory, exclude=current.holder_id)
            self._write(uow, lead, *fired, Change(new, event, notices))
            uow.commit()
        return view(scope, new, self.policy)

    # --- the sales rep's and admin's actions (R5, R12) -------------------------------

    def assign(self, actor: Actor, lead_id: int, installer: Installer | str) -> LeadView:
        """R5: a rep gives a lead of his territory to one of his installers; a held
        lead is reassigned. The installer gets a mail and, after the reminder period
        without a work status, one reminder.

        ``installer`` is the :class:`~qleads.model.Installer`, like every other actor a
        use case takes; the directory's record of him decides whether he is active and
        whose installer he is. Passing his id (a ``str``) still works in 0.2 and warns
        (:class:`DeprecationWarning`): it goes in 0.3.

        A deadline of the lead that is due fires first, in the same unit of work, as the
        sweep would fire it (R4, R5, R11): a claim whose hold ran out is expired — the
        lead is in the pool again, so this is an assignment, not a reassignment — and a
        due reminder, escalation or follow-up reminder is in the history before the
        reassignment.
        """
        if isinstance(installer, str):
            warnings.warn(
                "LeadDesk.assign() takes the Installer; passing his id is deprecated "
                "and stops working in qleads 0.3",
                DeprecationWarning,
                stacklevel=2,
            )
            installer_id = installer
        elif isinstance(installer, Installer):
            installer_id = installer.id
        else:
            raise InvalidInput("installer", f"needs an Installer, got {type(installer).__name__}")
        if not isinstance(actor, SalesRep | Admin):
            raise NotPermitted(actor.id, "assign leads", lead_id)
        target = self.directory.installer(installer_id)
        if target is None or not target.active:
            raise InvalidInput("installer", f"no active installer {installer_id!r}")
        if isinstance(actor, SalesRep) and target.rep_id != actor.id:
            raise NotPermitted(actor.id, f"assign to {installer_id}, who is not his installer")
        scope = self._scope(actor)
        now = self._now()
        try:
            with self.repository.unit_of_work(writing=True) as uow:
                lead = uow.get(lead_id)
                if not can_see(scope, lead):
                    raise LeadNotFound(lead_id)
                fired = self._catch_up(lead, now, expire=True)
                current = fired[-1].lead if fired else lead
                action = Action.ASSIGN if current.status is Status.NEW else Action.REASSIGN
                if current.holder_id == target.id:
                    raise InvalidTransition(current.id, current.status.value, action.value)
                check(current.id, current.status, action)
                remind_at = target.calendar.add_business_days(
                    now, self.policy.assignment_reminder_days
                )
                new = bump(
                    current,
                    status=Status.ASSIGNED,
                    status_at=now,
                    holder_id=target.id,
                    hold_until=None,
                    due_at=None,
                    deadline=Deadline(DeadlineKind.ASSIGNMENT_REMINDER, remind_at),
                    previous_holders=handled_by(current),
                )
                kind = EventKind.ASSIGNED if action is Action.ASSIGN else EventKind.REASSIGNED
                event = attrs.evolve(
                    history_event(new, kind, actor.id, current.status, now, now),
                    holder_id=target.id,
                )
                notice = Notification.for_lead(
                    NotificationKind.ASSIGNED, new, target.id, now, deadline_at=remind_at
                )
                self._write(uow, lead, *fired, Change(new, event, (notice,)))
                uow.commit()
        except StaleUpdate:
            raise LeadNoLongerAvailable(lead_id) from None
        return view(scope, new, self.policy)

    def reopen(self, actor: Actor, lead_id: int, *, note: str = "") -> LeadView:
        """R12: only an admin may bring a closed lead back; it returns to the pool and
        the reopening is in the history with his note."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "reopen leads", lead_id)
        text = _clean_note(note)
        scope = self._scope(actor)
        now = self._now()
        with self.repository.unit_of_work(writing=True) as uow:
            lead = uow.get(lead_id)
            check(lead.id, lead.status, Action.REOPEN)
            new = to_pool(lead, now)
            event = attrs.evolve(
                history_event(new, EventKind.REOPENED, actor.id, lead.status, now, now),
                note=text,
                holder_id=lead.holder_id,
            )
            self._write(uow, lead, Change(new, event, new_lead_notices(new, now, self.directory)))
            uow.commit()
        return view(scope, new, self.policy)

    # --- reading (R2, R8, R13, R16) ---------------------------------------------------

    def get(self, actor: Actor, lead_id: int) -> LeadView:
        """The lead as ``actor`` may see it; :class:`LeadNotFound` if R2 hides it."""
        scope = self._scope(actor)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
        if not can_see(scope, lead):
            raise LeadNotFound(lead_id)
        return view(scope, lead, self.policy)

    def history(self, actor: Actor, lead_id: int) -> list[HistoryEvent]:
        """R13, oldest first, for whoever may see the lead."""
        scope = self._scope(actor)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            return uow.history(lead_id)

    def tab(self, actor: Actor, tab: Tab, *, page: int = 1, per_page: int = 50) -> TabPage:
        """R8: one page of a tab plus every tab's count."""
        if page < 1:
            raise InvalidInput("page", "starts at 1")
        if not 1 <= per_page <= 500:
            raise InvalidInput("per_page", "must be between 1 and 500")
        scope = self._scope(actor)
        tabs = self._tabs_for(actor)
        if tab not in tabs:
            raise NotPermitted(actor.id, f"open the tab {tab.value!r}")
        query = query_for(scope, tab, offset=(page - 1) * per_page, limit=per_page)
        with self.repository.unit_of_work() as uow:
            found = uow.find(query)
            totals = uow.counts([query_for(scope, t) for t in tabs])
        return TabPage(
            tab=tab,
            items=tuple(view_row(scope, row, self.policy) for row in found.leads),
            total=found.total,
            page=page,
            per_page=per_page,
            counts=dict(zip(tabs, totals, strict=True)),
        )

    def counts(self, actor: Actor) -> dict[Tab, int]:
        """Every tab's count, as the tab bar shows it ("Neue Anfragen (2)")."""
        scope = self._scope(actor)
        tabs = self._tabs_for(actor)
        with self.repository.unit_of_work() as uow:
            totals = uow.counts([query_for(scope, t) for t in tabs])
        return dict(zip(tabs, totals, strict=True))

    # --- the clock (R4, R5, R6, R11) --------------------------------------------------

    def sweep(self, now: dt.datetime | None = None, *, batch_size: int = 500) -> SweepReport:
        """Fire every deadline that has passed by ``now``: claim expiry, assignment
        reminders, escalations, follow-up reminders.

        Idempotent: a fired deadline is cleared (or replaced by the next one) in the same
        conditional update that writes its event and notices, so a second run, or a
        parallel one in another process, finds nothing left to fire. Work is read in
        batches of due leads only, so the cost follows the number of due deadlines.
        """
        at = self._now() if now is None else require_utc("now", now)
        totals = dict.fromkeys(DeadlineKind, 0)
        people = DirectoryMemo(self.directory)
        retries = 0
        while True:
            try:
                with self.repository.unit_of_work(writing=True) as uow:
                    due = uow.due(at, batch_size)
                    fired: list[DeadlineKind] = []
                    events: list[HistoryEvent] = []
                    notices: list[Notification] = []
                    for lead in due:
                        assert lead.deadline is not None
                        change = fire(lead, at, self.policy, people)
                        uow.update(change.lead, expected_version=lead.version)
                        events.append(change.event)
                        notices.extend(change.notifications)
                        fired.append(lead.deadline.kind)
                    # One insert each per batch: the cost stays with the due leads (R11).
                    if events:
                        uow.append(events)
                    if notices:
                        uow.enqueue(notices)
                    uow.commit()
            except StaleUpdate:
                # A record or another sweep changed a due lead under us: nothing of this
                # batch was written; read the batch again.
                retries += 1
                if retries > _SWEEP_RETRIES:
                    raise
                continue
            for kind in fired:
                totals[kind] += 1
            if not due:
                break
        return SweepReport(
            expired=totals[DeadlineKind.CLAIM_EXPIRY],
            reminded=totals[DeadlineKind.ASSIGNMENT_REMINDER],
            escalated=totals[DeadlineKind.ESCALATION],
            follow_ups_due=totals[DeadlineKind.FOLLOW_UP_DUE],
        )

    # --- helpers ----------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return require_utc("clock.now()", self.clock.now())

    def _installer(self, actor: Actor, action: str) -> Installer:
        if not isinstance(actor, Installer):
            raise NotPermitted(actor.id, action)
        if not actor.active:
            raise NotPermitted(actor.id, f"{action} (account inactive)")
        return actor

    def _scope(self, actor: Actor) -> Scope:
        """What an actor may see (R2, R12); a lead source sees nothing."""
        if isinstance(actor, Admin):
            return Scope(territory_ids=None)
        if isinstance(actor, Installer):
            return Scope(territory_ids=self._territories_of(actor.rep_id), installer_id=actor.id)
        if isinstance(actor, SalesRep):
            return Scope(territory_ids=self._territories_of(actor.id))
        raise NotPermitted(actor.id, "read leads")

    def _territories_of(self, rep_id: str) -> frozenset[str]:
        return self.directory.territory_ids_of(rep_id)

    @staticmethod
    def _tabs_for(actor: Actor) -> tuple[Tab, ...]:
        if isinstance(actor, Admin):
            return (*INSTALLER_TABS, Tab.UNROUTED)
        return INSTALLER_TABS

    def _held_by(
        self, uow: UnitOfWork, actor: Actor, scope: Scope, lead_id: int, action: Action
    ) -> Lead:
        """The lead, if ``actor`` holds it (or is an admin); else R2's not-found or R12's
        not-permitted."""
        lead = uow.get(lead_id)
        if isinstance(actor, Admin):
            if lead.holder_id is None:
                check(lead.id, lead.status, action)
            return lead
        if lead.holder_id == actor.id:
            return lead
        if can_see(scope, lead):
            raise NotPermitted(actor.id, "change a lead he does not hold", lead_id)
        raise LeadNotFound(lead_id)

    @staticmethod
    def _write(uow: UnitOfWork, old: Lead, *changes: Change) -> None:
        """Store ``changes``, each one version on from the one before, starting at
        ``old`` as this unit read it."""
        version = old.version
        for change in changes:
            uow.update(change.lead, expected_version=version)
            version = change.lead.version
        uow.append([change.event for change in changes])
        notices = [n for change in changes for n in change.notifications]
        if notices:
            uow.enqueue(notices)

    def _catch_up(self, lead: Lead, now: dt.datetime, *, expire: bool = False) -> list[Change]:
        """:func:`qleads.deadlines.catch_up` for one change of ``lead``."""
        return catch_up(lead, now, self.policy, DirectoryMemo(self.directory), expire=expire)


def _clean_note(note: str) -> str:
    if not isinstance(note, str):
        raise InvalidInput("note", "must be text")
    text = note.strip()
    if len(text) > _NOTE_LIMIT:
        raise InvalidInput("note", f"is longer than {_NOTE_LIMIT} characters")
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) == "Cc":
            raise InvalidInput("note", "contains a control character")
    return text
