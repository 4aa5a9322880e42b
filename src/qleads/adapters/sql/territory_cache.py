"""The territory table in memory: one copy per engine, read in one query, kept for
:data:`TERRITORY_CACHE_SECONDS` and dropped on every write to the territory tables
through the engine (R1 routing, R2 scopes, R10 notices ask it on every use case).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine

from qleads.model import Territory

__all__ = ["TERRITORY_CACHE_SECONDS", "TerritoryCache", "TerritoryTable", "territory_cache"]

#: How long the territory table may be served from memory (see
#: :meth:`~qleads.adapters.sql.directory.SqlAlchemyDirectory.territory_ids_of`).
TERRITORY_CACHE_SECONDS: Final = 1.0
_TERRITORY_DIRTY: Final = "qleads_territories_changed"


@attrs.frozen
class TerritoryTable:
    """The whole territory table as one immutable value: what routing (R1), the
    new-lead notices (R10) and every scope (R2) ask of it."""

    all: tuple[Territory, ...]
    by_id: Mapping[str, Territory]
    ids_of_rep: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, territories: Sequence[Territory]) -> TerritoryTable:
        ids_of_rep: dict[str, set[str]] = {}
        for territory in territories:
            ids_of_rep.setdefault(territory.rep_id, set()).add(territory.id)
        return cls(
            all=tuple(territories),
            by_id={t.id: t for t in territories},
            ids_of_rep={rep: frozenset(ids) for rep, ids in ids_of_rep.items()},
        )


class TerritoryCache:
    """The territory table of one engine, read in one query and kept for at most
    ``ttl`` seconds, dropped whenever a statement through the engine writes a territory
    table. A network has hundreds of territories, and every intake routes over all of
    them while a claim, a tab or a sweep batch may come from any rep: one query a
    second per process, rather than one per use case.

    The generation guards against keeping a table read while a change was committed."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._held: tuple[float, TerritoryTable] | None = None
        self._generation = 0

    def get(self, load: Callable[[], TerritoryTable]) -> TerritoryTable:
        held = self._held
        now = time.monotonic()
        if held is None or held[0] <= now:
            generation = self._generation
            loaded = load()
            if generation == self._generation and self.ttl > 0:
                self._held = (now + self.ttl, loaded)
            return loaded
        return held[1]

    def clear(self) -> None:
        self._generation += 1
        self._held = None


_TERRITORY_CACHES: weakref.WeakKeyDictionary[Engine, TerritoryCache] = weakref.WeakKeyDictionary()
_TERRITORY_CACHES_LOCK = threading.Lock()


def territory_cache(engine: Engine) -> TerritoryCache:
    """The engine's cache, with the listeners that drop it on every write to the
    territory tables through the engine: at the statement and again at its commit."""
    cache = _TERRITORY_CACHES.get(engine)
    if cache is not None:
        return cache
    with _TERRITORY_CACHES_LOCK:
        cache = _TERRITORY_CACHES.get(engine)
        if cache is None:
            cache = TerritoryCache(TERRITORY_CACHE_SECONDS)
            _TERRITORY_CACHES[engine] = cache
            sa_event.listen(engine, "after_cursor_execute", _territory_written)
            sa_event.listen(engine, "commit", _territory_committed)
            sa_event.listen(engine, "rollback", _territory_committed)
    return cache


def _territory_written(
    conn: Connection,
    cursor: object,
    statement: str,
    parameters: object,
    context: object,
    executemany: bool,
) -> None:
    if "qleads_territory" in statement and statement.lstrip()[:6].upper() != "SELECT":
        conn.info[_TERRITORY_DIRTY] = True
        territory_cache(conn.engine).clear()


def _territory_committed(conn: Connection) -> None:
    if conn.info.pop(_TERRITORY_DIRTY, False):
        territory_cache(conn.engine).clear()
