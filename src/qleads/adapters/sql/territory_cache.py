"""The territory table and the reps' teams in memory: one copy per engine, kept for
:data:`TERRITORY_CACHE_SECONDS` and dropped on every write to their tables through the
engine (R1 routing, R2 scopes, R10 notices ask them on every use case).
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

from qleads.model import Installer, Territory

__all__ = [
    "TERRITORY_CACHE_SECONDS",
    "TeamCache",
    "TerritoryCache",
    "TerritoryTable",
    "team_cache",
    "territory_cache",
]

#: How long the territory table may be served from memory (see
#: :meth:`~qleads.adapters.sql.directory.SqlAlchemyDirectory.territory_ids_of`).
TERRITORY_CACHE_SECONDS: Final = 1.0
_TERRITORY_DIRTY: Final = "qleads_territories_changed"
_TEAMS_DIRTY: Final = "qleads_installers_changed"


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


class TeamCache:
    """Each rep's installers, read per rep and kept like the territory table (at most
    ``ttl`` seconds, dropped by every write to ``qleads_installer`` through the engine):
    every intake tells the team of its territory's rep (R10), a few hundred a second at
    peak for a few dozen reps. A team another process changes shows within ``ttl``."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._held: dict[str, tuple[float, tuple[Installer, ...]]] = {}
        self._generation = 0

    def get(self, rep_id: str, load: Callable[[str], Sequence[Installer]]) -> tuple[Installer, ...]:
        held = self._held.get(rep_id)
        now = time.monotonic()
        if held is not None and held[0] > now:
            return held[1]
        generation = self._generation
        loaded = tuple(load(rep_id))
        if generation == self._generation and self.ttl > 0:
            self._held[rep_id] = (now + self.ttl, loaded)
        return loaded

    def clear(self) -> None:
        self._generation += 1
        self._held = {}


class _EngineCaches:
    """The caches of one engine."""

    __slots__ = ("teams", "territories")

    def __init__(self) -> None:
        self.territories = TerritoryCache(TERRITORY_CACHE_SECONDS)
        self.teams = TeamCache(TERRITORY_CACHE_SECONDS)


_CACHES: weakref.WeakKeyDictionary[Engine, _EngineCaches] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _caches(engine: Engine) -> _EngineCaches:
    """The engine's caches, with the listeners that drop them on every write to their
    tables through the engine: at the statement and again at its commit."""
    caches = _CACHES.get(engine)
    if caches is not None:
        return caches
    with _CACHES_LOCK:
        caches = _CACHES.get(engine)
        if caches is None:
            caches = _EngineCaches()
            _CACHES[engine] = caches
            sa_event.listen(engine, "after_cursor_execute", _written)
            sa_event.listen(engine, "commit", _committed)
            sa_event.listen(engine, "rollback", _committed)
    return caches


def territory_cache(engine: Engine) -> TerritoryCache:
    """The engine's territory table cache."""
    return _caches(engine).territories


def team_cache(engine: Engine) -> TeamCache:
    """The engine's cache of the reps' teams."""
    return _caches(engine).teams


def _written(
    conn: Connection,
    cursor: object,
    statement: str,
    parameters: object,
    context: object,
    executemany: bool,
) -> None:
    if statement.lstrip()[:6].upper() == "SELECT":
        return
    caches = _caches(conn.engine)
    if "qleads_territory" in statement:
        conn.info[_TERRITORY_DIRTY] = True
        caches.territories.clear()
    if "qleads_installer" in statement:
        conn.info[_TEAMS_DIRTY] = True
        caches.teams.clear()


def _committed(conn: Connection) -> None:
    caches = _caches(conn.engine)
    if conn.info.pop(_TERRITORY_DIRTY, False):
        caches.territories.clear()
    if conn.info.pop(_TEAMS_DIRTY, False):
        caches.teams.clear()
