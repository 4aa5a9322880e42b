"""What the clock does to a lead (R4, R5, R6, R11): the effect of each deadline kind,
and the rule that a deadline which has passed is never dropped.

A lead has at most one running deadline (``Lead.deadline``). The sweep fires the due
ones in batches (``LeadDesk.sweep``, :mod:`qleads.desk.sweep`); a person's change that
comes after a deadline but before the sweep fires it first with :func:`catch_up`, in the
same unit of work, so the history and the mails are the same whichever came first. The
one exception is the claim hold: from ``hold_until`` on the claim is over (R4), so its
holder's record or release is refused with :class:`~qleads.errors.ClaimExpired` and the
sweep releases it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from qleads.calendar import Calendar
from qleads.desk.changes import (
    Change,
    bump,
    history_event,
    holder_notice,
    new_lead_notices,
    to_pool,
)
from qleads.errors import ClaimExpired
from qleads.lifecycle import Action, check
from qleads.model import (
    Deadline,
    DeadlineKind,
    EventKind,
    Installer,
    Lead,
    Notification,
    NotificationKind,
    Policy,
    Territory,
)
from qleads.ports import Directory

__all__ = ["SYSTEM_ACTOR", "DirectoryMemo", "catch_up", "fire"]

#: The actor id of changes made by the clock (R4, R5, R6).
SYSTEM_ACTOR = "system"


class DirectoryMemo:
    """The directory seen through one sweep or one change: each person and territory
    is read once, however many of their leads fall due (R11: the cost follows the due
    deadlines)."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._installers: dict[str, Installer | None] = {}
        self._territories: dict[str, Territory | None] = {}
        self._teams: dict[str, Sequence[Installer]] = {}

    def installer(self, installer_id: str) -> Installer | None:
        if installer_id not in self._installers:
            self._installers[installer_id] = self._directory.installer(installer_id)
        return self._installers[installer_id]

    def territory(self, territory_id: str) -> Territory | None:
        if territory_id not in self._territories:
            self._territories[territory_id] = self._directory.territory(territory_id)
        return self._territories[territory_id]

    def installers_of(self, rep_id: str) -> Sequence[Installer]:
        if rep_id not in self._teams:
            self._teams[rep_id] = self._directory.installers_of(rep_id)
        return self._teams[rep_id]


def fire(lead: Lead, now: dt.datetime, policy: Policy, people: DirectoryMemo) -> Change:
    """The change that ``lead``'s deadline makes, fired at ``now``: its event is dated at
    the deadline, its notices are created ``now``."""
    deadline = lead.deadline
    if deadline is None:
        raise ValueError(f"lead {lead.id} has no deadline to fire")
    if deadline.kind is DeadlineKind.CLAIM_EXPIRY:
        return _expire(lead, deadline, now, people)
    if deadline.kind is DeadlineKind.ASSIGNMENT_REMINDER:
        return _remind(lead, deadline, now, policy, people)
    if deadline.kind is DeadlineKind.ESCALATION:
        return _escalate(lead, deadline, now, people)
    return _follow_up_due(lead, deadline, now)


def catch_up(
    lead: Lead,
    now: dt.datetime,
    policy: Policy,
    people: DirectoryMemo,
    *,
    expire: bool = False,
) -> list[Change]:
    """The deadlines of ``lead`` that have passed by ``now`` and that no sweep has fired
    yet, fired as the sweep fires them, one after the other (a reminder's escalation may
    be due too), so that a change made after a deadline never drops it.

    A claim whose hold has run out is over (R4). For its holder (and an admin acting
    for him) that is :class:`~qleads.errors.ClaimExpired`, and nothing is fired: the
    sweep releases the lead. With ``expire`` (a rep or admin assigning the lead, for
    whom it is simply back in the pool) the expiry fires like the others."""
    deadline = lead.deadline
    if (
        not expire
        and deadline is not None
        and deadline.kind is DeadlineKind.CLAIM_EXPIRY
        and deadline.at <= now
    ):
        raise ClaimExpired(lead.id, deadline.at)
    fired: list[Change] = []
    while lead.deadline is not None and lead.deadline.at <= now:
        change = fire(lead, now, policy, people)
        fired.append(change)
        lead = change.lead
    return fired


def _expire(lead: Lead, deadline: Deadline, now: dt.datetime, people: DirectoryMemo) -> Change:
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
    lead: Lead, deadline: Deadline, now: dt.datetime, policy: Policy, people: DirectoryMemo
) -> Change:
    """R5: one reminder to the assignee; then the escalation, if the policy has one."""
    check(lead.id, lead.status, Action.REMIND)
    following = None
    if policy.escalation_days is not None:
        holder = people.installer(lead.holder_id) if lead.holder_id else None
        calendar = holder.calendar if holder is not None else Calendar()
        escalate_at = calendar.add_business_days(deadline.at, policy.escalation_days)
        following = Deadline(DeadlineKind.ESCALATION, escalate_at)
    new = bump(lead, deadline=following)
    event = history_event(new, EventKind.REMINDED, SYSTEM_ACTOR, lead.status, deadline.at, now)
    at = following.at if following is not None else None
    return Change(new, event, holder_notice(NotificationKind.ASSIGNMENT_REMINDER, new, now, at))


def _escalate(lead: Lead, deadline: Deadline, now: dt.datetime, people: DirectoryMemo) -> Change:
    """R5 (beyond the manual): tell the installer's rep the assignment is untouched."""
    check(lead.id, lead.status, Action.ESCALATE)
    new = bump(lead, deadline=None)
    event = history_event(new, EventKind.ESCALATED, SYSTEM_ACTOR, lead.status, deadline.at, now)
    holder = people.installer(lead.holder_id) if lead.holder_id else None
    notices: tuple[Notification, ...] = ()
    if holder is not None:
        notices = (Notification.for_lead(NotificationKind.ESCALATION, new, holder.rep_id, now),)
    return Change(new, event, notices)


def _follow_up_due(lead: Lead, deadline: Deadline, now: dt.datetime) -> Change:
    """R6: the follow-up date came; one reminder, the lead stays in Wiedervorlage."""
    check(lead.id, lead.status, Action.FOLLOW_UP_DUE)
    new = bump(lead, deadline=None)
    event = history_event(new, EventKind.FOLLOW_UP_DUE, SYSTEM_ACTOR, lead.status, deadline.at, now)
    return Change(new, event, holder_notice(NotificationKind.FOLLOW_UP_DUE, new, now, lead.due_at))
