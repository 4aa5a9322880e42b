"""What each step of the escalation ladder does to a lead when it fires (R4, R5, R6,
R11; :mod:`qleads.ladder`).

Every step writes one change: the lead with the following step as its deadline (or, for
a step that takes the lead from its holder, without one), a history event dated at the
step, and its notices. The steps of the default ladder write exactly what earlier
versions wrote: the claim expiry (R4), the assignment reminder and escalation (R5), the
follow-up reminder (R6).
"""

from __future__ import annotations

import datetime as dt

import attrs

from qleads.calendar import Calendar
from qleads.desk.changes import (
    Change,
    People,
    bump,
    handled_by,
    history_event,
    holder_notice,
    new_lead_notices,
    to_pool,
)
from qleads.escalation import action_of, check_situation, effective_ladder, next_deadline
from qleads.ladder import LadderAction
from qleads.lifecycle import Action, Status, check
from qleads.model import (
    Deadline,
    DeadlineKind,
    EventKind,
    Lead,
    Notification,
    NotificationKind,
    Policy,
)
from qleads.rep_queue import queue_holder

__all__ = ["SYSTEM_ACTOR", "fire_step", "holder_calendar", "rep_of", "to_rep_queue"]

#: The actor id of changes made by the clock (R4, R5, R6).
SYSTEM_ACTOR = "system"


def holder_calendar(lead: Lead, people: People) -> Calendar:
    """The calendar the lead's steps count on: its holder's (R9), else the default."""
    holder = people.installer(lead.holder_id) if lead.holder_id else None
    return holder.calendar if holder is not None else Calendar()


def rep_of(lead: Lead, people: People) -> str | None:
    """The rep of the lead's territory (``None`` for an unrouted lead)."""
    if lead.territory_id is None:
        return None
    territory = people.territory(lead.territory_id)
    return territory.rep_id if territory is not None else None


def to_rep_queue(lead: Lead, at: dt.datetime, rep_id: str | None) -> Lead:
    """Into the rep's queue (:mod:`qleads.rep_queue`): ``new``, held by the queue, the
    installer who had it keeping his *previously handled* marker (R2c)."""
    return bump(
        lead,
        status=Status.NEW,
        status_at=at,
        holder_id=queue_holder(rep_id),
        hold_until=None,
        due_at=None,
        deadline=None,
        previous_holders=handled_by(lead),
    )


def fire_step(lead: Lead, now: dt.datetime, policy: Policy, people: People) -> Change:
    """The change ``lead``'s due deadline makes, fired at ``now``: its event is dated at
    the deadline, its notices are created ``now``."""
    deadline = lead.deadline
    if deadline is None:
        raise ValueError(f"lead {lead.id} has no deadline to fire")
    if deadline.kind is DeadlineKind.CLAIM_EXPIRY:
        return _expire(lead, deadline, now, people)
    action = action_of(deadline.kind)
    if action is LadderAction.REMIND_HOLDER:
        return _remind(lead, deadline, now, policy, people)
    if action is LadderAction.NOTIFY_REP:
        return _escalate(lead, deadline, now, policy, people)
    if action is LadderAction.RELEASE_TO_TERRITORY:
        return _withdraw(lead, deadline, now, people)
    return _to_rep(
        lead, deadline, now, people, unserviceable=action is LadderAction.MARK_UNSERVICEABLE
    )


def _following(lead: Lead, deadline: Deadline, policy: Policy, people: People) -> Deadline | None:
    return next_deadline(
        effective_ladder(policy), lead.status, holder_calendar(lead, people), deadline
    )


def _expire(lead: Lead, deadline: Deadline, now: dt.datetime, people: People) -> Change:
    """R4: the claim hold passed without a work status; back to the pool."""
    check(lead.id, lead.status, Action.EXPIRE)
    new = to_pool(lead, deadline.at)
    event = attrs.evolve(
        history_event(new, EventKind.EXPIRED, SYSTEM_ACTOR, lead.status, deadline.at, now),
        holder_id=lead.holder_id,
    )
    notices = new_lead_notices(new, now, people, exclude=lead.holder_id)
    if lead.holder_id is not None:
        expired = Notification.for_lead(NotificationKind.CLAIM_EXPIRED, new, lead.holder_id, now)
        notices = (expired, *notices)
    return Change(new, event, notices)


def _remind(
    lead: Lead, deadline: Deadline, now: dt.datetime, policy: Policy, people: People
) -> Change:
    """A reminder to the holder: R5's assignment reminder, R6's follow-up reminder, or
    a ladder's reminder of a claim or an offer."""
    if deadline.kind is DeadlineKind.ASSIGNMENT_REMINDER:
        check(lead.id, lead.status, Action.REMIND)
    elif deadline.kind is DeadlineKind.FOLLOW_UP_DUE:
        check(lead.id, lead.status, Action.FOLLOW_UP_DUE)
    else:
        check_situation(lead.id, lead.status, deadline.kind)
    following = _following(lead, deadline, policy, people)
    new = bump(lead, deadline=following)
    following_at = following.at if following is not None else None
    if deadline.kind is DeadlineKind.FOLLOW_UP_DUE:
        event = history_event(
            new, EventKind.FOLLOW_UP_DUE, SYSTEM_ACTOR, lead.status, deadline.at, now
        )
        return Change(
            new, event, holder_notice(NotificationKind.FOLLOW_UP_DUE, new, now, lead.due_at)
        )
    event = history_event(new, EventKind.REMINDED, SYSTEM_ACTOR, lead.status, deadline.at, now)
    kind = (
        NotificationKind.ASSIGNMENT_REMINDER
        if deadline.kind is DeadlineKind.ASSIGNMENT_REMINDER
        else NotificationKind.HOLDER_REMINDER
    )
    return Change(new, event, holder_notice(kind, new, now, following_at))


def _escalate(
    lead: Lead, deadline: Deadline, now: dt.datetime, policy: Policy, people: People
) -> Change:
    """R5 (beyond the manual) and the ladder's "notify the rep": tell the holder's rep
    the lead is untouched."""
    if lead.status is Status.ASSIGNED:
        check(lead.id, lead.status, Action.ESCALATE)
    else:
        check_situation(lead.id, lead.status, deadline.kind)
    new = bump(lead, deadline=_following(lead, deadline, policy, people))
    event = history_event(new, EventKind.ESCALATED, SYSTEM_ACTOR, lead.status, deadline.at, now)
    holder = people.installer(lead.holder_id) if lead.holder_id else None
    notices: tuple[Notification, ...] = ()
    if holder is not None:
        notices = (Notification.for_lead(NotificationKind.ESCALATION, new, holder.rep_id, now),)
    return Change(new, event, notices)


def _withdraw(lead: Lead, deadline: Deadline, now: dt.datetime, people: People) -> Change:
    """The ladder's "release to the territory" of a lead past its claim: back to the
    pool, its holder told, the territory told it is available."""
    check_situation(lead.id, lead.status, deadline.kind)
    new = to_pool(lead, deadline.at)
    event = attrs.evolve(
        history_event(new, EventKind.WITHDRAWN, SYSTEM_ACTOR, lead.status, deadline.at, now),
        holder_id=lead.holder_id,
    )
    notices = new_lead_notices(new, now, people, exclude=lead.holder_id)
    if lead.holder_id is not None:
        notices = (
            Notification.for_lead(NotificationKind.WITHDRAWN, new, lead.holder_id, now),
            *notices,
        )
    return Change(new, event, notices)


def _to_rep(
    lead: Lead, deadline: Deadline, now: dt.datetime, people: People, *, unserviceable: bool
) -> Change:
    """The ladder's "reassign to the rep" and "mark unserviceable": into the rep's
    queue, its holder and the rep told."""
    check_situation(lead.id, lead.status, deadline.kind)
    rep_id = rep_of(lead, people)
    new = to_rep_queue(lead, deadline.at, rep_id)
    kind = EventKind.UNSERVICEABLE if unserviceable else EventKind.RETURNED_TO_REP
    # The event names the queue as the lead's holder now, like a claim names its holder.
    event = history_event(new, kind, SYSTEM_ACTOR, lead.status, deadline.at, now)
    notices: tuple[Notification, ...] = ()
    if lead.holder_id is not None:
        notices = (Notification.for_lead(NotificationKind.WITHDRAWN, new, lead.holder_id, now),)
    if rep_id:
        notices = (*notices, Notification.for_lead(NotificationKind.REP_QUEUE, new, rep_id, now))
    return Change(new, event, notices)
