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

from qleads.desk.changes import Change
from qleads.desk.ladder_steps import SYSTEM_ACTOR, fire_step
from qleads.errors import ClaimExpired
from qleads.lifecycle import Status
from qleads.model import Installer, Lead, Policy, Territory
from qleads.ports import Directory

__all__ = ["SYSTEM_ACTOR", "DirectoryMemo", "catch_up", "fire"]


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
    the deadline, its notices are created ``now`` (the steps of the escalation ladder,
    :mod:`qleads.desk.ladder_steps`)."""
    return fire_step(lead, now, policy, people)


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
    if (
        not expire
        and lead.status is Status.CLAIMED
        and lead.hold_until is not None
        and lead.hold_until <= now
    ):
        raise ClaimExpired(lead.id, lead.hold_until)
    fired: list[Change] = []
    while lead.deadline is not None and lead.deadline.at <= now:
        change = fire(lead, now, policy, people)
        fired.append(change)
        lead = change.lead
    return fired
