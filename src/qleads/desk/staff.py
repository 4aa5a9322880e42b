"""What sales reps and admins do to a lead (R5, R12): assign it, reopen a closed one.

A rep assigns the leads of his territories to his own installers; an admin may assign any
lead to any active installer and is the only one who may reopen (R12).
"""

from __future__ import annotations

import warnings

import attrs

from qleads.desk.base import DeskBase, clean_note, current_time, scope_of, write
from qleads.desk.changes import Change, bump, handled_by, history_event, new_lead_notices, to_pool
from qleads.desk.deadlines import DirectoryMemo, catch_up
from qleads.desk.limits import pause_after_expiries
from qleads.desk.personal_data import deliver, shown_in
from qleads.desk.policies import effective_policy
from qleads.errors import (
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    StaleUpdate,
)
from qleads.escalation import effective_ladder, first_deadline
from qleads.lifecycle import Action, Status, check
from qleads.model import (
    Actor,
    Admin,
    EventKind,
    Installer,
    Notification,
    NotificationKind,
    SalesRep,
)
from qleads.rep_queue import is_queued
from qleads.visibility import LeadView, can_see

__all__ = ["StaffDesk"]


class StaffDesk(DeskBase):
    """:meth:`assign` and :meth:`reopen`: what reps and admins do to a lead."""

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

        A lead of the rep's queue (:mod:`qleads.rep_queue`) is assigned like one of the
        pool; a held-back duplicate loses its link with it.
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
        scope = scope_of(self.directory, actor)
        now = current_time(self.clock)
        try:
            with self.repository.unit_of_work(writing=True) as uow:
                lead = uow.get(lead_id)
                if not can_see(scope, lead):
                    raise LeadNotFound(lead_id)
                people = DirectoryMemo(self.directory)
                policy = effective_policy(self, lead.territory_id, uow)
                fired = catch_up(lead, now, policy, people, expire=True)
                current = fired[-1].lead if fired else lead
                action = Action.ASSIGN if current.status is Status.NEW else Action.REASSIGN
                if current.holder_id == target.id:
                    raise InvalidTransition(current.id, current.status.value, action.value)
                check(current.id, current.status, action)
                first = first_deadline(
                    effective_ladder(policy), Status.ASSIGNED, target.calendar, now
                )
                new = bump(
                    current,
                    status=Status.ASSIGNED,
                    status_at=now,
                    holder_id=target.id,
                    hold_until=None,
                    due_at=None,
                    deadline=first,
                    previous_holders=handled_by(current),
                )
                if is_queued(current):
                    # Out of the rep's queue: a held-back duplicate is a lead of its own now.
                    uow.unlink_duplicate(current.id)
                kind = EventKind.ASSIGNED if action is Action.ASSIGN else EventKind.REASSIGNED
                event = attrs.evolve(
                    history_event(new, kind, actor.id, current.status, now, now),
                    holder_id=target.id,
                )
                notice = Notification.for_lead(
                    NotificationKind.ASSIGNED,
                    new,
                    target.id,
                    now,
                    deadline_at=first.at if first is not None else None,
                )
                write(uow, lead, *fired, Change(new, event, (notice,)))
                paused = pause_after_expiries(
                    uow, fired, now, lambda t: effective_policy(self, t, uow), self.directory
                )
                if paused:
                    uow.enqueue(paused)
                shown = shown_in(self, uow, actor, new, policy=policy, scope=scope)
                uow.commit()
        except StaleUpdate:
            raise LeadNoLongerAvailable(lead_id) from None
        return deliver(self, shown)

    def reopen(self, actor: Actor, lead_id: int, *, note: str = "") -> LeadView:
        """R12: only an admin may bring a closed lead back; it returns to the pool and
        the reopening is in the history with his note."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "reopen leads", lead_id)
        text = clean_note(note)
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = uow.get(lead_id)
            check(lead.id, lead.status, Action.REOPEN)
            new = to_pool(lead, now)
            event = attrs.evolve(
                history_event(new, EventKind.REOPENED, actor.id, lead.status, now, now),
                note=text,
                holder_id=lead.holder_id,
            )
            policy = effective_policy(self, new.territory_id, uow)
            write(uow, lead, Change(new, event, new_lead_notices(new, now, self.directory)))
            shown = shown_in(self, uow, actor, new, policy=policy)
            uow.commit()
        return deliver(self, shown)
