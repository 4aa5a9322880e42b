"""The partner scorecard: how one installer handled his leads in a period.

Everything is counted from the history (R13) — storage groups an installer's events of
the period (:class:`EventCount`) and pairs each of his claims and assignments with his
first record after it (:class:`Holding`), by SQL on a database — and this module turns
that into a :class:`Scorecard`:

* ``received`` — leads that arrived in the period in his rep's territories (his pool);
* ``claimed``, ``assigned`` — his claims (R3) and the assignments to him (R5);
* time to first contact — from a claim or assignment to his first recorded status on
  that lead, in *business hours* of his calendar (R9: only the hours of his business
  days count, so a claim on Friday evening answered on Monday morning took the hours of
  Monday's morning only), as median and 90th percentile;
* ``contacted_in_time`` — the share of claims and assignments whose first status came
  within the first deadline (the claim hold for a claim, the assignment reminder for an
  assignment: the policy's ``claim_hold_days`` and ``assignment_reminder_days``);
* ``offers``, ``orders`` (and ``conversion``: orders per claim or assignment),
  ``releases`` by reason (R7) and ``expiries`` (R4).

The period is half-open, ``[start, end)``, on when the events were recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import attrs

from qleads.calendar import Calendar
from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.model import EventKind, Policy, ReleaseReason
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = [
    "COLUMNS",
    "COUNTED_KINDS",
    "EventCount",
    "Holding",
    "Scorecard",
    "business_hours",
    "column_label",
    "percentile",
    "scorecard",
    "sorted_cards",
]

#: The kinds of event a scorecard counts (storage counts no others).
COUNTED_KINDS: frozenset[EventKind] = frozenset(
    {
        EventKind.CLAIMED,
        EventKind.ASSIGNED,
        EventKind.REASSIGNED,
        EventKind.RECORDED,
        EventKind.RELEASED,
        EventKind.EXPIRED,
    }
)

#: A release without a reason is counted under this key.
NO_REASON = "none"


@attrs.frozen
class EventCount:
    """How many of the installer's events of the period have this kind, status reached
    and release reason (storage's grouping)."""

    installer_id: str
    kind: EventKind
    to_status: Status
    reason: ReleaseReason | None
    count: int


@attrs.frozen
class Holding:
    """One claim or assignment of his in the period and his first record on that lead
    after it (its effective date), if any."""

    installer_id: str
    lead_id: int
    kind: EventKind
    started_at: dt.datetime
    first_record_at: dt.datetime | None


@attrs.frozen
class Scorecard:
    """One installer's figures for ``[start, end)``; see the module docstring."""

    installer_id: str
    name: str
    start: dt.datetime
    end: dt.datetime
    received: int = 0
    claimed: int = 0
    assigned: int = 0
    contacted: int = 0
    first_contact_median_hours: float | None = None
    first_contact_p90_hours: float | None = None
    contacted_in_time: float | None = None
    offers: int = 0
    orders: int = 0
    releases: dict[str, int] = attrs.field(factory=dict)
    expiries: int = 0

    @property
    def taken(self) -> int:
        """Claims and assignments: the leads he had to work."""
        return self.claimed + self.assigned

    @property
    def conversion(self) -> float | None:
        """Orders per lead taken; ``None`` without any."""
        return self.orders / self.taken if self.taken else None

    @property
    def released(self) -> int:
        return sum(self.releases.values())


#: The columns a list of scorecards can be sorted by, in the order a table shows them.
COLUMNS: tuple[str, ...] = (
    "name",
    "received",
    "claimed",
    "assigned",
    "first_contact_median_hours",
    "first_contact_p90_hours",
    "contacted_in_time",
    "offers",
    "orders",
    "conversion",
    "released",
    "expiries",
)

_LABELS = {
    "name": N_("Installateur"),
    "received": N_("Erhalten"),
    "claimed": N_("Beansprucht"),
    "assigned": N_("Zugeteilt"),
    "first_contact_median_hours": N_("Erstkontakt Median (Std.)"),
    "first_contact_p90_hours": N_("Erstkontakt P90 (Std.)"),
    "contacted_in_time": N_("Rechtzeitig kontaktiert"),
    "offers": N_("Angebote"),
    "orders": N_("Bestellungen"),
    "conversion": N_("Abschlussquote"),
    "released": N_("Freigegeben"),
    "expiries": N_("Abgelaufen"),
}


def column_label(column: str, language: str = SOURCE_LANGUAGE) -> str:
    """A column's heading in ``language``."""
    return translation(language).gettext(_LABELS[column])


def sorted_cards(
    cards: Iterable[Scorecard], column: str, *, descending: bool = False
) -> list[Scorecard]:
    """``cards`` sorted by ``column`` (one of :data:`COLUMNS`); cards without a value
    (no contact yet) go last either way, ties by installer id. An unknown column raises
    :class:`~qleads.errors.InvalidInput`."""
    if column not in COLUMNS:
        raise InvalidInput("sort", f"unknown column {column!r}: one of {', '.join(COLUMNS)}")
    listed = sorted(cards, key=lambda card: card.installer_id)
    present = [c for c in listed if getattr(c, column) is not None]
    missing = [c for c in listed if getattr(c, column) is None]
    present.sort(key=lambda card: getattr(card, column), reverse=descending)
    return present + missing


def business_hours(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """The hours between ``start`` and ``end`` that fall on business days of
    ``calendar`` (R9), each local day counted in its own length (DST days too)."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(calendar.tz or "UTC")
    total = 0.0
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if calendar.is_business_day(day):
            day_start = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
            following = day + dt.timedelta(days=1)
            day_end = dt.datetime(following.year, following.month, following.day, tzinfo=zone)
            lower = max(start, day_start.astimezone(dt.UTC))
            upper = min(end, day_end.astimezone(dt.UTC))
            if upper > lower:
                total += (upper - lower).total_seconds() / 3600
        day += dt.timedelta(days=1)
    return total


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile (0.5: the median) by linear interpolation between the
    closest ranks; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def scorecard(
    installer_id: str,
    name: str,
    calendar: Calendar,
    policy: Policy,
    start: dt.datetime,
    end: dt.datetime,
    *,
    received: int,
    counts: Iterable[EventCount],
    holdings: Iterable[Holding],
) -> Scorecard:
    """His scorecard from what storage counted (only his rows are read)."""
    claimed = assigned = offers = orders = expiries = 0
    releases: dict[str, int] = {}
    for row in counts:
        if row.installer_id != installer_id:
            continue
        if row.kind is EventKind.CLAIMED:
            claimed += row.count
        elif row.kind in (EventKind.ASSIGNED, EventKind.REASSIGNED):
            assigned += row.count
        elif row.kind is EventKind.EXPIRED:
            expiries += row.count
        elif row.kind is EventKind.RELEASED:
            key = row.reason.value if row.reason is not None else NO_REASON
            releases[key] = releases.get(key, 0) + row.count
        elif row.kind is EventKind.RECORDED and row.to_status is Status.OFFER_SENT:
            offers += row.count
        elif row.kind is EventKind.RECORDED and row.to_status is Status.ORDER_PLACED:
            orders += row.count
    hours: list[float] = []
    in_time = started = 0
    for holding in holdings:
        if holding.installer_id != installer_id:
            continue
        started += 1
        if holding.first_record_at is None:
            continue
        hours.append(business_hours(calendar, holding.started_at, holding.first_record_at))
        days = (
            policy.claim_hold_days
            if holding.kind is EventKind.CLAIMED
            else policy.assignment_reminder_days
        )
        if holding.first_record_at <= calendar.add_business_days(holding.started_at, days):
            in_time += 1
    return Scorecard(
        installer_id=installer_id,
        name=name,
        start=start,
        end=end,
        received=received,
        claimed=claimed,
        assigned=assigned,
        contacted=len(hours),
        first_contact_median_hours=percentile(hours, 0.5),
        first_contact_p90_hours=percentile(hours, 0.9),
        contacted_in_time=in_time / started if started else None,
        offers=offers,
        orders=orders,
        releases=dict(sorted(releases.items())),
        expiries=expiries,
    )
