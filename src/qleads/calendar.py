"""Business-day arithmetic for deadlines (R9 in docs/rules.md).

Every deadline of the product is counted in business days of somebody's
calendar: the claim hold (R3, "mindestens zwei Tage"), the assignment reminder
(R5) and the optional escalation.  Business days differ by place: Saxony keeps
Buß- und Bettag, Bavaria does not; the legal "Werktage" reading counts
Saturdays.  So a :class:`Calendar` is a country, a subdivision (Bundesland),
working weekdays and a time zone, with public holidays from the ``holidays``
package.

The rule (R9): ``t + n business days`` — if t's local date is a business day,
step forward n business days and keep t's local wall-clock time; otherwise
count from 00:00 of the next business day.  The local result is converted to
UTC, because every instant is stored in UTC.

The sweep (R11) and the tab rows (R8) compute deadlines often, so the holidays
of a (country, subdivision, year) are computed once and cached, and each year's
business days are kept as a sorted tuple of ordinals: adding n business days
is a binary search and an index step, never a day-by-day walk.
"""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays

from qleads.errors import InvalidCalendar, InvalidInput
from qleads.instants import require_utc

__all__ = ["DEFAULT_TIME_ZONES", "Calendar"]

#: Time zone used when a calendar names none.  Only countries that lie in a
#: single IANA zone are listed; for any other country ``tz`` must be given.
DEFAULT_TIME_ZONES: dict[str, str] = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LI": "Europe/Vaduz",
    "LU": "Europe/Luxembourg",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
}

_MON_TO_FRI: frozenset[int] = frozenset({0, 1, 2, 3, 4})
_UTC = dt.UTC


@functools.cache
def _supported() -> dict[str, frozenset[str]]:
    """Country code -> subdivision codes known to the ``holidays`` package."""
    return {
        country: frozenset(subdivisions)
        for country, subdivisions in holidays.list_supported_countries(
            include_aliases=False
        ).items()
    }


@functools.lru_cache(maxsize=2048)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[dt.date]:
    """The public holidays of one year, computed once per (country, subdivision, year)."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


@functools.lru_cache(maxsize=2048)
def _business_ordinals(
    country: str, subdivision: str | None, workdays: frozenset[int], year: int
) -> tuple[int, ...]:
    """The business days of one year as sorted date ordinals (never empty)."""
    days_off = _holidays(country, subdivision, year)
    first = dt.date(year, 1, 1).toordinal()
    last = dt.date(year, 12, 31).toordinal()
    weekday = dt.date(year, 1, 1).weekday()
    ordinals: list[int] = []
    for ordinal in range(first, last + 1):
        if weekday in workdays and dt.date.fromordinal(ordinal) not in days_off:
            ordinals.append(ordinal)
        weekday = (weekday + 1) % 7
    return tuple(ordinals)


def _to_workdays(value: Iterable[int]) -> frozenset[int]:
    try:
        return frozenset(value)
    except TypeError:
        raise InvalidCalendar(
            "workdays",
            f"must be a set of weekday numbers (Mon=0 … Sun=6), got {value!r}",
        ) from None


@attrs.frozen
class Calendar:
    """Where a person works, and therefore which days count as business days (R9).

    ``country`` is an ISO 3166-1 alpha-2 code and ``subdivision`` one of its
    subdivision codes as the ``holidays`` package names them (``"SN"`` for
    Saxony).  ``workdays`` are Python weekday numbers (Mon=0 … Sun=6): Mon–Fri
    by default, ``frozenset(range(6))`` for the legal "Werktage" reading.
    ``tz`` is an IANA zone name; when omitted it is the country's zone (DE →
    Europe/Berlin), and after construction ``tz`` always holds the zone used.

    Raises :class:`qleads.errors.InvalidCalendar` for an unknown country or
    subdivision, empty workdays or weekday numbers outside 0..6, an unknown
    time zone, or a country without a default zone and no ``tz``.
    Calendars are values: equal fields mean equal calendars.
    """

    country: str = attrs.field(default="DE")
    subdivision: str | None = attrs.field(default=None)
    workdays: frozenset[int] = attrs.field(default=_MON_TO_FRI, converter=_to_workdays)
    tz: str | None = attrs.field(default=None)
    work_start: dt.time = attrs.field(default=dt.time(8))
    work_end: dt.time = attrs.field(default=dt.time(18))
    _zone: ZoneInfo = attrs.field(init=False, eq=False, repr=False)
    _years: dict[int, tuple[int, ...]] = attrs.field(init=False, eq=False, repr=False, factory=dict)

    @country.validator
    def _check_country(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if value not in _supported():
            raise InvalidCalendar(
                "country",
                f"unknown country {value!r}: expected an ISO 3166-1 alpha-2 code "
                "supported by the holidays package, such as 'DE'",
            )

    @subdivision.validator
    def _check_subdivision(
        self, _attribute: attrs.Attribute[str | None], value: str | None
    ) -> None:
        if value is None:
            return
        known = _supported()[self.country]
        if value not in known:
            raise InvalidCalendar(
                "subdivision",
                f"unknown subdivision {value!r} of country {self.country!r}: "
                f"expected one of {', '.join(sorted(known)) or '(none)'}",
            )

    @workdays.validator
    def _check_workdays(
        self, _attribute: attrs.Attribute[frozenset[int]], value: frozenset[int]
    ) -> None:
        if not value:
            raise InvalidCalendar("workdays", "must name at least one weekday")
        wrong = [
            day
            for day in value
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6
        ]
        if wrong:
            raise InvalidCalendar(
                "workdays",
                f"must be weekday numbers 0..6 (Mon=0 … Sun=6), got {wrong!r}",
            )

    @tz.validator
    def _check_tz(self, _attribute: attrs.Attribute[str | None], value: str | None) -> None:
        _zone_for(self.country, value)

    @work_end.validator
    def _check_hours(self, _attribute: attrs.Attribute[dt.time], value: dt.time) -> None:
        for name, hour in (("work_start", self.work_start), ("work_end", value)):
            if not isinstance(hour, dt.time) or hour.tzinfo is not None:
                raise InvalidCalendar(name, f"must be a local wall time, got {hour!r}")
        if not self.work_start < value:
            raise InvalidCalendar(
                "work_end",
                f"must lie after work_start ({self.work_start:%H:%M}), got {value:%H:%M}",
            )

    def __attrs_post_init__(self) -> None:
        zone = _zone_for(self.country, self.tz)
        object.__setattr__(self, "tz", zone.key)
        object.__setattr__(self, "_zone", zone)

    def is_business_day(self, d: dt.date) -> bool:
        """Whether ``d`` is a working weekday of this calendar and no public holiday."""
        return d.weekday() in self.workdays and d not in _holidays(
            self.country, self.subdivision, d.year
        )

    def add_business_days(self, instant: dt.datetime, n: int) -> dt.datetime:
        """``instant + n business days`` by R9, as an aware UTC ``datetime``.

        The instant is read in this calendar's time zone.  If its local date is
        a business day, the result is n business days later at the same local
        wall-clock time (n=0 returns the instant itself).  Otherwise counting
        starts at 00:00 of the next business day (n=0 returns that midnight).

        Local wall times are turned back into instants as follows:

        * a wall time that does not exist (the spring-forward gap) moves
          forward by the gap: 02:30 on the DST day in Berlin becomes 03:30;
        * an ambiguous wall time (the autumn fold) resolves to its first
          occurrence, the earlier, summer-time instant (``fold=0``).

        The result is a plain ``datetime.datetime`` with ``datetime.timezone.utc``
        as tzinfo, whatever datetime subclass came in.

        Raises :class:`qleads.errors.InvalidInput` (a ``ValueError``) for a
        naive ``instant`` or a negative ``n``.
        """
        require_utc("instant", instant)
        if n < 0:
            raise InvalidInput("n", f"must be zero or positive, got {n}")
        zone = self._zone
        local = instant.astimezone(zone)
        ordinal = dt.date(local.year, local.month, local.day).toordinal()
        year = local.year
        days = self._business_days(year)
        i = bisect_left(days, ordinal)
        on_business_day = i < len(days) and days[i] == ordinal
        if on_business_day and n == 0:
            utc = instant.astimezone(_UTC)
            return dt.datetime(
                utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                utc.microsecond, tzinfo=_UTC,
            )  # fmt: skip
        i += n
        while i >= len(days):
            i -= len(days)
            year += 1
            days = self._business_days(year)
        target = dt.date.fromordinal(days[i])
        if on_business_day:
            wall = dt.datetime(
                target.year, target.month, target.day, local.hour, local.minute,
                local.second, local.microsecond, tzinfo=zone,
            )  # fmt: skip
        else:
            wall = dt.datetime(target.year, target.month, target.day, tzinfo=zone)
        # fold=0 (the default) gives PEP 495's reading: a gap time takes the
        # offset before the transition, which lands after it (moves forward);
        # a fold time takes its first occurrence.
        return wall.astimezone(_UTC)

    def add_business_hours(self, instant: dt.datetime, n: int) -> dt.datetime:
        """``instant + n business hours``, as an aware UTC ``datetime``.

        Only the working hours of business days count (``work_start`` to ``work_end``,
        local time, default 08:00–18:00): from Friday 16:00, 4 business hours end on
        Monday at 10:00, and a holiday counts no hours at all. An instant outside the
        working hours starts counting at the next opening. ``n=0`` returns the instant
        itself. The local result is converted to UTC as :meth:`add_business_days` does.

        Raises :class:`qleads.errors.InvalidInput` for a naive ``instant`` or a negative
        ``n``.
        """
        require_utc("instant", instant)
        if n < 0:
            raise InvalidInput("n", f"must be zero or positive, got {n}")
        if n == 0:
            return instant.astimezone(_UTC)
        local = instant.astimezone(self._zone).replace(tzinfo=None)
        remaining = dt.timedelta(hours=n)
        day = local.date()
        cursor = local
        while True:
            if self.is_business_day(day):
                opens = dt.datetime.combine(day, self.work_start)
                closes = dt.datetime.combine(day, self.work_end)
                start = max(cursor, opens)
                if start < closes:
                    if remaining <= closes - start:
                        wall = start + remaining
                        return wall.replace(tzinfo=self._zone).astimezone(_UTC)
                    remaining -= closes - start
            day += dt.timedelta(days=1)
            cursor = dt.datetime.combine(day, dt.time())

    def _business_days(self, year: int) -> tuple[int, ...]:
        days = self._years.get(year)
        if days is None:
            days = _business_ordinals(self.country, self.subdivision, self.workdays, year)
            self._years[year] = days
        return days


def _zone_for(country: str, tz: str | None) -> ZoneInfo:
    key = tz if tz is not None else DEFAULT_TIME_ZONES.get(country)
    if key is None:
        raise InvalidCalendar(
            "tz",
            f"country {country!r} has no default time zone: pass tz, an IANA "
            "zone name such as 'Europe/Berlin'",
        )
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidCalendar(
            "tz",
            f"unknown time zone {key!r}: expected an IANA zone name such as 'Europe/Berlin'",
        ) from None
