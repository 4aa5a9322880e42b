"""Claim limits (beyond the manual): how much one installer may hold and take.

The policy (:class:`~qleads.model.Policy`) sets four limits, each off while ``None``:

* ``max_open_claims`` — at most this many leads ``claimed`` by him at once (assigned
  leads do not count: his rep chose to give them to him);
* ``max_claims_per_day`` — at most this many claims per business day of his calendar
  (R9), counted from 00:00 of his local day;
* ``reclaim_cooldown_days`` — a lead he released (R7) or let expire (R4) may be claimed
  by him again only this many business days later;
* ``pause_after_expiries`` — when that many of his claims expired within
  ``pause_window_days`` calendar days, he is paused from claiming for ``pause_days``
  business days, his rep is told, and the rep or an admin may lift the pause.

This module holds the rules as pure functions over what storage reports about an
installer (:class:`ClaimStanding`); :class:`~qleads.desk.LeadDesk` reads that in the
claim's own unit of work, so a limit holds however claims interleave (R3, R12). Each
refusal is its own :class:`~qleads.errors.ClaimRefused` with the instant he may claim
again; :func:`refusal_text` says it in the installer's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import attrs

from qleads.calendar import Calendar
from qleads.errors import (
    ClaimCooldown,
    ClaimingPaused,
    ClaimLimitReached,
    ClaimRefused,
    DailyClaimLimitReached,
)
from qleads.model import EventKind, HistoryEvent, Policy
from qleads.texts import N_, translation

__all__ = [
    "ClaimAllowance",
    "ClaimPause",
    "ClaimStanding",
    "allowance",
    "cooldown_until",
    "day_start",
    "expiries_since",
    "left_text",
    "limits_active",
    "next_day_start",
    "pause_due",
    "refusal",
    "refusal_text",
]


@attrs.frozen
class ClaimPause:
    """An installer paused from claiming: from ``since`` until ``until``, unless
    ``lifted_at`` (by ``lifted_by``, his rep or an admin) ended it sooner. Storage keeps
    the latest pause of each installer."""

    installer_id: str
    since: dt.datetime
    until: dt.datetime
    lifted_at: dt.datetime | None = None
    lifted_by: str | None = None

    def active(self, now: dt.datetime) -> bool:
        """Whether it still stops him from claiming at ``now``."""
        return self.lifted_at is None and self.since <= now < self.until

    @property
    def ended_at(self) -> dt.datetime:
        """When it stopped counting: lifted, or run out."""
        return self.lifted_at if self.lifted_at is not None else self.until


@attrs.frozen
class ClaimStanding:
    """What storage reports about one installer's claiming at one instant.

    ``open_claims`` are the leads ``claimed`` by him, ``earliest_hold`` the first of
    their holds to run out; ``claims_today`` his claims since the start of his business
    day; ``expiries`` his expired claims in the pause window; ``pause`` his latest pause.
    """

    open_claims: int = 0
    earliest_hold: dt.datetime | None = None
    claims_today: int = 0
    expiries: int = 0
    pause: ClaimPause | None = None


@attrs.frozen
class ClaimAllowance:
    """What an installer may still claim, as a portal shows it next to the claim button:
    ``open_left`` and ``today_left`` (``None``: no limit), and the refusal that applies
    to every lead now (paused, at capacity, daily limit), if any."""

    open_left: int | None
    today_left: int | None
    refused: ClaimRefused | None

    @property
    def left(self) -> int | None:
        """How many more he may claim right now ("noch N Reservierungen frei")."""
        if self.refused is not None:
            return 0
        known = [n for n in (self.open_left, self.today_left) if n is not None]
        return min(known) if known else None


def limits_active(policy: Policy) -> bool:
    """Whether any claim limit is on (with none, a claim reads nothing more)."""
    return any(
        value is not None
        for value in (
            policy.max_open_claims,
            policy.max_claims_per_day,
            policy.reclaim_cooldown_days,
            policy.pause_after_expiries,
        )
    )


def day_start(calendar: Calendar, now: dt.datetime) -> dt.datetime:
    """00:00 of ``now``'s local day on ``calendar``, in UTC: where the daily limit
    starts counting."""
    zone = ZoneInfo(calendar.tz or "UTC")
    local = now.astimezone(zone)
    midnight = dt.datetime(local.year, local.month, local.day, tzinfo=zone)
    return midnight.astimezone(dt.UTC)


def next_day_start(calendar: Calendar, now: dt.datetime) -> dt.datetime:
    """00:00 of the next business day after ``now``'s local day: when a daily limit
    reached today lets him claim again (R9)."""
    midnight = day_start(calendar, now)
    local = midnight.astimezone(ZoneInfo(calendar.tz or "UTC"))
    if calendar.is_business_day(local.date()):
        return calendar.add_business_days(midnight, 1)
    return calendar.add_business_days(midnight, 0)


def expiries_since(policy: Policy, pause: ClaimPause | None, now: dt.datetime) -> dt.datetime:
    """From when his expiries count towards a pause: the window's start, or the end of
    his last pause if later (an expiry that paused him once does not pause him again)."""
    start = now - dt.timedelta(days=policy.pause_window_days)
    if pause is not None and pause.since > start:
        return min(pause.since, now)
    return start


def cooldown_until(
    history: Sequence[HistoryEvent], installer_id: str, calendar: Calendar, days: int
) -> dt.datetime | None:
    """When ``installer_id`` may claim this lead again after he last released it or let
    it expire: that moment plus ``days`` business days of his calendar; ``None`` if he
    never gave it back."""
    last: dt.datetime | None = None
    for event in history:
        if event.kind in (EventKind.RELEASED, EventKind.EXPIRED) and (
            event.holder_id == installer_id
        ):
            last = event.recorded_at
    if last is None:
        return None
    return calendar.add_business_days(last, days)


def refusal(
    policy: Policy,
    installer_id: str,
    lead_id: int | None,
    standing: ClaimStanding,
    calendar: Calendar,
    now: dt.datetime,
    cooldown: dt.datetime | None = None,
) -> ClaimRefused | None:
    """The first limit that refuses a claim at ``now``, or ``None``: a pause, then the
    open claims, then the day's claims, then the lead's cool-down (``cooldown``: from
    :func:`cooldown_until`)."""
    pause = standing.pause
    if policy.pause_after_expiries is not None and pause is not None and pause.active(now):
        return ClaimingPaused(
            installer_id, lead_id, "paused after too many expired claims", pause.until
        )
    if policy.max_open_claims is not None and standing.open_claims >= policy.max_open_claims:
        return ClaimLimitReached(
            installer_id,
            lead_id,
            f"holds {standing.open_claims} open claims (at most {policy.max_open_claims})",
            standing.earliest_hold,
        )
    if policy.max_claims_per_day is not None and (
        standing.claims_today >= policy.max_claims_per_day
    ):
        return DailyClaimLimitReached(
            installer_id,
            lead_id,
            f"claimed {standing.claims_today} leads today (at most {policy.max_claims_per_day})",
            next_day_start(calendar, now),
        )
    if cooldown is not None and now < cooldown:
        return ClaimCooldown(installer_id, lead_id, "gave this lead back too recently", cooldown)
    return None


def allowance(
    policy: Policy, installer_id: str, standing: ClaimStanding, calendar: Calendar, now: dt.datetime
) -> ClaimAllowance:
    """What he may still claim at ``now`` (the cool-down, which is per lead, aside)."""
    open_left = (
        None
        if policy.max_open_claims is None
        else max(0, policy.max_open_claims - standing.open_claims)
    )
    today_left = (
        None
        if policy.max_claims_per_day is None
        else max(0, policy.max_claims_per_day - standing.claims_today)
    )
    refused = refusal(policy, installer_id, None, standing, calendar, now)
    return ClaimAllowance(open_left=open_left, today_left=today_left, refused=refused)


def pause_due(policy: Policy, standing: ClaimStanding, now: dt.datetime) -> bool:
    """Whether his expiries (counted from :func:`expiries_since`) now pause him: the
    policy pauses, he is not paused already, and he reached the count."""
    if policy.pause_after_expiries is None:
        return False
    if standing.pause is not None and standing.pause.active(now):
        return False
    return standing.expiries >= policy.pause_after_expiries


#: Why a claim is refused, by error code: the portal's words (German message ids).
_REASONS = {
    ClaimingPaused.code: N_(
        "Sie sind nach zu vielen abgelaufenen Reservierungen bis $until vom Reservieren "
        "pausiert. Ihr Vertriebsmitarbeiter kann die Pause aufheben."
    ),
    ClaimLimitReached.code: N_(
        "Sie haben bereits die höchstmögliche Zahl offener Reservierungen. Erfassen Sie einen "
        "Status oder geben Sie eine Anfrage frei; spätestens ab $until wird wieder eine frei."
    ),
    DailyClaimLimitReached.code: N_(
        "Sie haben heute bereits die höchstmögliche Zahl an Anfragen reserviert. "
        "Wieder möglich ab $until."
    ),
    ClaimCooldown.code: N_(
        "Sie haben diese Anfrage kürzlich freigegeben oder ablaufen lassen. "
        "Erneut reservierbar ab $until."
    ),
}
_UNKNOWN_REASON = N_("Reservieren ist derzeit nicht möglich.")
_LEFT = N_("noch $n Reservierungen frei")


def refusal_text(error: ClaimRefused, language: str, zone: str = "Europe/Berlin") -> str:
    """Why ``error`` refused the claim and until when, in ``language`` (German by
    default, English from the catalog), the instant shown in ``zone``."""
    words = translation(language)
    message = words.gettext(_REASONS.get(error.code, _UNKNOWN_REASON))
    until = "-"
    if error.until is not None:
        local = error.until.astimezone(ZoneInfo(zone))
        until = (
            local.strftime("%d.%m.%Y %H:%M")
            if language.startswith("de")
            else (local.strftime("%Y-%m-%d %H:%M"))
        )
    return message.replace("$until", until)


def left_text(left: int, language: str) -> str:
    """ "noch N Reservierungen frei" in ``language``."""
    return translation(language).gettext(_LEFT).replace("$n", str(left))
