"""The directory on SQL (the :class:`~qleads.ports.Directory` port): installers, sales
reps, admins, lead sources and territories in the ``qleads_*`` directory tables, with the
writes a portal's admin screens need.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, Self

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from qleads.adapters.sql.engine import (
    configure_sqlite,
    make_engine,
    prepare_engine,
    read_connection,
    write_transaction,
)
from qleads.adapters.sql.errors import (
    OnIntegrity,
    checkout,
    integrity_kind,
    raise_driver_error,
    storage_error,
)
from qleads.adapters.sql.schema import (
    UNROUTED,
    admin_table,
    installer_table,
    rep_table,
    source_table,
    territory_prefix_table,
    territory_table,
)
from qleads.adapters.sql.territory_cache import TerritoryTable, team_cache, territory_cache
from qleads.calendar import Calendar
from qleads.errors import InvalidInput, QleadsError
from qleads.model import Admin, Installer, LeadSource, SalesRep, Territory
from qleads.rep_queue import check_installer_id

__all__ = ["SqlAlchemyDirectory", "hash_token"]


def hash_token(token: str) -> str:
    """How a lead source's API token is stored: its SHA-256, hex. A token is a long
    random secret, so a plain (unsalted) hash is enough and allows the indexed lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1024)
def _calendar(
    country: str, subdivision: str | None, workdays: str, tz: str | None, hours: str
) -> Calendar:
    days = frozenset(int(d) for d in workdays.split(",") if d.strip())
    start, _, end = hours.partition("-")
    return Calendar(
        country=country,
        subdivision=subdivision,
        workdays=days,
        tz=tz,
        work_start=dt.time.fromisoformat(start),
        work_end=dt.time.fromisoformat(end),
    )


def _calendar_values(calendar: Calendar) -> dict[str, Any]:
    return {
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "workdays": ",".join(str(d) for d in sorted(calendar.workdays)),
        "tz": calendar.tz,
        # Working hours count a ladder's business hours (migration 0011).
        "work_hours": f"{calendar.work_start:%H:%M}-{calendar.work_end:%H:%M}",
    }


_I = installer_table.c
_R = rep_table.c
_A = admin_table.c
_S = source_table.c
_T = territory_table.c
_P = territory_prefix_table.c
_INSTALLER_COLUMNS = (
    _I.id,
    _I.name,
    _I.email,
    _I.rep_id,
    _I.language,
    _I.country,
    _I.subdivision,
    _I.workdays,
    _I.tz,
    _I.digest_hour,
    _I.active,
    _I.work_hours,
)
_SELECT_INSTALLERS: Final = sa.select(*_INSTALLER_COLUMNS)
_SELECT_INSTALLERS_AMONG: Final = _SELECT_INSTALLERS.where(
    _I.id.in_(sa.bindparam("ids", expanding=True))
)
_SELECT_TEAMS_OF: Final = _SELECT_INSTALLERS.where(
    _I.rep_id.in_(sa.bindparam("rep_ids", expanding=True))
).order_by(_I.id)
_SELECT_REPS: Final = sa.select(
    _R.id,
    _R.name,
    _R.email,
    _R.language,
    _R.country,
    _R.subdivision,
    _R.workdays,
    _R.tz,
    _R.work_hours,
)
_SELECT_REP: Final = _SELECT_REPS.where(_R.id == sa.bindparam("id"))
_SELECT_ADMINS: Final = sa.select(_A.id, _A.name, _A.email, _A.language)
_SELECT_ADMIN: Final = _SELECT_ADMINS.where(_A.id == sa.bindparam("id"))
_SELECT_SOURCES: Final = sa.select(_S.id, _S.name)
_SELECT_SOURCE: Final = _SELECT_SOURCES.where(_S.id == sa.bindparam("id"))
_SELECT_SOURCE_BY_TOKEN: Final = _SELECT_SOURCES.where(_S.token_hash == sa.bindparam("token_hash"))


def _installer(row: Sequence[Any]) -> Installer:
    return Installer(
        id=row[0],
        name=row[1],
        email=row[2],
        rep_id=row[3],
        language=row[4],
        calendar=_calendar(row[5], row[6], row[7], row[8], row[11]),
        digest_hour=row[9],
        active=bool(row[10]),
    )


def _rep(row: Sequence[Any]) -> SalesRep:
    return SalesRep(
        id=row[0],
        name=row[1],
        email=row[2],
        language=row[3],
        calendar=_calendar(row[4], row[5], row[6], row[7], row[8]),
    )


def _territories(rows: Iterable[Sequence[Any]]) -> list[Territory]:
    grouped: dict[str, tuple[Sequence[Any], list[str]]] = {}
    for row in rows:
        entry = grouped.setdefault(row[0], (row, []))
        if row[4] is not None:
            entry[1].append(row[4])
    return [
        Territory(id=r[0], name=r[1], country=r[2], prefixes=frozenset(p), rep_id=r[3])
        for r, p in grouped.values()
    ]


def _refusal(what: str, ident: str) -> OnIntegrity:
    """What a directory write's integrity error means: the id exists, or the record
    names a sales rep that does not."""

    def refused(error: sa_exc.IntegrityError) -> QleadsError:
        kind = integrity_kind(error)
        if kind == "unique":
            return InvalidInput("id", f"{what} {ident!r} exists already")
        if kind == "foreign_key":
            return InvalidInput("rep_id", f"{what} {ident!r} names an unknown sales rep")
        return storage_error(error)

    return refused


class SqlAlchemyDirectory:
    """The :class:`~qleads.ports.Directory` in the ``qleads_*`` directory tables, with
    the writes a portal's admin screens need.

    Reads run in short read transactions of their own (they never wait for a writer on
    SQLite); writes raise :class:`~qleads.errors.InvalidInput` for a duplicate id, an
    unknown id or a reference to a sales rep that does not exist.
    """

    def __init__(self, engine: Engine) -> None:
        prepare_engine(engine)
        self.engine = engine
        self._owns_engine = False
        self._postgres = engine.dialect.name == "postgresql"
        insert = postgresql.insert if self._postgres else sqlite.insert
        self._add_prefixes = insert(territory_prefix_table).on_conflict_do_nothing()
        self._territory_sql = (
            "SELECT t.id, t.name, t.country, t.rep_id, p.prefix FROM qleads_territory t "
            "LEFT JOIN qleads_territory_prefix p ON p.territory_id = t.id ORDER BY t.id, p.prefix"
        )
        self._territory_cache = territory_cache(engine)
        self._team_cache = team_cache(engine)
        # The two reads every intake and sweep makes (R10 notices, the holder's calendar)
        # go straight through the driver, like the territory table: one round trip, none
        # of SQLAlchemy's statement handling.
        p = "%s" if self._postgres else "?"
        columns = ", ".join(c.name for c in _INSTALLER_COLUMNS)
        self._installer_sql = f"SELECT {columns} FROM qleads_installer WHERE id = {p}"  # noqa: S608
        self._installers_of_sql = (
            f"SELECT {columns} FROM qleads_installer WHERE rep_id = {p} ORDER BY id"  # noqa: S608
        )

    @classmethod
    def from_url(cls, url: str | sa.URL, **engine_kwargs: Any) -> Self:
        directory = cls(make_engine(url, **engine_kwargs))
        directory._owns_engine = True
        return directory

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    # --- plumbing ----------------------------------------------------------------------

    def _read(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> list[Sequence[Any]]:
        with read_connection(self.engine) as conn:
            return list(conn.execute(statement, params).all())

    def _writing(self, what: str, ident: str) -> AbstractContextManager[Connection]:
        """A write transaction in which a duplicate id or an unknown sales rep is
        :class:`~qleads.errors.InvalidInput` naming ``what``."""
        return write_transaction(self.engine, on_integrity=_refusal(what, ident))

    @staticmethod
    def _changed(result: sa.CursorResult[Any], what: str, ident: str) -> None:
        if result.rowcount != 1:
            raise InvalidInput("id", f"no {what} {ident!r}")

    # --- reads (the port) ----------------------------------------------------------------

    def installer(self, installer_id: str) -> Installer | None:
        rows = self._read_driver(self._installer_sql, installer_id)
        return _installer(rows[0]) if rows else None

    def rep(self, rep_id: str) -> SalesRep | None:
        rows = self._read(_SELECT_REP, {"id": rep_id})
        return _rep(rows[0]) if rows else None

    def admin(self, admin_id: str) -> Admin | None:
        rows = self._read(_SELECT_ADMIN, {"id": admin_id})
        if not rows:
            return None
        r = rows[0]
        return Admin(id=r[0], name=r[1], email=r[2], language=r[3])

    def source(self, source_id: str) -> LeadSource | None:
        rows = self._read(_SELECT_SOURCE, {"id": source_id})
        return LeadSource(id=rows[0][0], name=rows[0][1]) if rows else None

    def installers_of(self, rep_id: str) -> Sequence[Installer]:
        """Served from the engine's team cache (``territory_cache.TeamCache``):
        every intake asks for the team of its territory's rep (R10). Like the territory
        table, a change through this engine shows at once, one made elsewhere within
        :data:`~qleads.adapters.sql.territory_cache.TERRITORY_CACHE_SECONDS`."""
        return list(self._team_cache.get(rep_id, self._team_from_db))

    def _team_from_db(self, rep_id: str) -> list[Installer]:
        return [_installer(r) for r in self._read_driver(self._installers_of_sql, rep_id)]

    def installers_among(self, installer_ids: Collection[str]) -> dict[str, Installer]:
        if not installer_ids:
            return {}
        rows = self._read(_SELECT_INSTALLERS_AMONG, {"ids": sorted(installer_ids)})
        return {installer.id: installer for installer in map(_installer, rows)}

    def teams_of(self, rep_ids: Collection[str]) -> dict[str, list[Installer]]:
        teams: dict[str, list[Installer]] = {rep_id: [] for rep_id in sorted(rep_ids)}
        if teams:
            for row in self._read(_SELECT_TEAMS_OF, {"rep_ids": list(teams)}):
                installer = _installer(row)
                teams[installer.rep_id].append(installer)
        return teams

    def territory(self, territory_id: str) -> Territory | None:
        """Served from the territory cache, as :meth:`territory_ids_of` explains."""
        return self._territory_table().by_id.get(territory_id)

    def territories(self) -> Sequence[Territory]:
        """Served from the territory cache, as :meth:`territory_ids_of` explains: every
        intake routes over all territories (R1)."""
        return self._territory_table().all

    def territory_ids_of(self, rep_id: str) -> frozenset[str]:
        """The ids of a sales rep's territories: what R2 scopes his and his installers'
        reads by. The desk asks on every use case, so the whole territory table (with
        prefixes, for routing) is read at once (one query straight on a pooled DB-API
        connection; autocommit on PostgreSQL: one round trip) and kept for
        :data:`~qleads.adapters.sql.territory_cache.TERRITORY_CACHE_SECONDS` (1 s) per
        engine; :meth:`territory` and :meth:`territories` answer from the same copy.

        Every write to the territory tables through this engine (any directory, the
        portal's admin screens, Alembic) drops the cache at once; a change made by
        another process or outside SQLAlchemy shows within that second. That is the
        same kind of window any use case has between reading the scope and committing
        its change, only wider (R2)."""
        return self._territory_table().ids_of_rep.get(rep_id, frozenset())

    def _territory_table(self) -> TerritoryTable:
        return self._territory_cache.get(self._territory_table_from_db)

    def _territory_table_from_db(self) -> TerritoryTable:
        return TerritoryTable.of(_territories(self._read_driver(self._territory_sql)))

    def _read_driver(self, statement: str, *params: Any) -> list[Any]:
        dbapi: Any = self.engine.dialect.loaded_dbapi
        pooled = checkout(self.engine)
        try:
            driver: Any = pooled.driver_connection
            if self._postgres:
                driver.autocommit = True
                try:
                    with driver.cursor() as cursor:
                        cursor.execute(statement, params)
                        rows: list[Any] = cursor.fetchall()
                finally:
                    driver.autocommit = False
            else:
                configure_sqlite(driver)
                cursor = driver.cursor()
                try:
                    cursor.execute(statement, params)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
        except dbapi.Error as e:
            lost = self.engine.dialect.is_disconnect(e, driver, None)
            if lost:
                pooled.invalidate(e)
            raise_driver_error(e, self.engine.dialect, statement, params, invalidated=lost)
        finally:
            pooled.close()
        return rows

    # --- more reads for a portal ---------------------------------------------------------

    def source_by_token(self, token: str) -> LeadSource | None:
        """The lead source an intake API token belongs to (R12: sources may only submit)."""
        rows = self._read(_SELECT_SOURCE_BY_TOKEN, {"token_hash": hash_token(token)})
        return LeadSource(id=rows[0][0], name=rows[0][1]) if rows else None

    def installers(self) -> list[Installer]:
        return [_installer(r) for r in self._read(_SELECT_INSTALLERS.order_by(_I.id))]

    def reps(self) -> list[SalesRep]:
        return [_rep(r) for r in self._read(_SELECT_REPS.order_by(_R.id))]

    def admins(self) -> list[Admin]:
        rows = self._read(_SELECT_ADMINS.order_by(_A.id))
        return [Admin(id=r[0], name=r[1], email=r[2], language=r[3]) for r in rows]

    def sources(self) -> list[LeadSource]:
        rows = self._read(_SELECT_SOURCES.order_by(_S.id))
        return [LeadSource(id=r[0], name=r[1]) for r in rows]

    # --- writes ----------------------------------------------------------------------------

    @staticmethod
    def _installer_values(installer: Installer) -> dict[str, Any]:
        return {
            "name": installer.name,
            "email": installer.email,
            "rep_id": installer.rep_id,
            "language": installer.language,
            **_calendar_values(installer.calendar),
            "digest_hour": installer.digest_hour,
            "active": installer.active,
        }

    @staticmethod
    def _rep_values(rep: SalesRep) -> dict[str, Any]:
        return {
            "name": rep.name,
            "email": rep.email,
            "language": rep.language,
            **_calendar_values(rep.calendar),
        }

    def add_installer(self, installer: Installer) -> Installer:
        check_installer_id(installer.id)
        with self._writing("installer", installer.id) as conn:
            conn.execute(
                installer_table.insert(), {"id": installer.id, **self._installer_values(installer)}
            )
        return installer

    def update_installer(self, installer: Installer) -> Installer:
        """Replace an installer's record (deactivate with ``active=False``: leads keep
        their holder ids, so installers are never deleted)."""
        with self._writing("installer", installer.id) as conn:
            result = conn.execute(
                installer_table.update().where(_I.id == installer.id),
                self._installer_values(installer),
            )
            self._changed(result, "installer", installer.id)
        return installer

    def add_rep(self, rep: SalesRep) -> SalesRep:
        with self._writing("sales rep", rep.id) as conn:
            conn.execute(rep_table.insert(), {"id": rep.id, **self._rep_values(rep)})
        return rep

    def update_rep(self, rep: SalesRep) -> SalesRep:
        with self._writing("sales rep", rep.id) as conn:
            result = conn.execute(rep_table.update().where(_R.id == rep.id), self._rep_values(rep))
            self._changed(result, "sales rep", rep.id)
        return rep

    def add_admin(self, admin: Admin) -> Admin:
        with self._writing("admin", admin.id) as conn:
            conn.execute(
                admin_table.insert(),
                {
                    "id": admin.id,
                    "name": admin.name,
                    "email": admin.email,
                    "language": admin.language,
                },
            )
        return admin

    def update_admin(self, admin: Admin) -> Admin:
        with self._writing("admin", admin.id) as conn:
            result = conn.execute(
                admin_table.update().where(_A.id == admin.id),
                {"name": admin.name, "email": admin.email, "language": admin.language},
            )
            self._changed(result, "admin", admin.id)
        return admin

    def add_source(self, source: LeadSource, *, token: str | None = None) -> LeadSource:
        """Register a lead source; ``token`` (if given) authenticates its intake API
        calls and is stored only as :func:`hash_token`."""
        with self._writing("lead source", source.id) as conn:
            conn.execute(
                source_table.insert(),
                {
                    "id": source.id,
                    "name": source.name,
                    "token_hash": hash_token(token) if token is not None else None,
                },
            )
        return source

    def update_source(self, source: LeadSource) -> LeadSource:
        with self._writing("lead source", source.id) as conn:
            result = conn.execute(
                source_table.update().where(_S.id == source.id), {"name": source.name}
            )
            self._changed(result, "lead source", source.id)
        return source

    def set_source_token(self, source_id: str, token: str | None) -> None:
        """Rotate (or, with ``None``, revoke) a lead source's API token."""
        with self._writing("lead source", source_id) as conn:
            result = conn.execute(
                source_table.update().where(_S.id == source_id),
                {"token_hash": hash_token(token) if token is not None else None},
            )
            self._changed(result, "lead source", source_id)

    def add_territory(self, territory: Territory) -> Territory:
        if territory.id == UNROUTED:
            # The counters file unrouted leads (R1) under this id.
            raise InvalidInput("id", "a territory needs a non-empty id")
        with self._writing("territory", territory.id) as conn:
            conn.execute(
                territory_table.insert(),
                {
                    "id": territory.id,
                    "name": territory.name,
                    "country": territory.country,
                    "rep_id": territory.rep_id,
                },
            )
            self._write_prefixes(conn, territory)
        return territory

    def update_territory(self, territory: Territory) -> Territory:
        """Replace a territory, prefixes included (new leads route by them, R1)."""
        with self._writing("territory", territory.id) as conn:
            result = conn.execute(
                territory_table.update().where(_T.id == territory.id),
                {"name": territory.name, "country": territory.country, "rep_id": territory.rep_id},
            )
            self._changed(result, "territory", territory.id)
            conn.execute(
                territory_prefix_table.delete().where(
                    _P.territory_id == territory.id, _P.prefix.not_in(sorted(territory.prefixes))
                )
            )
            self._write_prefixes(conn, territory)
        return territory

    def _write_prefixes(self, conn: Connection, territory: Territory) -> None:
        if territory.prefixes:
            conn.execute(
                self._add_prefixes,
                [{"territory_id": territory.id, "prefix": p} for p in sorted(territory.prefixes)],
            )
