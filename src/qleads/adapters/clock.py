"""Clocks: the system's, and a frozen one that tests move by hand."""

from __future__ import annotations

import datetime as dt
import threading

from qleads.instants import require_utc

__all__ = ["FrozenClock", "SystemClock"]


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
