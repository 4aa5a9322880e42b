"""The installer's work on a lead (R3, R4, R6, R7): claim it, record progress, release it.

An admin may record or release for the holder (R12); nobody else may touch a lead he does
not hold. A record or release made after a deadline fires that deadline first, in the
same unit of work, exactly as the sweep would (:func:`qleads.desk.deadlines.catch_up`),
except a claim whose hold ran out: that claim is over (R4).
"""

from __future__ import annotations

import datetime as dt
import logging

import attrs

from qleads.desk.base import DeskBase, clean_note, current_time, scope_of, write
from qleads.desk.changes import Change, bump, history_event, new_lead_notices, to_pool
from qleads.desk.deadlines import DirectoryMemo, catch_up
from qleads.errors import (
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    StaleUpdate,
)
from qleads.instants import require_utc
from qleads.lifecycle import WORK_STATUSES, Action, Status, check
from qleads.model import (
    Actor,
    Admin,
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    Installer,
    Lead,
    ReleaseReason,
)
from qleads.ports import UnitOfWork
from qleads.tabs import Scope
from qleads.visibility import LeadView, can_see, view

__all__ = ["WorkDesk"]

#: Lead ids and counts only: never a customer's or a person's data.
log = logging.getLogger(__name__)


class WorkDesk(DeskBase):
    """:meth:`claim`, :meth:`record` and :meth:`release`: what an installer does."""

    def claim(self, installer: Actor, lead_id: int) -> LeadView:
        """R3: take a ``new`` lead of one's territory; held for the claim hold (R9).

        Of concurrent claims exactly one wins; the others get
        :class:`~qleads.errors.LeadNoLongerAvailable`.
        """
        actor = _active_installer(installer, "claim leads")
        scope = scope_of(self.directory, actor)
        now = current_time(self.clock)
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
                write(uow, lead, Change(new, event))
                uow.commit()
        except StaleUpdate:
            log.info("claim conflict on lead %d: another claim won", lead_id)
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
        now = current_time(self.clock)
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
        text = clean_note(note)
        scope = scope_of(self.directory, actor)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = _held_by(uow, actor, scope, lead_id, Action.RECORD)
            fired = catch_up(lead, now, self.policy, DirectoryMemo(self.directory))
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
            write(uow, lead, *fired, Change(new, event))
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
        text = clean_note(note)
        scope = scope_of(self.directory, actor)
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = _held_by(uow, actor, scope, lead_id, Action.RELEASE)
            fired = catch_up(lead, now, self.policy, DirectoryMemo(self.directory))
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
            write(uow, lead, *fired, Change(new, event, notices))
            uow.commit()
        return view(scope, new, self.policy)


def _active_installer(actor: Actor, action: str) -> Installer:
    """``actor`` if he is an installer whose account is active (R12)."""
    if not isinstance(actor, Installer):
        raise NotPermitted(actor.id, action)
    if not actor.active:
        raise NotPermitted(actor.id, f"{action} (account inactive)")
    return actor


def _held_by(uow: UnitOfWork, actor: Actor, scope: Scope, lead_id: int, action: Action) -> Lead:
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
