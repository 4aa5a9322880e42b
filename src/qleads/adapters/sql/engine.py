"""Engines for a qleads database: how they are made and prepared, the write option, and
the read and write transactions the adapters run through SQLAlchemy.

* **SQLite** (the embedded default) runs in WAL mode with foreign keys on and a busy
  timeout. The pysqlite driver's own transaction handling is switched off and qleads
  emits ``BEGIN`` itself: a transaction on a connection with :data:`WRITE_OPTION` set
  starts with ``BEGIN IMMEDIATE``, so concurrent writers queue on the busy timeout
  instead of failing with "database is locked", while readers keep reading in parallel.
  One routine hands a pysqlite connection to qleads (:func:`configure_sqlite`), whichever
  path meets it first.
* **PostgreSQL** (through psycopg 3) runs at READ COMMITTED; pooled connections are
  checked before each use (:mod:`qleads.adapters.sql.liveness`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from qleads.adapters.sql.errors import OnIntegrity, storage_error
from qleads.adapters.sql.liveness import check_connections
from qleads.adapters.sql.wal import DEFAULT_INTERVAL_S as DEFAULT_CHECKPOINT_INTERVAL_S
from qleads.adapters.sql.wal import WalCheckpointer, start_checkpoints
from qleads.errors import ConfigurationError

__all__ = [
    "WRITE_OPTION",
    "configure_sqlite",
    "make_engine",
    "prepare_engine",
    "read_connection",
    "write_transaction",
]

#: Execution option of a connection: its next transaction writes, so on SQLite its
#: ``BEGIN`` takes the write lock (``BEGIN IMMEDIATE``). A portal sets it on the sessions
#: and connections it writes through (``engine.execution_options(qleads_write=True)``).
WRITE_OPTION: Final = "qleads_write"
_DEFAULT_BUSY_TIMEOUT_S: Final = 60.0


def make_engine(
    url: str | sa.URL,
    *,
    checkpoint_interval: float | None = DEFAULT_CHECKPOINT_INTERVAL_S,
    **engine_kwargs: Any,
) -> Engine:
    """An engine for a qleads database, set up as the adapters need it.

    ``sqlite:///path`` and ``postgresql://…`` (psycopg 3 is chosen when the URL names no
    driver) are accepted; anything else raises
    :class:`~qleads.errors.ConfigurationError`. ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` (``pool_size``, ``max_overflow``, ``poolclass`` …).
    An in-memory SQLite database lives on one shared connection (``StaticPool``) and
    suits single-threaded tests only.

    For a SQLite file, a :class:`~qleads.adapters.sql.wal.WalCheckpointer` copies the
    write-ahead log into the file every ``checkpoint_interval`` seconds on a thread of
    its own, so that commits (a claim, a sweep batch) do not pay for it; ``None`` leaves
    checkpoints to SQLite's commit-time default. It stops when the engine is garbage
    collected or :func:`~qleads.adapters.sql.wal.stop_checkpoints` is called.
    """
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as e:
        raise ConfigurationError(f"not a database URL: {url!r}") from e
    checkpointed: WalCheckpointer | None = None
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        if parsed.get_driver_name() in {"", "psycopg2"} or "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        in_file = parsed.database not in {None, "", ":memory:"}
        # A file:… URI (``?uri=true``) leaves the path to SQLite: no checkpointer.
        if checkpoint_interval is not None and in_file and not parsed.query.get("uri"):
            checkpointed = _checkpointer(str(parsed.database), checkpoint_interval)
        args = dict(engine_kwargs.pop("connect_args", {}))
        args.setdefault("timeout", _DEFAULT_BUSY_TIMEOUT_S)
        engine_kwargs["connect_args"] = args
        if not in_file:
            engine_kwargs.setdefault("poolclass", StaticPool)
            args.setdefault("check_same_thread", False)
    else:
        raise ConfigurationError(
            f"unsupported database {backend!r}: qleads runs on sqlite and postgresql"
        )
    try:
        engine = sa.create_engine(parsed, **engine_kwargs)
    except (sa_exc.ArgumentError, ImportError, TypeError) as e:
        raise ConfigurationError(f"cannot set up the database engine: {e}") from e
    prepare_engine(engine)
    if checkpointed is not None:
        start_checkpoints(engine, checkpointed)
    return engine


def _checkpointer(path: str, interval: float) -> WalCheckpointer:
    try:
        return WalCheckpointer(path, interval)
    except ValueError as e:
        raise ConfigurationError(str(e)) from e


def prepare_engine(engine: Engine) -> None:
    """Install the SQLite transaction handling on ``engine``, or on PostgreSQL the check
    of pooled connections before use (:mod:`qleads.adapters.sql.liveness`); once.

    :func:`make_engine` does it; the adapters call it again for an engine a portal made
    itself."""
    if engine.dialect.name != "sqlite":
        if engine.dialect.name != "postgresql":
            raise ConfigurationError(
                f"unsupported database {engine.dialect.name!r}: "
                "qleads runs on sqlite and postgresql"
            )
        check_connections(engine)
        return
    if not sa_event.contains(engine, "connect", _sqlite_connect):
        sa_event.listen(engine, "connect", _sqlite_connect)
        sa_event.listen(engine, "begin", _sqlite_begin)


def _configure_sqlite(dbapi_connection: sqlite3.Connection) -> None:
    # Take transactions away from pysqlite: it would BEGIN (deferred) on its own before
    # DML and commit around DDL. qleads emits BEGIN / BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def configure_sqlite(dbapi_connection: Any) -> None:
    """Hand a pooled pysqlite connection's transactions to qleads, if they are not yet:
    a connection the pool made before qleads got the engine (a portal's own engine,
    :func:`prepare_engine` called later) still has pysqlite's handling. Every path that
    takes a SQLite connection from the pool calls it: SQLAlchemy's ``begin``, the unit
    of work and the directory's direct reads."""
    if dbapi_connection.isolation_level is not None:
        _configure_sqlite(dbapi_connection)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    _configure_sqlite(dbapi_connection)


def _sqlite_begin(conn: Connection) -> None:
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is not None:
        configure_sqlite(dbapi_connection)
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# --- transactions ------------------------------------------------------------------------


@contextmanager
def write_transaction(
    engine: Engine, *, on_integrity: OnIntegrity | None = None
) -> Iterator[Connection]:
    """A connection in a write transaction, committed when the block ends (on SQLite a
    ``BEGIN IMMEDIATE`` one, waiting for other writers); driver errors become
    :class:`~qleads.errors.StorageError`, or what ``on_integrity`` makes of an integrity
    error. For the writes the adapters make around the unit of work: the directory, the
    outbox's delivery state, recounts."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
    except sa_exc.IntegrityError as e:
        if on_integrity is None:
            raise storage_error(e) from e
        raise on_integrity(e) from e
    except sa_exc.SQLAlchemyError as e:
        raise storage_error(e) from e


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reading; driver errors become
    :class:`~qleads.errors.StorageError`.

    On PostgreSQL it reads in autocommit: under READ COMMITTED a ``BEGIN`` around reads
    changes nothing they see, and the ``ROLLBACK`` that would end it on the way back to
    the pool makes psycopg drop every statement it has prepared on that connection
    (``DEALLOCATE ALL``), which the next unit of work on it would prepare again."""
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
    except sa_exc.SQLAlchemyError as e:
        raise storage_error(e) from e
