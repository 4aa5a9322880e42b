"""Routing explained: where a lead would go and why, without storing anything.

:meth:`LeadDesk.explain_routing <qleads.desk.LeadDesk.explain_routing>` answers with a
:class:`RoutingExplanation`: the territory and sales rep a postal code routes to (R1:
longest prefix), the policy that holds there (the global one with the territory's
override, :mod:`qleads.policies`), every installer the directory knows with whether he
would see the lead (R2) and could claim it (the claim limits, :mod:`qleads.limits`) and
why not, and the deadlines that would run with their dates on each one's calendar (R3,
R5, R9). :func:`explanation_lines` says it in German or English for the portal and the
command line.
"""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

import attrs

from qleads.model import Policy, SalesRep, Territory
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = ["InstallerRouting", "RoutingExplanation", "RoutingReason", "explanation_lines"]


class RoutingReason(enum.Enum):
    """Why an installer would not see the lead, or could not claim it."""

    OTHER_TERRITORY = "other_territory"
    DEACTIVATED = "deactivated"
    PAUSED = "paused"
    AT_CAPACITY = "at_capacity"
    DAILY_LIMIT = "daily_limit"
    COOLDOWN = "cooldown"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        return translation(language).gettext(_REASON_LABELS[self])


_REASON_LABELS = {
    RoutingReason.OTHER_TERRITORY: N_("anderes Gebiet"),
    RoutingReason.DEACTIVATED: N_("deaktiviert"),
    RoutingReason.PAUSED: N_("vom Reservieren pausiert"),
    RoutingReason.AT_CAPACITY: N_("Höchstzahl offener Reservierungen erreicht"),
    RoutingReason.DAILY_LIMIT: N_("Tageslimit erreicht"),
    RoutingReason.COOLDOWN: N_("Sperrfrist nach Freigabe"),
}

#: Reasons that hide the lead from him (R2); the others let him see it but not claim it.
HIDING = frozenset({RoutingReason.OTHER_TERRITORY, RoutingReason.DEACTIVATED})


@attrs.frozen
class InstallerRouting:
    """One installer's side: ``reason`` is why he would not see it or could not claim
    it (``None``: he could claim it), ``until`` when that ends, if it does. The dates
    are his deadlines were he to take the lead now: the claim hold (R3), or, assigned
    by the rep, the reminder (R5) and the escalation if the policy has one."""

    installer_id: str
    name: str
    reason: RoutingReason | None = None
    until: dt.datetime | None = None
    hold_until: dt.datetime | None = None
    reminder_at: dt.datetime | None = None
    escalation_at: dt.datetime | None = None

    @property
    def sees(self) -> bool:
        return self.reason not in HIDING

    @property
    def can_claim(self) -> bool:
        return self.reason is None


@attrs.frozen
class RoutingExplanation:
    """Where a lead with ``postal_code`` in ``country`` would go at ``at`` (nothing is
    stored): ``territory`` and ``rep`` (``None``: unrouted, admins see it, R1), the
    ``policy`` that holds there and the settings its territory ``overrides``, and every
    installer's side, those who would see it first."""

    country: str
    postal_code: str
    at: dt.datetime
    territory: Territory | None
    rep: SalesRep | None
    policy: Policy
    overrides: dict[str, object]
    installers: tuple[InstallerRouting, ...]

    @property
    def notified(self) -> tuple[str, ...]:
        """The installers told of the new lead (R10): every one who would see it."""
        return tuple(row.installer_id for row in self.installers if row.sees)


def _when(instant: dt.datetime | None, language: str, zone: str) -> str:
    if instant is None:
        return "-"
    local = instant.astimezone(ZoneInfo(zone))
    pattern = "%d.%m.%Y %H:%M" if language.startswith("de") else "%Y-%m-%d %H:%M"
    return local.strftime(pattern)


def explanation_lines(
    explanation: RoutingExplanation, language: str = SOURCE_LANGUAGE, zone: str = "Europe/Berlin"
) -> list[str]:
    """The explanation as lines of text in ``language``, instants in ``zone``."""
    _ = translation(language).gettext
    lines = [
        _("Postleitzahl: $code ($country)")
        .replace("$code", explanation.postal_code)
        .replace("$country", explanation.country)
    ]
    if explanation.territory is None:
        lines.append(_("Kein Gebiet: die Anfrage bliebe ohne Zuordnung (Liste der Admins)."))
    else:
        rep = explanation.rep.name if explanation.rep is not None else explanation.territory.rep_id
        lines.append(
            _("Gebiet: $territory, Vertriebsmitarbeiter: $rep")
            .replace("$territory", explanation.territory.name)
            .replace("$rep", rep)
        )
    if explanation.overrides:
        names = ", ".join(f"{k}={v}" for k, v in sorted(explanation.overrides.items()))
        lines.append(_("Abweichende Regeln des Gebiets: $settings").replace("$settings", names))
    for row in explanation.installers:
        if row.can_claim:
            status = _("sieht sie und kann reservieren")
        elif row.sees:
            status = _("sieht sie, kann nicht reservieren: $reason").replace(
                "$reason", row.reason.label(language) if row.reason else ""
            )
        else:
            status = _("sieht sie nicht: $reason").replace(
                "$reason", row.reason.label(language) if row.reason else ""
            )
        if row.until is not None:
            status += " " + _("(bis $when)").replace("$when", _when(row.until, language, zone))
        lines.append(f"- {row.name} ({row.installer_id}): {status}")
        if row.sees:
            deadlines = (
                _("Reservierung bis $hold; zugeteilt: Erinnerung $remind")
                .replace("$hold", _when(row.hold_until, language, zone))
                .replace("$remind", _when(row.reminder_at, language, zone))
            )
            if row.escalation_at is not None:
                deadlines += ", " + _("Eskalation $when").replace(
                    "$when", _when(row.escalation_at, language, zone)
                )
            lines.append(f"  {deadlines}")
    return lines
