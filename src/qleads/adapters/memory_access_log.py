"""The access log (R14) in memory: append-only, like the SQL table its triggers guard.

Records are added and read; the only removal is :meth:`InMemoryAccessLog.purge` of
records older than the retention period. Thread-safe.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Sequence

import attrs

from qleads.personal_data import AccessQuery, AccessRecord

__all__ = ["InMemoryAccessLog", "matches_access"]


def matches_access(query: AccessQuery, record: AccessRecord) -> bool:
    """Whether ``record`` is one of ``query``'s (what the SQL adapter's WHERE says)."""
    return (
        (query.lead_id is None or record.lead_id == query.lead_id)
        and (query.user_id is None or record.user_id == query.user_id)
        and (query.since is None or record.at >= query.since)
        and (query.until is None or record.at < query.until)
        and (query.territory_ids is None or record.territory_id in query.territory_ids)
        and (query.holder_id is None or record.holder_id == query.holder_id)
    )


class InMemoryAccessLog:
    """Implements :class:`~qleads.personal_data_ports.AccessLog` in a list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._records: list[AccessRecord] = []

    def append(self, records: Sequence[AccessRecord]) -> None:
        with self._lock:
            self._records.extend(attrs.evolve(r, id=next(self._ids)) for r in records)

    def records(self, query: AccessQuery) -> list[AccessRecord]:
        with self._lock:
            found = [r for r in self._records if matches_access(query, r)]
        found.sort(key=lambda r: (r.at, r.id), reverse=True)
        return found[: query.limit]

    def count_before(self, before: dt.datetime) -> int:
        with self._lock:
            return sum(1 for r in self._records if r.at < before)

    def purge(self, before: dt.datetime) -> int:
        with self._lock:
            kept = [r for r in self._records if r.at >= before]
            purged = len(self._records) - len(kept)
            self._records = kept
            return purged
