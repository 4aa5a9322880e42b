"""R9 business days: the worked examples of docs/rules.md, the edges, and a slow oracle."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qleads.calendar import Calendar
from qleads.errors import InvalidCalendar, InvalidInput
from qleads.testing.profiles import examples

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
MON_TO_FRI = frozenset(range(5))
MON_TO_SAT = frozenset(range(6))
EVERY_DAY = frozenset(range(7))
BUNDESLAENDER = (
    "BB",
    "BE",
    "BW",
    "BY",
    "HB",
    "HE",
    "HH",
    "MV",
    "NI",
    "NW",
    "RP",
    "SH",
    "SL",
    "SN",
    "ST",
    "TH",
)


def berlin(
    year: int, month: int, day: int, hour: int, minute: int = 0, *, fold: int = 0
) -> dt.datetime:
    """A Berlin wall-clock time as an aware datetime (fold=1: the later of two)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


def local_wall(instant: dt.datetime) -> dt.datetime:
    """The naive Berlin wall-clock reading of an instant."""
    return instant.astimezone(BERLIN).replace(tzinfo=None)


SAXONY = Calendar(country="DE", subdivision="SN")
BAVARIA = Calendar(country="DE", subdivision="BY")


class TestWorkedExamples:
    """Every row of the R9 table in docs/rules.md, in Europe/Berlin."""

    @pytest.mark.parametrize(
        ("calendar", "start", "expected"),
        [
            pytest.param(
                SAXONY, berlin(2018, 7, 31, 10, 0), dt.datetime(2018, 8, 2, 10, 0), id="tue-to-thu"
            ),
            pytest.param(
                SAXONY,
                berlin(2026, 11, 13, 16, 0),
                dt.datetime(2026, 11, 17, 16, 0),
                id="over-weekend",
            ),
            pytest.param(
                SAXONY,
                berlin(2026, 11, 16, 9, 30),
                dt.datetime(2026, 11, 19, 9, 30),
                id="buss-und-bettag-saxony",
            ),
            pytest.param(
                BAVARIA,
                berlin(2026, 11, 16, 9, 30),
                dt.datetime(2026, 11, 18, 9, 30),
                id="no-bettag-bavaria",
            ),
            pytest.param(
                SAXONY,
                berlin(2026, 3, 27, 16, 0),
                dt.datetime(2026, 3, 31, 16, 0),
                id="dst-starts-in-between",
            ),
            pytest.param(
                SAXONY, berlin(2026, 4, 2, 12, 0), dt.datetime(2026, 4, 8, 12, 0), id="easter"
            ),
            pytest.param(
                SAXONY,
                berlin(2026, 10, 31, 11, 0),
                dt.datetime(2026, 11, 4, 0, 0),
                id="start-on-reformation-day",
            ),
            pytest.param(
                SAXONY,
                berlin(2026, 12, 23, 18, 0),
                dt.datetime(2026, 12, 28, 18, 0),
                id="christmas",
            ),
        ],
    )
    def test_two_business_days_later(
        self, calendar: Calendar, start: dt.datetime, expected: dt.datetime
    ) -> None:
        """R9: t + 2 business days gives the table's local result, stored in UTC."""
        result = calendar.add_business_days(start, 2)

        assert local_wall(result) == expected
        assert result.tzinfo is UTC

    def test_dst_row_keeps_wall_clock_across_the_offset_change(self) -> None:
        """R9: Fri 16:00 +01:00 + 2 is Tue 16:00 +02:00, i.e. one hour less in UTC."""
        result = SAXONY.add_business_days(berlin(2026, 3, 27, 16, 0), 2)

        assert result == dt.datetime(2026, 3, 31, 14, 0, tzinfo=UTC)


class TestBusinessDays:
    """R9: which days count, per Bundesland and per weekday set."""

    def test_weekend_is_not_a_business_day(self) -> None:
        """R9: Mon–Fri by default; Saturday and Sunday are off."""
        assert SAXONY.is_business_day(dt.date(2026, 11, 13))
        assert not SAXONY.is_business_day(dt.date(2026, 11, 14))
        assert not SAXONY.is_business_day(dt.date(2026, 11, 15))

    def test_public_holiday_is_not_a_business_day(self) -> None:
        """R9: a holiday on a weekday is off (Good Friday, Christmas)."""
        assert not SAXONY.is_business_day(dt.date(2026, 4, 3))
        assert not SAXONY.is_business_day(dt.date(2026, 12, 25))

    def test_buss_und_bettag_is_off_in_saxony_but_not_in_bavaria(self) -> None:
        """R9: Saxony has Buß- und Bettag (Wed 2026-11-18), Bavaria has not."""
        assert not SAXONY.is_business_day(dt.date(2026, 11, 18))
        assert BAVARIA.is_business_day(dt.date(2026, 11, 18))

    def test_werktage_calendar_counts_saturday(self) -> None:
        """R9: with Mon–Sat ("Werktage") Fri 16:00 + 2 is Mon 16:00, Saturday counts."""
        werktage = Calendar(subdivision="SN", workdays=MON_TO_SAT)

        assert werktage.is_business_day(dt.date(2026, 11, 14))
        assert not werktage.is_business_day(dt.date(2026, 11, 15))
        result = werktage.add_business_days(berlin(2026, 11, 13, 16, 0), 2)
        assert local_wall(result) == dt.datetime(2026, 11, 16, 16, 0)

    def test_werktage_calendar_keeps_the_time_when_starting_on_saturday(self) -> None:
        """R9: Saturday is a business day of a Mon–Sat calendar, so its time is kept."""
        werktage = Calendar(subdivision="SN", workdays=MON_TO_SAT)

        result = werktage.add_business_days(berlin(2026, 11, 14, 11, 0), 1)

        assert local_wall(result) == dt.datetime(2026, 11, 16, 11, 0)

    def test_counting_crosses_the_new_year(self) -> None:
        """R9: Wed 2026-12-30 + 2 skips New Year's Day and the weekend."""
        result = SAXONY.add_business_days(berlin(2026, 12, 30, 10, 0), 2)

        assert local_wall(result) == dt.datetime(2027, 1, 4, 10, 0)

    def test_many_business_days_agree_with_the_day_by_day_count(self) -> None:
        """R9: large n (several years) lands where counting day by day lands."""
        start = berlin(2026, 2, 27, 8, 15)

        for n in (250, 251, 600, 1234):
            assert SAXONY.add_business_days(start, n) == oracle(start, n, "SN", MON_TO_FRI)

    def test_default_calendar_is_germany_mon_to_fri_in_berlin(self) -> None:
        """R9: DE → Europe/Berlin; the resolved zone is visible on the calendar."""
        calendar = Calendar()

        assert calendar.country == "DE"
        assert calendar.workdays == MON_TO_FRI
        assert calendar.tz == "Europe/Berlin"
        assert calendar == Calendar(tz="Europe/Berlin")

    def test_workdays_may_be_given_as_any_iterable(self) -> None:
        """R9: workdays are stored as a frozenset, whatever collection was passed."""
        calendar = Calendar(workdays=[0, 1, 2, 3, 4, 5])

        assert calendar.workdays == MON_TO_SAT


class TestZeroBusinessDays:
    """R9 with n = 0: the instant itself, or the next business day's midnight."""

    def test_on_a_business_day_it_is_the_instant_itself(self) -> None:
        """R9: t + 0 = t when t's local date is a business day."""
        start = berlin(2026, 11, 13, 16, 0)

        assert SAXONY.add_business_days(start, 0) == start

    def test_off_a_business_day_it_is_the_next_business_midnight(self) -> None:
        """R9: counting starts at 00:00 of the next business day (Mon 2026-11-02)."""
        result = SAXONY.add_business_days(berlin(2026, 10, 31, 11, 0), 0)

        assert local_wall(result) == dt.datetime(2026, 11, 2, 0, 0)

    def test_second_occurrence_of_an_ambiguous_time_is_kept(self) -> None:
        """R9: t + 0 = t even for the later of two identical wall times."""
        seven_days = Calendar(subdivision="SN", workdays=EVERY_DAY)
        start = berlin(2026, 10, 25, 2, 30, fold=1)

        assert seven_days.add_business_days(start, 0) == dt.datetime(
            2026, 10, 25, 1, 30, tzinfo=UTC
        )


class TestDaylightSaving:
    """R9: wall times that do not exist or exist twice (Berlin DST is on Sundays)."""

    def test_wall_time_in_the_spring_gap_moves_forward(self) -> None:
        """R9: 02:30 on 2026-03-29 does not exist in Berlin; it becomes 03:30 CEST."""
        seven_days = Calendar(subdivision="SN", workdays=EVERY_DAY)

        result = seven_days.add_business_days(berlin(2026, 3, 28, 2, 30), 1)

        assert result == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert local_wall(result) == dt.datetime(2026, 3, 29, 3, 30)

    def test_ambiguous_wall_time_resolves_to_the_first_occurrence(self) -> None:
        """R9: 02:30 on 2026-10-25 exists twice; the earlier (CEST, 00:30 UTC) is taken."""
        seven_days = Calendar(subdivision="SN", workdays=EVERY_DAY)

        result = seven_days.add_business_days(berlin(2026, 10, 24, 2, 30), 1)

        assert result == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


class TestInstants:
    """R9: instants are aware in, aware UTC out."""

    def test_naive_datetime_is_rejected(self) -> None:
        """R9: a naive datetime names no instant."""
        with pytest.raises(InvalidInput, match="timezone-aware") as caught:
            SAXONY.add_business_days(dt.datetime(2026, 11, 13, 16, 0), 2)

        assert caught.value.field == "instant"
        assert isinstance(caught.value, ValueError)

    def test_negative_count_is_rejected(self) -> None:
        """R9 counts forward only."""
        with pytest.raises(InvalidInput, match="zero or positive") as caught:
            SAXONY.add_business_days(berlin(2026, 11, 13, 16, 0), -1)

        assert caught.value.field == "n"

    def test_instant_in_another_zone_is_read_in_the_calendar_zone(self) -> None:
        """R9: Fri 23:30 UTC is already Saturday in Berlin, so counting starts Monday 00:00."""
        result = SAXONY.add_business_days(dt.datetime(2026, 11, 13, 23, 30, tzinfo=UTC), 1)

        assert local_wall(result) == dt.datetime(2026, 11, 17, 0, 0)

    @pytest.mark.parametrize("n", [0, 2])
    def test_result_is_a_plain_utc_datetime_even_for_pendulum_input(self, n: int) -> None:
        """R9: stored instants are std-lib datetimes in UTC, never a subclass."""
        start = pendulum.datetime(2026, 11, 13, 16, 0, tz="Europe/Berlin")

        result = SAXONY.add_business_days(start, n)

        assert type(result) is dt.datetime
        assert result.tzinfo is UTC
        assert result == oracle(start, n, "SN", MON_TO_FRI)


class TestInvalidCalendar:
    """R9: a calendar that names no real place, weekdays or zone is refused."""

    @pytest.mark.parametrize(
        ("kwargs", "field", "message"),
        [
            pytest.param({"country": "XX"}, "country", "unknown country 'XX'", id="country"),
            pytest.param(
                {"country": "DE", "subdivision": "ZZ"},
                "subdivision",
                "unknown subdivision 'ZZ' of country 'DE'",
                id="subdivision",
            ),
            pytest.param(
                {"workdays": frozenset()}, "workdays", "at least one weekday", id="no-workdays"
            ),
            pytest.param(
                {"workdays": frozenset({0, 7})}, "workdays", r"0\.\.6", id="weekday-out-of-range"
            ),
            pytest.param(
                {"workdays": frozenset({-1})}, "workdays", r"0\.\.6", id="negative-weekday"
            ),
            pytest.param({"workdays": 5}, "workdays", "set of weekday numbers", id="not-a-set"),
            pytest.param({"tz": "Mars/Olympus"}, "tz", "unknown time zone", id="tz"),
            pytest.param(
                {"country": "FR"}, "tz", "no default time zone", id="country-without-default-tz"
            ),
        ],
    )
    def test_is_rejected_with_a_clear_message(
        self, kwargs: dict[str, Any], field: str, message: str
    ) -> None:
        """R9: InvalidCalendar names the field and what was wrong with it."""
        with pytest.raises(InvalidCalendar, match=message) as caught:
            Calendar(**kwargs)

        assert caught.value.field == field
        assert caught.value.code == "invalid_calendar"
        assert isinstance(caught.value, ValueError)

    def test_country_without_default_zone_is_accepted_with_an_explicit_one(self) -> None:
        """R9: any country the holidays package knows works once tz is given."""
        calendar = Calendar(country="FR", tz="Europe/Paris")

        assert not calendar.is_business_day(dt.date(2026, 7, 14))


# --- the property: the fast calendar agrees with a slow day-by-day oracle ----------------


@functools.cache
def _oracle_holidays(subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=subdivision)


def oracle(instant: dt.datetime, n: int, subdivision: str, workdays: Iterable[int]) -> dt.datetime:
    """R9 spelled out literally: walk one calendar day at a time in Europe/Berlin."""
    days_off = _oracle_holidays(subdivision)
    weekdays = set(workdays)

    def is_business_day(day: dt.date) -> bool:
        return day.weekday() in weekdays and day not in days_off

    local = instant.astimezone(BERLIN)
    day = local.date()
    if is_business_day(day):
        if n == 0:
            return instant.astimezone(UTC)
        wall_time = dt.time(local.hour, local.minute, local.second, local.microsecond)
    else:
        wall_time = dt.time(0, 0)
        day += dt.timedelta(days=1)
        while not is_business_day(day):
            day += dt.timedelta(days=1)
    counted = 0
    while counted < n:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return _resolve(dt.datetime.combine(day, wall_time))


def _resolve(wall: dt.datetime) -> dt.datetime:
    """A naive Berlin wall time as UTC: the earliest instant showing it, else after the gap."""
    readings = [wall.replace(tzinfo=BERLIN, fold=fold).astimezone(UTC) for fold in (0, 1)]
    exists = [r for r in readings if local_wall(r) == wall]
    if exists:
        return min(exists)
    before = (wall - dt.timedelta(hours=12)).replace(tzinfo=BERLIN).utcoffset()
    assert before is not None
    return (wall - before).replace(tzinfo=UTC)


@st.composite
def instants(draw: st.DrawFn, subdivision: str) -> dt.datetime:
    """Aware instants in 2018–2035, half of them within a few days of a holiday."""
    zone = draw(st.sampled_from([UTC, BERLIN, ZoneInfo("America/New_York")]))
    if draw(st.booleans()):
        return draw(
            st.datetimes(
                min_value=dt.datetime(2018, 1, 1),
                max_value=dt.datetime(2035, 12, 31, 23, 59, 59),
                timezones=st.just(zone),
                allow_imaginary=False,
            )
        )
    year = draw(st.integers(2018, 2035))
    holiday = draw(
        st.sampled_from(sorted(holidays.country_holidays("DE", subdiv=subdivision, years=year)))
    )
    day = holiday + dt.timedelta(days=draw(st.integers(-4, 1)))
    moment = draw(st.times())
    return dt.datetime.combine(day, moment, tzinfo=BERLIN).astimezone(zone)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, frozenset[int], dt.datetime, int]:
    subdivision = draw(st.sampled_from(BUNDESLAENDER))
    workdays = draw(st.sampled_from([MON_TO_FRI, MON_TO_SAT]))
    return subdivision, workdays, draw(instants(subdivision)), draw(st.integers(0, 30))


class TestAgainstDayByDayOracle:
    """R9 as a property: over 2018–2035, all 16 Bundesländer, Mon–Fri and Mon–Sat."""

    @settings(max_examples=examples(3), deadline=None)
    @given(case=cases())
    def test_fast_calendar_agrees_with_counting_day_by_day(
        self, case: tuple[str, frozenset[int], dt.datetime, int]
    ) -> None:
        """R9: add_business_days equals the literal day-by-day reading of the rule."""
        subdivision, workdays, instant, n = case
        calendar = Calendar(country="DE", subdivision=subdivision, workdays=workdays)

        result = calendar.add_business_days(instant, n)

        assert result == oracle(instant, n, subdivision, workdays)
        assert result.tzinfo is UTC
        assert calendar.is_business_day(local_wall(result).date())
        assert result >= instant
