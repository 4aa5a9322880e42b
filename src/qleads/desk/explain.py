"""Routing explained on the desk: :meth:`ExplainDesk.explain_routing` works out what
intake (R1), visibility (R2), the claim limits and the deadlines (R3, R5, R9) would do
with a lead, reading storage but writing nothing (:mod:`qleads.explain`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from qleads import limits
from qleads.desk.base import DeskBase, current_time
from qleads.desk.limits import standing_of
from qleads.desk.policies import effective_policy
from qleads.errors import (
    ClaimingPaused,
    ClaimLimitReached,
    DailyClaimLimitReached,
    InvalidInput,
    NotPermitted,
)
from qleads.explain import InstallerRouting, RoutingExplanation, RoutingReason
from qleads.intake import parse_document
from qleads.model import Actor, Admin, Installer, LeadDocument, Policy, SalesRep, Territory
from qleads.ports import UnitOfWork
from qleads.routing import route

__all__ = ["ExplainDesk"]

_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z -]{1,9}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REASONS = {
    ClaimingPaused.code: RoutingReason.PAUSED,
    ClaimLimitReached.code: RoutingReason.AT_CAPACITY,
    DailyClaimLimitReached.code: RoutingReason.DAILY_LIMIT,
}


class ExplainDesk(DeskBase):
    """:meth:`explain_routing`."""

    def explain_routing(
        self,
        actor: Actor,
        document: LeadDocument | Mapping[str, object] | None = None,
        *,
        postal_code: str | None = None,
        country: str = "DE",
    ) -> RoutingExplanation:
        """Where a lead would go now and why, storing nothing: give the whole
        ``document`` (a :class:`~qleads.model.LeadDocument`, or the JSON object the
        calculator sends, validated as intake does, R1) or only its ``postal_code``
        (and ``country``). Admins and sales reps may ask (R12): an admin hears of every
        installer, a rep of his own only. A bad document raises
        :class:`~qleads.errors.InvalidDocument`, a bad postal code
        :class:`~qleads.errors.InvalidInput`."""
        if not isinstance(actor, Admin | SalesRep):
            raise NotPermitted(actor.id, "explain routing")
        now = current_time(self.clock)
        if document is not None:
            parsed = document if isinstance(document, LeadDocument) else parse_document(document)
            country, code = parsed.contact.country, parsed.contact.postal_code
        elif postal_code is not None:
            code = postal_code.strip() if isinstance(postal_code, str) else ""
            if not _CODE.fullmatch(code):
                raise InvalidInput("postal_code", "must be 2 to 10 letters, digits or spaces")
            if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
                raise InvalidInput("country", "must be an ISO 3166-1 alpha-2 code such as 'DE'")
        else:
            raise InvalidInput("postal_code", "give a postal code or a whole document")
        territories = self.directory.territories()
        territory = route(country, code, territories)
        rep = self.directory.rep(territory.rep_id) if territory is not None else None
        policy = effective_policy(self, territory.id if territory is not None else None)
        overrides = (
            dict((self.territory_policies or {}).get(territory.id, {}))
            if territory is not None
            else {}
        )
        team: list[Installer] = []
        seen: set[str] = set()
        # A rep learns where a code routes, but of the installers only his own (R12).
        reps = (
            [actor.id] if isinstance(actor, SalesRep) else sorted({t.rep_id for t in territories})
        )
        for rep_id in reps:
            for installer in self.directory.installers_of(rep_id):
                if installer.id not in seen:
                    seen.add(installer.id)
                    team.append(installer)
        rows: list[InstallerRouting] = []
        with self.repository.unit_of_work() as uow:
            for installer in team:
                rows.append(self._side(uow, installer, territory, policy, now))
        rows.sort(key=lambda row: (not row.sees, row.reason is not None, row.installer_id))
        return RoutingExplanation(
            country=country,
            postal_code=code,
            at=now,
            territory=territory,
            rep=rep,
            policy=policy,
            overrides=overrides,
            installers=tuple(rows),
        )

    def _side(
        self,
        uow: UnitOfWork,
        installer: Installer,
        territory: Territory | None,
        policy: Policy,
        now: dt.datetime,
    ) -> InstallerRouting:
        """His side: hidden (R2), refused by a limit, or free to claim, and his dates."""
        if territory is None or installer.rep_id != territory.rep_id:
            return InstallerRouting(installer.id, installer.name, RoutingReason.OTHER_TERRITORY)
        if not installer.active:
            return InstallerRouting(installer.id, installer.name, RoutingReason.DEACTIVATED)
        calendar = installer.calendar
        hold = calendar.add_business_days(now, policy.claim_hold_days)
        remind = calendar.add_business_days(now, policy.assignment_reminder_days)
        escalate = (
            calendar.add_business_days(remind, policy.escalation_days)
            if policy.escalation_days is not None
            else None
        )
        reason = None
        until = None
        if limits.limits_active(policy):
            standing = standing_of(uow, policy, installer, now)
            refused = limits.refusal(policy, installer.id, None, standing, calendar, now)
            if refused is not None:
                reason, until = _REASONS.get(refused.code), refused.until
        return InstallerRouting(
            installer.id,
            installer.name,
            reason,
            until,
            hold_until=hold,
            reminder_at=remind,
            escalation_at=escalate,
        )
