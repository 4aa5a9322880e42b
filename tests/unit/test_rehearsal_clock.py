"""The rehearsal clock: processes given the same START ORIGIN SCALE agree on a time
that runs SCALE times as fast."""

from __future__ import annotations

import datetime as dt

import pytest

from qleads.adapters.clock import (
    REHEARSAL_CLOCK_ENV,
    ScaledClock,
    SystemClock,
    clock_from_environment,
)
from qleads.errors import ConfigurationError

START = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC)


def test_time_runs_scale_times_as_fast_from_the_origin() -> None:
    origin = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    clock = ScaledClock(START, origin, 3600.0)
    elapsed = clock.now() - START
    assert dt.timedelta(hours=10) <= elapsed < dt.timedelta(hours=11)


def test_two_clocks_with_the_same_values_agree() -> None:
    value = f"{START.isoformat()} {dt.datetime.now(dt.UTC).isoformat()} 1000"
    a = clock_from_environment({REHEARSAL_CLOCK_ENV: value})
    b = clock_from_environment({REHEARSAL_CLOCK_ENV: value})
    assert isinstance(a, ScaledClock)
    assert abs((a.now() - b.now()).total_seconds()) < 5  # 5 ms of real time at most


def test_without_the_variable_it_is_the_system_clock() -> None:
    assert isinstance(clock_from_environment({}), SystemClock)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday now 10",
        f"{START.isoformat()} {START.isoformat()}",
        f"{START.isoformat()} {START.isoformat()} -1",
        f"2026-11-16T08:00:00 {START.isoformat()} 10",  # no offset
    ],
)
def test_a_bad_value_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match=REHEARSAL_CLOCK_ENV):
        clock_from_environment({REHEARSAL_CLOCK_ENV: value})
