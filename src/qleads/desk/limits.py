"""Claim limits on the desk (:mod:`qleads.limits`): the check inside a claim's unit of
work, the pause the sweep sets after too many expiries, and the use cases around them —
what an installer may still claim, why a claim would be refused, lifting a pause.

The check runs in the claim's own unit of work, which on SQLite holds the write lock and
on PostgreSQL takes a transaction-scoped advisory lock on the installer before it counts
(:meth:`UnitOfWork.claim_standing <qleads.ports.UnitOfWork.claim_standing>`), so two
claims of one installer cannot both pass a limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs

from qleads import limits
from qleads.desk.base import DeskBase, current_time, scope_of
from qleads.desk.changes import Change
from qleads.desk.policies import effective_policy
from qleads.errors import ClaimRefused, InvalidInput, LeadNotFound, NotPermitted
from qleads.limits import ClaimAllowance, ClaimPause, ClaimStanding
from qleads.model import (
    Actor,
    Admin,
    EventKind,
    Installer,
    Lead,
    Notification,
    NotificationKind,
    Policy,
    SalesRep,
)
from qleads.ports import Directory, UnitOfWork
from qleads.visibility import can_see

__all__ = ["ClaimLimitsDesk", "enforce_claim_limits", "pause_after_expiries", "standing_of"]


def standing_of(
    uow: UnitOfWork, policy: Policy, installer: Installer, now: dt.datetime
) -> ClaimStanding:
    """What ``uow`` knows of ``installer``'s claiming at ``now``, his pause included."""
    pause = uow.claim_pause(installer.id)
    standing = uow.claim_standing(
        installer.id,
        claims_since=limits.day_start(installer.calendar, now),
        expiries_since=limits.expiries_since(policy, pause, now),
    )
    return attrs.evolve(standing, pause=pause)


def _refusal(
    uow: UnitOfWork, policy: Policy, installer: Installer, lead: Lead, now: dt.datetime
) -> ClaimRefused | None:
    standing = standing_of(uow, policy, installer, now)
    cooldown = None
    if policy.reclaim_cooldown_days is not None and installer.id in lead.previous_holders:
        cooldown = limits.cooldown_until(
            uow.history(lead.id), installer.id, installer.calendar, policy.reclaim_cooldown_days
        )
    return limits.refusal(
        policy, installer.id, lead.id, standing, installer.calendar, now, cooldown
    )


def enforce_claim_limits(
    uow: UnitOfWork, policy: Policy, installer: Installer, lead: Lead, now: dt.datetime
) -> None:
    """Raise the :class:`~qleads.errors.ClaimRefused` that ``policy``'s limits give
    ``installer`` for claiming ``lead`` now, if any; with every limit off, read nothing."""
    if not limits.limits_active(policy):
        return
    refused = _refusal(uow, policy, installer, lead, now)
    if refused is not None:
        raise refused


def pause_after_expiries(
    uow: UnitOfWork,
    changes: Sequence[Change],
    now: dt.datetime,
    policy_for: Callable[[str | None], Policy],
    directory: Directory,
) -> tuple[Notification, ...]:
    """After ``changes`` (their events already appended to ``uow``): pause every former
    holder of an expired claim among them whose expiries reached the policy's count, and
    the notices to their reps. Call it in the unit of work that fired the expiries."""
    expired: dict[str, Lead] = {}
    for change in changes:
        event = change.event
        if event.kind is EventKind.EXPIRED and event.holder_id is not None:
            expired[event.holder_id] = change.lead
    notices: list[Notification] = []
    for installer_id, lead in expired.items():
        policy = policy_for(lead.territory_id)
        if policy.pause_after_expiries is None:
            continue
        installer = directory.installer(installer_id)
        if installer is None:
            continue
        standing = standing_of(uow, policy, installer, now)
        if not limits.pause_due(policy, standing, now):
            continue
        until = installer.calendar.add_business_days(now, policy.pause_days)
        uow.save_claim_pause(ClaimPause(installer.id, since=now, until=until))
        notices.append(
            Notification.for_lead(
                NotificationKind.CLAIMING_PAUSED, lead, installer.rep_id, now, deadline_at=until
            )
        )
    return tuple(notices)


class ClaimLimitsDesk(DeskBase):
    """:meth:`claim_allowance`, :meth:`claim_refusal`, :meth:`claim_pause_of` and
    :meth:`lift_claim_pause`."""

    def claim_allowance(self, installer: Actor, territory_id: str | None = None) -> ClaimAllowance:
        """What ``installer`` may still claim now under the policy of ``territory_id``
        (the global one if omitted): how many more, and the refusal that stops every
        claim (paused, at capacity, daily limit), if one does."""
        if not isinstance(installer, Installer):
            raise NotPermitted(installer.id, "claim leads")
        policy = effective_policy(self, territory_id)
        now = current_time(self.clock)
        if not limits.limits_active(policy):
            return ClaimAllowance(open_left=None, today_left=None, refused=None)
        with self.repository.unit_of_work() as uow:
            standing = standing_of(uow, policy, installer, now)
        return limits.allowance(policy, installer.id, standing, installer.calendar, now)

    def claim_refusal(self, installer: Actor, lead_id: int) -> ClaimRefused | None:
        """Why a claim of ``lead_id`` by ``installer`` would be refused by the claim
        limits now, or ``None``; stores nothing. A lead he may not see is not found (R2)."""
        if not isinstance(installer, Installer):
            raise NotPermitted(installer.id, "claim leads")
        scope = scope_of(self.directory, installer)
        now = current_time(self.clock)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            policy = effective_policy(self, lead.territory_id, uow)
            if not limits.limits_active(policy):
                return None
            return _refusal(uow, policy, installer, lead, now)

    def claim_pause_of(self, actor: Actor, installer_id: str) -> ClaimPause | None:
        """The installer's latest pause (lifted or run out ones too): for himself, his
        rep and admins (R12)."""
        target = self._pausable(actor, installer_id, "read the claim pause of")
        with self.repository.unit_of_work() as uow:
            return uow.claim_pause(target.id)

    def lift_claim_pause(self, actor: Actor, installer_id: str) -> ClaimPause:
        """End the installer's pause now: his rep or an admin (R12). Refused with
        :class:`~qleads.errors.InvalidInput` when he is not paused."""
        if not isinstance(actor, SalesRep | Admin):
            raise NotPermitted(actor.id, f"lift the claim pause of {installer_id}")
        target = self._pausable(actor, installer_id, "lift the claim pause of")
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            pause = uow.claim_pause(target.id)
            if pause is None or not pause.active(now):
                raise InvalidInput("installer", f"{installer_id} is not paused from claiming")
            lifted = attrs.evolve(pause, lifted_at=now, lifted_by=actor.id)
            uow.save_claim_pause(lifted)
            uow.commit()
        return lifted

    def _pausable(self, actor: Actor, installer_id: str, action: str) -> Installer:
        target = self.directory.installer(installer_id)
        if target is None:
            raise InvalidInput("installer", f"no installer {installer_id!r}")
        allowed = (
            isinstance(actor, Admin)
            or (isinstance(actor, SalesRep) and target.rep_id == actor.id)
            or (isinstance(actor, Installer) and actor.id == installer_id)
        )
        if not allowed:
            raise NotPermitted(actor.id, f"{action} {installer_id}")
        return target
