"""One pooled DB-API connection and its cursor, for the statements a unit of work sends
straight through the driver: checked out and given back as the pool lent it, every
driver error raised as a qleads error, a lost connection dropped from the pool.

The unit of work (:mod:`qleads.adapters.sql.unit_of_work`) decides which statements go
and when; this is only how they travel. SQLAlchemy's statement execution costs far more
per call than the database needs for the unit's one-row statements, so they bypass it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NoReturn, Self

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from qleads.adapters.sql.engine import configure_sqlite
from qleads.adapters.sql.errors import OnIntegrity, checkout, raise_driver_error, storage_error

__all__ = ["DriverConnection", "pipeline", "pipelines_supported"]


@functools.cache
def pipelines_supported() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 and later)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def pipeline(connection: Any) -> AbstractContextManager[Any]:
    """``connection``'s pipeline, where libpq has one: the statements inside travel
    together. Without it (an older libpq) each goes in a round trip of its own, with
    the same outcome: a failing statement raises and the rest is not run."""
    return connection.pipeline() if pipelines_supported() else nullcontext()


class DriverConnection:
    """A connection checked out of ``engine``'s pool, with one cursor.

    On SQLite the connection's transactions are qleads' own (the unit emits ``BEGIN``
    itself); on PostgreSQL it runs in autocommit, so the unit sends ``BEGIN`` only before
    a write that cannot wait. Raises :class:`~qleads.errors.StorageError` when no
    connection can be had."""

    __slots__ = ("_dbapi", "_dialect", "_sqlite", "cursor", "pooled")

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self._dialect = dialect
        self._dbapi: Any = dialect.loaded_dbapi
        self._sqlite = dialect.name == "sqlite"
        pooled = checkout(engine)
        try:
            driver: Any = pooled.driver_connection
            if self._sqlite:
                configure_sqlite(driver)
            else:
                driver.autocommit = True  # BEGIN only before a write (the unit of work)
            self.cursor: Any = driver.cursor()
        except self._dbapi.Error as e:
            pooled.invalidate(e)
            pooled.close()
            raise_driver_error(e, dialect, invalidated=True)
        self.pooled: Any = pooled

    def release(self, *, failed: bool) -> None:
        """Give the connection back as the pool lent it. ``failed``: the unit is leaving
        on an exception of its own, which an error of the pool must not hide."""
        pooled = self.pooled
        try:
            self.cursor.close()
        except self._dbapi.Error as e:
            pooled.invalidate(e)
        driver = pooled.driver_connection
        if not self._sqlite and driver is not None:
            try:
                # Back as the pool lent it: a transaction the unit left open (it raised
                # before its commit) ends first, as autocommit can change only outside one.
                driver.rollback()
                driver.autocommit = False
            except self._dbapi.Error as e:
                pooled.invalidate(e)
        try:
            # The pool's reset rolls back whatever was not committed (on SQLite too:
            # pysqlite's rollback() ends the transaction qleads began itself).
            pooled.close()
        except sa_exc.SQLAlchemyError as e:
            if not failed:
                raise storage_error(e) from e

    def run(
        self,
        statement: str,
        params: Sequence[Any],
        on_integrity: OnIntegrity | None = None,
    ) -> Self:
        """Execute one statement on the cursor (read its result with :meth:`fetchone`,
        :meth:`fetchall` or :attr:`rowcount`)."""
        try:
            self.cursor.execute(statement, params)
        except self._dbapi.Error as e:
            self.fail(e, statement, params, on_integrity)
        return self

    def run_many(
        self,
        statement: str,
        rows: Sequence[Sequence[Any]],
        on_integrity: OnIntegrity | None = None,
    ) -> None:
        """Execute one statement per row of parameters."""
        if len(rows) == 1:
            self.run(statement, rows[0], on_integrity)
            return
        try:
            self.cursor.executemany(statement, rows)
        except self._dbapi.Error as e:
            self.fail(e, statement, rows, on_integrity)

    def run_begun(
        self,
        statement: str,
        params: Sequence[Any],
        on_integrity: OnIntegrity | None = None,
    ) -> Self:
        """PostgreSQL: ``BEGIN`` and ``statement`` in one pipeline, one round trip: a
        transaction opened only with its first write (read the result as after
        :meth:`run`)."""
        cursor = self.cursor
        try:
            with pipeline(cursor.connection):
                cursor.execute("BEGIN")
                cursor.execute(statement, params)
        except self._dbapi.Error as e:
            self.fail(e, statement, params, on_integrity)
        return self

    def run_pipeline(
        self,
        batches: Sequence[tuple[str, Sequence[Sequence[Any]]]],
        *,
        begin: bool,
        on_integrity: OnIntegrity | None = None,
    ) -> None:
        """PostgreSQL: ``BEGIN`` (if ``begin``), every statement with its rows and
        ``COMMIT``, sent in one pipeline: one round trip, each statement prepared by the
        server like any other rather than bound into a text on the client. If one
        fails, the server skips the rest, ``COMMIT`` included, and the error is raised
        here."""
        cursor = self.cursor
        try:
            with pipeline(cursor.connection):
                if begin:
                    cursor.execute("BEGIN")
                for statement, rows in batches:
                    if len(rows) == 1:
                        cursor.execute(statement, rows[0])
                    else:
                        cursor.executemany(statement, rows)
                cursor.execute("COMMIT")
        except self._dbapi.Error as e:
            self.fail(e, None, None, on_integrity)

    def fetchone(self) -> Any:
        try:
            return self.cursor.fetchone()
        except self._dbapi.Error as e:
            self.fail(e)

    def fetchall(self) -> list[Any]:
        try:
            rows: list[Any] = self.cursor.fetchall()
        except self._dbapi.Error as e:
            self.fail(e)
        return rows

    @property
    def rowcount(self) -> int:
        count: int = self.cursor.rowcount
        return count

    def end(self, how: str) -> None:
        """``COMMIT`` or ``ROLLBACK`` the connection's transaction: the statement on
        SQLite (pysqlite's own handling is off), psycopg's call on PostgreSQL."""
        try:
            if self._sqlite:
                self.cursor.execute(how)
            elif how == "COMMIT":
                self.cursor.connection.commit()
            else:
                self.cursor.connection.rollback()
        except self._dbapi.Error as e:
            self.fail(e)

    def fail(
        self,
        error: Exception,
        statement: str | None = None,
        params: Any = None,
        on_integrity: OnIntegrity | None = None,
    ) -> NoReturn:
        """Raise the qleads error for a driver error, chained to the SQLAlchemy exception
        the same error becomes on SQLAlchemy's own path; a lost connection leaves the
        pool."""
        pooled = self.pooled
        lost = False
        try:
            dialect: Any = self._dialect
            lost = dialect.is_disconnect(error, pooled.driver_connection, self.cursor)
        except Exception:  # the check itself must not hide the error
            lost = False
        if lost:
            pooled.invalidate(error)
        raise_driver_error(
            error,
            self._dialect,
            statement,
            params,
            invalidated=lost,
            on_integrity=on_integrity,
        )
