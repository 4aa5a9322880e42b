"""Driver errors as qleads errors: what the SQL adapters raise when the database refuses
a statement, a connection cannot be had, or a connection is lost.

Every error a caller sees belongs to :class:`~qleads.errors.QleadsError`, chained to the
SQLAlchemy exception it stands for (``raise StorageError(...) from e``). A duplicate
``source_id`` or a lost version check is told apart by the adapter that knows what it
wrote (``on_integrity``); anything else the database reports is
:class:`~qleads.errors.StorageError`, with the driver's first line only: later lines hold
hints and ``DETAIL`` (with a duplicate key's value, customer data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeAlias

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, Engine

from qleads.errors import QleadsError, StorageError

__all__ = [
    "OnIntegrity",
    "checkout",
    "integrity_kind",
    "raise_driver_error",
    "storage_error",
    "storage_errors",
]

#: The qleads error for an integrity error of a statement whose writer knows what it
#: means (a duplicate, a missing lead, a version another writer produced).
OnIntegrity: TypeAlias = Callable[[sa_exc.IntegrityError], QleadsError]


def integrity_kind(error: sa_exc.IntegrityError) -> str:
    """``"unique"``, ``"foreign_key"`` or ``"other"``, from the driver's own error."""
    return _driver_integrity_kind(error.orig)


def _driver_integrity_kind(orig: BaseException | None) -> str:
    """:func:`integrity_kind` of the DB-API driver's exception."""
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return {"23505": "unique", "23503": "foreign_key"}.get(sqlstate, "other")
    name = getattr(orig, "sqlite_errorname", "") or ""
    text = str(orig)
    if "UNIQUE" in name or "PRIMARYKEY" in name or "UNIQUE constraint" in text:
        return "unique"
    if "FOREIGNKEY" in name or "FOREIGN KEY constraint" in text:
        return "foreign_key"
    return "other"


def storage_error(error: sa_exc.SQLAlchemyError) -> QleadsError:
    """The qleads error for a driver error nobody handled more specifically."""
    if isinstance(error, sa_exc.StatementError) and isinstance(error.orig, QleadsError):
        return error.orig  # raised by a bind processor (a naive datetime)
    orig = getattr(error, "orig", None)
    detail = _first_line(orig if orig is not None else error)
    return StorageError(f"database error ({type(error).__name__}): {detail}")


def _first_line(error: BaseException) -> str:
    """The driver's first line: later ones hold hints, ``DETAIL`` (with a duplicate
    key's value, customer data) and SQLAlchemy's background link."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def storage_errors() -> Iterator[None]:
    """Driver errors raised in the block become :class:`~qleads.errors.StorageError`:
    for statements an adapter runs on a connection its caller handed over."""
    try:
        yield
    except sa_exc.SQLAlchemyError as e:
        raise storage_error(e) from e


def checkout(engine: Engine) -> Any:
    """A pooled DB-API connection (``engine.raw_connection()``), or the
    :class:`~qleads.errors.StorageError` saying why there is none: the server is down or
    refuses, the SQLite file cannot be opened, the pool is exhausted. Unlike
    ``engine.connect()``, ``raw_connection()`` lets the driver's own errors through
    (``psycopg.OperationalError``, ``sqlite3.OperationalError``)."""
    dbapi: Any = engine.dialect.loaded_dbapi
    try:
        return engine.raw_connection()
    except sa_exc.SQLAlchemyError as e:
        raise storage_error(e) from e
    except dbapi.Error as e:
        raise_driver_error(e, engine.dialect)


def raise_driver_error(
    error: Exception,
    dialect: Dialect,
    statement: str | None = None,
    params: Any = None,
    *,
    invalidated: bool = False,
    on_integrity: OnIntegrity | None = None,
) -> NoReturn:
    """Raise the qleads error for an error of the DB-API driver, chained (like on
    SQLAlchemy's own execution path) to the SQLAlchemy exception it stands for."""
    wrapped = sa_exc.DBAPIError.instance(
        statement,
        params,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=invalidated,
        dialect=dialect,
    )
    if isinstance(wrapped, sa_exc.IntegrityError) and on_integrity is not None:
        raise on_integrity(wrapped) from wrapped
    if isinstance(wrapped, sa_exc.SQLAlchemyError):
        raise storage_error(wrapped) from wrapped
    raise StorageError(f"database error ({type(error).__name__}): {_first_line(error)}") from error
