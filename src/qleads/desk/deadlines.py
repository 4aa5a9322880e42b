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
from typing import cast

from qleads.desk.changes import Change
from qleads.desk.ladder_steps import SYSTEM_ACTOR, fire_step
from qleads.errors import ClaimExpired
from qleads.lifecycle import Status
from qleads.model import DeadlineKind, Installer, Lead, Policy, Territory
from qleads.ports import Directory, DirectoryBatchReads

__all__ = ["SYSTEM_ACTOR", "DirectoryMemo", "catch_up", "fire"]

#: The deadlines whose step may put the lead back in the pool, telling the team (R4).
_TO_THE_POOL = frozenset({DeadlineKind.CLAIM_EXPIRY, DeadlineKind.WITHDRAWAL})


class DirectoryMemo:
    """The directory seen through one sweep or one change: each person and territory
    is read once, however many of their leads fall due (R11: the cost follows the due
    deadlines)."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._batches = _batch_reads(directory)
        self._installers: dict[str, Installer | None] = {}
        self._territories: dict[str, Territory | None] = {}
        self._teams: dict[str, Sequence[Installer]] = {}

    def prefetch(self, due: Sequence[Lead]) -> None:
        """Read the people a batch of due leads will ask for, two queries in all, if the
        directory reads in batches: the holders (their calendars and notices) and, for
        the leads going back to the pool, their territories' teams (the new-lead notices,
        R4)."""
        batches = self._batches
        if batches is None:
            return
        holders = {lead.holder_id for lead in due if lead.holder_id is not None}
        holders -= self._installers.keys()
        if holders:
            found = batches.installers_among(holders)
            for installer_id in holders:
                self._installers[installer_id] = found.get(installer_id)
        reps: set[str] = set()
        for lead in due:
            if lead.deadline is None or lead.deadline.kind not in _TO_THE_POOL:
                continue
            territory = self.territory(lead.territory_id) if lead.territory_id else None
            if territory is not None and territory.rep_id not in self._teams:
                reps.add(territory.rep_id)
        if reps:
            self._teams.update(batches.teams_of(reps))

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


def _batch_reads(directory: Directory) -> DirectoryBatchReads | None:
    """``directory`` if its class reads in batches (:class:`DirectoryBatchReads`). Asked
    of the class, not the object: a wrapper that forwards what it does not define to
    another directory (``__getattr__``) would have its batch reads bypass what it
    overrides, so it is read person by person."""
    kind = type(directory)
    if all(callable(getattr(kind, name, None)) for name in ("installers_among", "teams_of")):
        return cast(DirectoryBatchReads, directory)
    return None


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
