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

from qleads.decline import closed_for
from qleads.desk.base import DeskBase, clean_note, current_time, scope_of, write
from qleads.desk.changes import Change, bump, history_event
from qleads.desk.deadlines import DirectoryMemo, catch_up
from qleads.desk.decline import release_changes
from qleads.desk.ladder_steps import holder_calendar
from qleads.desk.limits import enforce_claim_limits
from qleads.desk.personal_data import deliver, shown_in
from qleads.desk.policies import effective_policy
from qleads.errors import (
    DatedBeforeHolding,
    InvalidInput,
    InvalidTransition,
    LeadDeclined,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    StaleUpdate,
)
from qleads.escalation import effective_ladder, first_deadline, hold_until
from qleads.holding import held_since
from qleads.instants import require_utc
from qleads.lifecycle import WORK_STATUSES, Action, Status, check
from qleads.model import (
    Actor,
    Admin,
    Channel,
    EventKind,
    Installer,
    Lead,
    ReleaseReason,
)
from qleads.ports import UnitOfWork
from qleads.tabs import Scope
from qleads.visibility import LeadView, can_see

__all__ = ["WorkDesk"]

#: Lead ids and counts only: never a customer's or a person's data.
log = logging.getLogger(__name__)


class WorkDesk(DeskBase):
    """:meth:`claim`, :meth:`record` and :meth:`release`: what an installer does."""

    def claim(self, installer: Actor, lead_id: int, *, contact: bool = True) -> LeadView:
        """R3: take a ``new`` lead of one's territory; held for the claim hold (R9).

        Of concurrent claims exactly one wins; the others get
        :class:`~qleads.errors.LeadNoLongerAvailable`. ``contact=False``: the claimed
        lead comes back with its contact withheld and no access record (R14), for a
        caller that shows none of it (a portal that redirects to the lead's page, which
        reads it afresh).
        """
        actor = _active_installer(installer, "claim leads")
        scope = scope_of(self.directory, actor)
        now = current_time(self.clock)
        # Worked out before the unit of work: on SQLite it holds the write lock.
        ladder = effective_ladder(self.policy)
        hold = hold_until(ladder, actor.calendar, now)
        first = first_deadline(ladder, Status.CLAIMED, actor.calendar, now)
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
                policy = effective_policy(self, lead.territory_id, uow)
                if policy is not self.policy:
                    # The territory's own rules: its ladder may hold the claim differently.
                    ladder = effective_ladder(policy)
                    hold = hold_until(ladder, actor.calendar, now)
                    first = first_deadline(ladder, Status.CLAIMED, actor.calendar, now)
                enforce_claim_limits(uow, policy, actor, lead, now)
                # Closed for him once he declined it as lost or spam (qleads.decline).
                if actor.id in lead.previous_holders and actor.id in closed_for(
                    uow.history(lead.id)
                ):
                    raise LeadDeclined(lead.id, actor.id)
                new = bump(
                    lead,
                    status=Status.CLAIMED,
                    status_at=now,
                    holder_id=actor.id,
                    hold_until=hold,
                    due_at=None,
                    deadline=first,
                )
                event = history_event(new, EventKind.CLAIMED, actor.id, lead.status, now, now)
                write(uow, lead, Change(new, event))
                shown = shown_in(self, uow, actor, new, policy=policy, scope=scope, contact=contact)
                uow.commit()
        except StaleUpdate:
            log.info("claim conflict on lead %d: another claim won", lead_id)
            raise LeadNoLongerAvailable(lead_id) from None
        return deliver(self, shown)

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
        contact: bool = True,
    ) -> LeadView:
        """R6: the holder (or an admin for him) records a work status.

        ``effective_at`` defaults to now and may lie neither in the future nor before the
        lead was received, nor before the claim or assignment that gave the lead to its
        holder (:class:`~qleads.errors.DatedBeforeHolding`). ``follow_up`` needs
        ``due_at`` in the future. Any record ends the claim hold (R4) and the assignment
        reminder (R5).

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

        ``contact=False`` as for :meth:`claim`: the lead comes back without its contact
        and no access record.
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
            policy = effective_policy(self, lead.territory_id, uow)
            fired = catch_up(lead, now, policy, DirectoryMemo(self.directory))
            current = fired[-1].lead if fired else lead
            check(current.id, current.status, Action.RECORD, status)
            if effective < lead.received_at:
                raise InvalidInput("effective_at", "lies before the lead was received")
            if effective_at is not None:
                since = held_since(uow.history(lead_id))
                if since is not None and effective < since:
                    raise DatedBeforeHolding(lead_id, since)
            # R6 and the ladder: a follow-up counts from its date, an offer from its own.
            # The holder recording on his own lead brings his calendar (as his claim
            # did); anyone else's is looked up.
            calendar = (
                actor.calendar
                if isinstance(actor, Installer) and actor.id == current.holder_id
                else holder_calendar(current, self.directory)
            )
            start = due_at if due_at is not None else effective
            new = bump(
                current,
                status=status,
                status_at=effective,
                hold_until=None,
                due_at=due_at,
                deadline=first_deadline(effective_ladder(policy), status, calendar, start),
            )
            event = attrs.evolve(
                history_event(new, EventKind.RECORDED, actor.id, current.status, effective, now),
                channel=channel,
                note=text,
                due_at=due_at,
            )
            write(uow, lead, *fired, Change(new, event))
            shown = shown_in(self, uow, actor, new, policy=policy, scope=scope, contact=contact)
            uow.commit()
        return deliver(self, shown)

    def release(
        self,
        actor: Actor,
        lead_id: int,
        *,
        reason: ReleaseReason | None = None,
        note: str = "",
        duplicate_of: int | None = None,
    ) -> LeadView:
        """R7: give a non-terminal lead back to the pool; the releaser keeps the
        *previously handled* marker and the territory is told it is available again.

        A claim whose hold has run out is not his to give back any more (R4): from
        ``hold_until`` on this raises :class:`~qleads.errors.ClaimExpired` and stores
        nothing, and the sweep releases the lead as an expiry — with the notice to him
        that his claim ran out and the history saying so, which a release at that point
        would have replaced with one he never made in time. Any other due deadline fires
        first, as for :meth:`record`.

        The ``reason`` decides where the lead goes (:mod:`qleads.decline`): the pool,
        the pool but closed for him, the rep's queue, linked to its original
        (``duplicate_of``, for a *Dublette*), or closed for everyone as spam; and a lead
        released by ``Policy.unserviceable_after_releases`` installers goes to the rep's
        queue as *nicht vermittelbar*."""
        if not isinstance(actor, Installer | Admin):
            raise NotPermitted(actor.id, "release leads", lead_id)
        text = clean_note(note)
        scope = scope_of(self.directory, actor)
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = _held_by(uow, actor, scope, lead_id, Action.RELEASE)
            policy = effective_policy(self, lead.territory_id, uow)
            fired = catch_up(lead, now, policy, DirectoryMemo(self.directory))
            current = fired[-1].lead if fired else lead
            check(current.id, current.status, Action.RELEASE)
            changes = release_changes(
                uow,
                current,
                actor.id,
                now,
                policy,
                self.directory,
                reason=reason,
                note=text,
                duplicate_of=duplicate_of,
            )
            new = changes[-1].lead
            write(uow, lead, *fired, *changes)
            shown = shown_in(self, uow, actor, new, policy=policy, scope=scope)
            uow.commit()
        return deliver(self, shown)


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
