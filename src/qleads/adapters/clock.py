"""Clocks: the system's, a frozen one that tests move by hand, and a fast one for
rehearsing a whole deployment."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Mapping

from qleads.errors import ConfigurationError
from qleads.instants import require_utc

__all__ = [
    "REHEARSAL_CLOCK_ENV",
    "FrozenClock",
    "ScaledClock",
    "SystemClock",
    "clock_from_environment",
]

#: ``START ORIGIN SCALE``: every process of a rehearsal runs on
#: ``ScaledClock(START, ORIGIN, SCALE)`` (:func:`clock_from_environment`).
REHEARSAL_CLOCK_ENV = "QLEADS_REHEARSAL_CLOCK"


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until told otherwise; safe to move from another thread."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = require_utc("now", now)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = require_utc("now", instant)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


class ScaledClock:
    """Time that runs ``scale`` times as fast as the system's: at the real instant
    ``origin`` it reads ``start``. Processes given the same three values agree on the
    time without talking to each other, since each computes it from its own system
    clock; so the portal instances and workers of a rehearsal (a load test, the
    multi-instance test) see business-day deadlines fall due within seconds. Never for
    production: a day passes in ``86400 / scale`` seconds, and so do leases and
    backoffs measured in it."""

    def __init__(self, start: dt.datetime, origin: dt.datetime, scale: float) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.start = require_utc("start", start)
        self.origin = require_utc("origin", origin)
        self.scale = scale

    def now(self) -> dt.datetime:
        return self.start + (dt.datetime.now(dt.UTC) - self.origin) * self.scale


def clock_from_environment(environ: Mapping[str, str] | None = None) -> SystemClock | ScaledClock:
    """The system's clock, unless :data:`REHEARSAL_CLOCK_ENV` holds ``START ORIGIN
    SCALE`` (two ISO instants with offsets and a number): then that
    :class:`ScaledClock`. Raises :class:`~qleads.errors.ConfigurationError` for a value
    it cannot read."""
    env = os.environ if environ is None else environ
    value = env.get(REHEARSAL_CLOCK_ENV, "").strip()
    if not value:
        return SystemClock()
    try:
        start, origin, scale = value.split()
        return ScaledClock(
            dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(origin), float(scale)
        )
    except ValueError as e:
        raise ConfigurationError(
            f"${REHEARSAL_CLOCK_ENV}: {value!r} is not 'START ORIGIN SCALE' ({e})"
        ) from e
