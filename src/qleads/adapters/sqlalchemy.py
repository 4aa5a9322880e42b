"""SQL storage: the lead repository and the directory on SQLite or PostgreSQL.

Built on SQLAlchemy Core: the tables below (all named ``qleads_*``), statements built
once per repository, and an explicit row → :class:`~qleads.model.Lead` mapping; the
frozen domain classes stay unmapped.

Concurrency is carried by one rule of the ports: every change of a lead is one
conditional ``UPDATE … WHERE id = :id AND version = :expected`` whose row count decides
who won. Of any number of concurrent claims exactly one matches (R3); a sweep and a record
racing for the same lead cannot both apply (R4, R11). On top of that:

* **SQLite** (the embedded default) runs in WAL mode with foreign keys on and a busy
  timeout. The pysqlite driver's own transaction handling is switched off and qleads
  emits ``BEGIN`` itself: a unit of work reads in a deferred transaction, and before its
  first write it starts a ``BEGIN IMMEDIATE`` one, so concurrent writers queue on the
  busy timeout instead of failing with "database is locked", while tab pages keep reading
  in parallel. A write never upgrades a read snapshot, so the conditional update always
  sees the latest committed version.
* **PostgreSQL** (through psycopg 3) runs at READ COMMITTED; the conditional update
  waits for a concurrent writer of the same row and then re-checks the version.
  :meth:`SqlAlchemyUnitOfWork.due` locks the due leads ``FOR UPDATE SKIP LOCKED`` so that
  several sweeping processes share the work instead of queueing (R11).

Driver errors become qleads errors (``raise StorageError(...) from e``): a duplicate
``source_id`` is :class:`~qleads.errors.IntakeConflict`, a lost version check
:class:`~qleads.errors.StaleUpdate`, anything the database reports otherwise
:class:`~qleads.errors.StorageError`.

The schema is created and upgraded by the Alembic migrations shipped in
``qleads.adapters.migrations`` (``qleads db upgrade URL``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, Self, TypeAlias

import attrs
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import StaticPool

from qleads.calendar import Calendar
from qleads.errors import (
    ConfigurationError,
    IntakeConflict,
    InvalidInput,
    LeadNotFound,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.intake import document_fingerprint, structure_stored_document, unstructure_document
from qleads.lifecycle import Status
from qleads.model import (
    Admin,
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadDocument,
    LeadSource,
    Notification,
    NotificationKind,
    ReleaseReason,
    SalesRep,
    Territory,
)
from qleads.ports import Page
from qleads.tabs import Clause, LeadQuery, Order

__all__ = [
    "ALEMBIC_VERSION_TABLE",
    "SqlAlchemyDirectory",
    "SqlAlchemyLeadRepository",
    "SqlAlchemyUnitOfWork",
    "UtcDateTime",
    "admin_table",
    "event_table",
    "handled_table",
    "hash_token",
    "installer_table",
    "lead_table",
    "make_engine",
    "metadata",
    "outbox_table",
    "rep_table",
    "source_table",
    "territory_prefix_table",
    "territory_table",
]

#: Alembic's bookkeeping table for qleads' own migrations; prefixed so that a portal
#: can keep its own Alembic history in the same database.
ALEMBIC_VERSION_TABLE: Final = "qleads_alembic_version"

_UTC = dt.UTC
#: Execution option of a connection: the next ``BEGIN`` on SQLite takes the write lock.
_WRITE_OPTION: Final = "qleads_write"
_DEFAULT_BUSY_TIMEOUT_S: Final = 60.0


# --- types -----------------------------------------------------------------------------


class _SqliteText(sqlite.DATETIME):
    """SQLite's DATETIME column, with SQLAlchemy's processing switched off: the
    :class:`UtcDateTime` decorator formats and parses the text itself (faster, and
    always in UTC)."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An instant: accepts only aware datetimes and always returns aware UTC ones.

    PostgreSQL stores ``timestamptz``. SQLite stores fixed-width UTC text
    (``2026-11-16 08:30:00.000000``), which sorts and compares like the instants
    themselves, so ``ORDER BY`` and ``deadline_at <= :now`` need no functions.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteText())  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("datetime", f"needs a timezone-aware datetime, got {value!r}")
        if dialect.name == "sqlite":
            return value.astimezone(_UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return value.astimezone(_UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value).replace(tzinfo=_UTC)
        instant: dt.datetime = value
        if instant.tzinfo is _UTC:
            return instant
        if instant.tzinfo is None:  # a column written by hand without a zone
            return instant.replace(tzinfo=_UTC)
        return instant.astimezone(_UTC)


_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_ID = sa.String(100)
#: Lead ids: BIGINT identity on PostgreSQL, the rowid alias ``INTEGER`` on SQLite.
_LEAD_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# --- tables ----------------------------------------------------------------------------

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

lead_table = sa.Table(
    "qleads_lead",
    metadata,
    sa.Column("id", _LEAD_ID, sa.Identity(), primary_key=True),
    sa.Column("source_id", sa.String(200), nullable=False, unique=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("territory_id", _ID, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_at", UtcDateTime(), nullable=False),
    sa.Column("holder_id", _ID, nullable=True),
    sa.Column("hold_until", UtcDateTime(), nullable=True),
    sa.Column("due_at", UtcDateTime(), nullable=True),
    sa.Column("deadline_kind", sa.String(30), nullable=True),
    sa.Column("deadline_at", UtcDateTime(), nullable=True),
    # The R2c marker, denormalised for a one-row mapping; qleads_lead_handled indexes it.
    sa.Column("previous_holders", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("document", _JSON, nullable=False),
    # Denormalised from the document for listings (R8 rows) and admin screens.
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("postal_code", sa.String(20), nullable=False),
    sa.Column("city", sa.String(200), nullable=False),
    # R8 tabs: an installer's own leads, and a territory's pool / a rep's leads.
    sa.Index("ix_qleads_lead_holder_status_received", "holder_id", "status", "received_at", "id"),
    sa.Index(
        "ix_qleads_lead_territory_status_received",
        "territory_id",
        "status",
        "received_at",
        "id",
    ),
    # The admin's "all" tab: newest first over everything.
    sa.Index("ix_qleads_lead_received", "received_at", "id"),
    # R11: the sweep reads only leads with a running deadline.
    sa.Index(
        "ix_qleads_lead_deadline",
        "deadline_at",
        "id",
        sqlite_where=sa.text("deadline_at IS NOT NULL"),
        postgresql_where=sa.text("deadline_at IS NOT NULL"),
    ),
)

handled_table = sa.Table(
    "qleads_lead_handled",
    metadata,
    sa.Column(
        "lead_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("installer_id", _ID, primary_key=True),
    sa.Index("ix_qleads_lead_handled_installer_id", "installer_id"),
)

event_table = sa.Table(
    "qleads_event",
    metadata,
    sa.Column("id", _LEAD_ID, sa.Identity(), primary_key=True),
    sa.Column(
        "lead_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("actor_id", _ID, nullable=False),
    sa.Column("from_status", sa.String(20), nullable=True),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("effective_at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("holder_id", _ID, nullable=True),
    sa.Column("channel", sa.String(20), nullable=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("reason", sa.String(30), nullable=True),
    sa.Column("due_at", UtcDateTime(), nullable=True),
    # One event per lead version: a second writer of the same version lost (R13).
    sa.UniqueConstraint("lead_id", "version"),
)

outbox_table = sa.Table(
    "qleads_outbox",
    metadata,
    sa.Column("id", _LEAD_ID, sa.Identity(), primary_key=True),
    # Stable per event and recipient: no mail is produced or sent twice (R10).
    sa.Column("key", sa.String(300), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("lead_id", _LEAD_ID, nullable=False),
    sa.Column("recipient_id", _ID, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("deadline_at", UtcDateTime(), nullable=True),
    sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(200), nullable=True),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("message_id", sa.String(300), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    # The dispatcher reads only what is still to be sent, earliest attempt first.
    sa.Index(
        "ix_qleads_outbox_pending",
        "next_attempt_at",
        "id",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

rep_table = sa.Table(
    "qleads_rep",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("language", sa.String(10), nullable=False, server_default="de"),
    sa.Column("country", sa.String(2), nullable=False, server_default="DE"),
    sa.Column("subdivision", sa.String(10), nullable=True),
    sa.Column("workdays", sa.String(20), nullable=False, server_default="0,1,2,3,4"),
    sa.Column("tz", sa.String(64), nullable=False, server_default="Europe/Berlin"),
)

installer_table = sa.Table(
    "qleads_installer",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("rep_id", _ID, sa.ForeignKey("qleads_rep.id"), nullable=False, index=True),
    sa.Column("language", sa.String(10), nullable=False, server_default="de"),
    sa.Column("country", sa.String(2), nullable=False, server_default="DE"),
    sa.Column("subdivision", sa.String(10), nullable=True),
    sa.Column("workdays", sa.String(20), nullable=False, server_default="0,1,2,3,4"),
    sa.Column("tz", sa.String(64), nullable=False, server_default="Europe/Berlin"),
    sa.Column("digest_hour", sa.SmallInteger(), nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
)

admin_table = sa.Table(
    "qleads_admin",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("language", sa.String(10), nullable=False, server_default="de"),
)

source_table = sa.Table(
    "qleads_source",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the intake API token; the token itself is never stored.
    sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
)

territory_table = sa.Table(
    "qleads_territory",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("rep_id", _ID, sa.ForeignKey("qleads_rep.id"), nullable=False, index=True),
)

territory_prefix_table = sa.Table(
    "qleads_territory_prefix",
    metadata,
    sa.Column(
        "territory_id",
        _ID,
        sa.ForeignKey("qleads_territory.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("prefix", sa.String(20), primary_key=True),
)


# --- engines ---------------------------------------------------------------------------


def make_engine(url: str | sa.URL, **engine_kwargs: Any) -> Engine:
    """An engine for a qleads database, set up as this module needs it.

    ``sqlite:///path`` and ``postgresql://…`` (psycopg 3 is chosen when the URL names no
    driver) are accepted; anything else raises
    :class:`~qleads.errors.ConfigurationError`. ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` (``pool_size``, ``max_overflow``, ``poolclass`` …).
    An in-memory SQLite database lives on one shared connection (``StaticPool``) and
    suits single-threaded tests only.
    """
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as e:
        raise ConfigurationError(f"not a database URL: {url!r}") from e
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        if parsed.get_driver_name() in {"", "psycopg2"} or "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        args = dict(engine_kwargs.pop("connect_args", {}))
        args.setdefault("timeout", _DEFAULT_BUSY_TIMEOUT_S)
        engine_kwargs["connect_args"] = args
        if parsed.database in {None, "", ":memory:"}:
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
    _prepare(engine)
    return engine


def _prepare(engine: Engine) -> None:
    """Install the SQLite transaction handling on ``engine`` (once; no-op elsewhere)."""
    if engine.dialect.name != "sqlite":
        if engine.dialect.name != "postgresql":
            raise ConfigurationError(
                f"unsupported database {engine.dialect.name!r}: "
                "qleads runs on sqlite and postgresql"
            )
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


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    _configure_sqlite(dbapi_connection)


def _sqlite_begin(conn: Connection) -> None:
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is not None and dbapi_connection.isolation_level is not None:
        # A connection the pool made before qleads got the engine.
        _configure_sqlite(dbapi_connection)  # type: ignore[arg-type]
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# --- error translation -----------------------------------------------------------------


def _integrity_kind(error: sa_exc.IntegrityError) -> str:
    """``"unique"``, ``"foreign_key"`` or ``"other"``, from the driver's own error."""
    orig = error.orig
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


def _storage_error(error: sa_exc.SQLAlchemyError) -> QleadsError:
    """The qleads error for a driver error nobody handled more specifically."""
    if isinstance(error, sa_exc.StatementError) and isinstance(error.orig, QleadsError):
        return error.orig  # raised by a bind processor (a naive datetime)
    orig = getattr(error, "orig", None)
    detail = str(orig) if orig is not None else str(error)
    kind = type(error).__name__
    return StorageError(f"database error ({kind}): {detail.strip().splitlines()[0]}")


_Select: TypeAlias = sa.Select[*tuple[Any, ...]]
_Row: TypeAlias = Sequence[Any]
_OnIntegrity = Callable[[sa_exc.IntegrityError], QleadsError]


# --- row mapping -----------------------------------------------------------------------

_STATUS: Final = {s.value: s for s in Status}
_DEADLINE_KIND: Final = {k.value: k for k in DeadlineKind}
_EVENT_KIND: Final = {k.value: k for k in EventKind}
_CHANNEL: Final = {c.value: c for c in Channel}
_REASON: Final = {r.value: r for r in ReleaseReason}
_NOTIFICATION_KIND: Final = {k.value: k for k in NotificationKind}
_NO_HOLDERS: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=4096)
def _holders(text: str) -> frozenset[str]:
    if text == "[]":
        return _NO_HOLDERS
    return frozenset(json.loads(text))


def _holders_text(holders: frozenset[str]) -> str:
    return json.dumps(sorted(holders), separators=(",", ":")) if holders else "[]"


def _document_values(document: LeadDocument) -> dict[str, Any]:
    contact = document.contact
    return {
        "document": unstructure_document(document),
        "fingerprint": document_fingerprint(document),
        "name": contact.name,
        "postal_code": contact.postal_code,
        "city": contact.city,
    }


def _state_values(lead: Lead) -> dict[str, Any]:
    deadline = lead.deadline
    return {
        "received_at": lead.received_at,
        "territory_id": lead.territory_id,
        "status": lead.status.value,
        "status_at": lead.status_at,
        "holder_id": lead.holder_id,
        "hold_until": lead.hold_until,
        "due_at": lead.due_at,
        "deadline_kind": deadline.kind.value if deadline is not None else None,
        "deadline_at": deadline.at if deadline is not None else None,
        "previous_holders": _holders_text(lead.previous_holders),
        "version": lead.version,
    }


def _event_from_row(row: _Row) -> HistoryEvent:
    (
        lead_id,
        version,
        kind,
        actor_id,
        from_status,
        to_status,
        effective_at,
        recorded_at,
        holder_id,
        channel,
        note,
        reason,
        due_at,
    ) = row
    return HistoryEvent(
        lead_id=lead_id,
        version=version,
        kind=_EVENT_KIND[kind],
        actor_id=actor_id,
        from_status=_STATUS[from_status] if from_status is not None else None,
        to_status=_STATUS[to_status],
        effective_at=effective_at,
        recorded_at=recorded_at,
        holder_id=holder_id,
        channel=_CHANNEL[channel] if channel is not None else None,
        note=note,
        reason=_REASON[reason] if reason is not None else None,
        due_at=due_at,
    )


def _event_values(event: HistoryEvent) -> dict[str, Any]:
    return {
        "lead_id": event.lead_id,
        "version": event.version,
        "kind": event.kind.value,
        "actor_id": event.actor_id,
        "from_status": event.from_status.value if event.from_status is not None else None,
        "to_status": event.to_status.value,
        "effective_at": event.effective_at,
        "recorded_at": event.recorded_at,
        "holder_id": event.holder_id,
        "channel": event.channel.value if event.channel is not None else None,
        "note": event.note,
        "reason": event.reason.value if event.reason is not None else None,
        "due_at": event.due_at,
    }


def _notification_values(notification: Notification) -> dict[str, Any]:
    return {
        "key": notification.key,
        "kind": notification.kind.value,
        "lead_id": notification.lead_id,
        "recipient_id": notification.recipient_id,
        "created_at": notification.created_at,
        "deadline_at": notification.deadline_at,
        "next_attempt_at": notification.created_at,
    }


# --- statements ------------------------------------------------------------------------

_L = lead_table.c
_BY_RECEIVED: Final = (_L.received_at.desc(), _L.id.desc())
_BY_DUE: Final = (_L.due_at.asc().nulls_last(), _L.id.asc())
#: Shape of a clause for the statement cache: the statuses (part of the SQL, so that
#: partial indexes and plans can use them), whether territories are given (and empty),
#: whether a holder is named, ``held``, ``unrouted``.
_ClauseShape = tuple[frozenset[Status] | None, int, bool, bool, bool]
_STATEMENT_CACHE_SIZE: Final = 512


def _clause_shape(clause: Clause) -> _ClauseShape:
    territories = clause.territory_ids
    marker = 0 if territories is None else (1 if territories else 2)
    return (clause.statuses, marker, clause.holder_id is not None, clause.held, clause.unrouted)


def _condition(shapes: Sequence[_ClauseShape], prefix: str) -> sa.ColumnElement[bool]:
    """The SQL of a disjunction of clauses (``qleads.tabs.Clause.holds_for``), with bind
    parameters ``{prefix}t{i}`` (territory ids) and ``{prefix}h{i}`` (holder)."""
    terms: list[sa.ColumnElement[bool]] = []
    for i, (statuses, territories, holder, held, unrouted) in enumerate(shapes):
        parts: list[sa.ColumnElement[bool]] = []
        if statuses is not None:
            values = sorted(s.value for s in statuses)
            parts.append(_L.status.in_(values) if values else sa.false())
        if territories == 1:
            parts.append(_L.territory_id.in_(sa.bindparam(f"{prefix}t{i}", expanding=True)))
        elif territories == 2:
            parts.append(sa.false())
        if holder:
            parts.append(_L.holder_id == sa.bindparam(f"{prefix}h{i}", type_=sa.String()))
        if held:
            parts.append(_L.holder_id.is_not(None))
        if unrouted:
            parts.append(_L.territory_id.is_(None))
        terms.append(sa.and_(sa.true(), *parts) if parts else sa.true())
    return sa.or_(*terms) if len(terms) > 1 else terms[0]


def _condition_params(clauses: Sequence[Clause], prefix: str, params: dict[str, Any]) -> None:
    for i, clause in enumerate(clauses):
        if clause.territory_ids:
            params[f"{prefix}t{i}"] = sorted(clause.territory_ids)
        if clause.holder_id is not None:
            params[f"{prefix}h{i}"] = clause.holder_id


class _Statements:
    """Every statement of the repository, built once for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect_name = dialect.name
        if dialect.name == "postgresql":
            document: sa.ColumnElement[Any] = sa.cast(_L.document, sa.Text())
            insert: Callable[[sa.Table], Any] = postgresql.insert
        else:
            document = sa.type_coerce(_L.document, sa.Text())
            insert = sqlite.insert
        self.lead_columns: tuple[sa.ColumnElement[Any], ...] = (
            _L.id,
            document.label("document"),
            _L.received_at,
            _L.territory_id,
            _L.status,
            _L.status_at,
            _L.holder_id,
            _L.hold_until,
            _L.due_at,
            _L.deadline_kind,
            _L.deadline_at,
            _L.previous_holders,
            _L.version,
        )
        select = sa.select(*self.lead_columns)
        self.get = select.where(_L.id == sa.bindparam("id"))
        self.get_by_source = select.where(_L.source_id == sa.bindparam("source_id"))
        self.due = (
            select.where(
                _L.deadline_at.is_not(None),
                _L.deadline_at <= sa.bindparam("now", type_=UtcDateTime()),
            )
            .order_by(_L.deadline_at, _L.id)
            .limit(sa.bindparam("limit", type_=sa.Integer()))
            .with_for_update(skip_locked=True)
        )
        self.source_owner = sa.select(_L.id).where(_L.source_id == sa.bindparam("source_id"))
        self.version_of = sa.select(_L.version).where(_L.id == sa.bindparam("id"))
        self.add = (
            insert(lead_table)
            .on_conflict_do_nothing(index_elements=[_L.source_id])
            .returning(_L.id)
        )
        state = {
            name: sa.bindparam(f"p_{name}", type_=lead_table.c[name].type)
            for name in _state_values_names()
        }
        documents = {
            name: sa.bindparam(f"p_{name}", type_=lead_table.c[name].type)
            for name in ("document", "fingerprint", "name", "postal_code", "city")
        }
        where = (_L.id == sa.bindparam("p_id"), _L.version == sa.bindparam("p_expected"))
        self.update_state = sa.update(lead_table).where(*where).values(state)
        self.update_all = sa.update(lead_table).where(*where).values({**state, **documents})
        h = handled_table.c
        self.add_handled = insert(handled_table).on_conflict_do_nothing(
            index_elements=[h.lead_id, h.installer_id]
        )
        self.remove_handled = sa.delete(handled_table).where(
            h.lead_id == sa.bindparam("lead_id"),
            h.installer_id.in_(sa.bindparam("installer_ids", expanding=True)),
        )
        self.keep_handled = sa.delete(handled_table).where(
            h.lead_id == sa.bindparam("lead_id"),
            h.installer_id.not_in(sa.bindparam("installer_ids", expanding=True)),
        )
        e = event_table.c
        self.append = sa.insert(event_table)
        self.history = (
            sa.select(
                e.lead_id,
                e.version,
                e.kind,
                e.actor_id,
                e.from_status,
                e.to_status,
                e.effective_at,
                e.recorded_at,
                e.holder_id,
                e.channel,
                e.note,
                e.reason,
                e.due_at,
            )
            .where(e.lead_id == sa.bindparam("lead_id"))
            .order_by(e.version, e.id)
        )
        self.enqueue = insert(outbox_table).on_conflict_do_nothing(
            index_elements=[outbox_table.c.key]
        )
        self._finds: dict[tuple[tuple[_ClauseShape, ...], Order], _Select] = {}
        self._counts: dict[tuple[tuple[_ClauseShape, ...], ...], _Select] = {}
        self._lock = threading.Lock()

    def find(self, shapes: tuple[_ClauseShape, ...], order: Order) -> _Select:
        """A page of leads plus, in the same row, the total (an uncorrelated subquery the
        databases evaluate once)."""
        key = (shapes, order)
        statement = self._finds.get(key)
        if statement is None:
            condition = _condition(shapes, "q")
            total = sa.select(sa.func.count()).select_from(lead_table).where(condition)
            statement = (
                sa.select(*self.lead_columns, total.scalar_subquery().label("total"))
                .where(condition)
                .order_by(*(_BY_DUE if order is Order.DUE_ASC else _BY_RECEIVED))
                .limit(sa.bindparam("limit", type_=sa.Integer()))
                .offset(sa.bindparam("offset", type_=sa.Integer()))
            )
            self._remember(self._finds, key, statement)
        return statement

    def total(self, shapes: tuple[_ClauseShape, ...]) -> _Select:
        return self.counts((shapes,))

    def counts(self, shapes: tuple[tuple[_ClauseShape, ...], ...]) -> _Select:
        """One row, one column per query: a scalar ``count(*)`` subquery each, so that
        every count uses the index that suits it (one round trip, R8)."""
        statement = self._counts.get(shapes)
        if statement is None:
            statement = sa.select(
                *(
                    sa.select(sa.func.count())
                    .select_from(lead_table)
                    .where(_condition(query_shapes, f"c{n}_"))
                    .scalar_subquery()
                    .label(f"n{n}")
                    for n, query_shapes in enumerate(shapes)
                )
            )
            self._remember(self._counts, shapes, statement)
        return statement

    def _remember(self, cache: dict[Any, _Select], key: Any, value: _Select) -> None:
        with self._lock:
            if len(cache) >= _STATEMENT_CACHE_SIZE:
                cache.clear()
            cache[key] = value


def _state_values_names() -> tuple[str, ...]:
    return (
        "received_at",
        "territory_id",
        "status",
        "status_at",
        "holder_id",
        "hold_until",
        "due_at",
        "deadline_kind",
        "deadline_at",
        "previous_holders",
        "version",
    )


# --- the repository --------------------------------------------------------------------


class SqlAlchemyLeadRepository:
    """The :class:`~qleads.ports.LeadRepository` on a SQL database.

    Share one instance per process (it is thread-safe; every unit of work takes its own
    pooled connection). For 100 concurrent threads, give the engine a pool that large
    (``pool_size``/``max_overflow``) or ``poolclass=NullPool``.
    """

    def __init__(self, engine: Engine, *, document_cache_size: int = 4096) -> None:
        _prepare(engine)
        self.engine = engine
        self._owns_engine = False
        self._statements = _Statements(engine.dialect)

        # Lead documents are immutable values: parsing and structuring one is the
        # dominant cost of mapping a row, so the result is cached by its exact JSON text.
        @functools.lru_cache(maxsize=document_cache_size)
        def document(text: str) -> LeadDocument:
            return structure_stored_document(json.loads(text))

        self._document: Callable[[str], LeadDocument] = document

    @classmethod
    def from_url(cls, url: str | sa.URL, **engine_kwargs: Any) -> Self:
        """A repository on its own engine (see :func:`make_engine`); :meth:`close`
        disposes of the engine."""
        repository = cls(make_engine(url, **engine_kwargs))
        repository._owns_engine = True
        return repository

    def upgrade_schema(self) -> None:
        """Create or upgrade the tables (the Alembic migrations, as ``qleads db upgrade``)."""
        from qleads.adapters.migrations import upgrade

        upgrade(self.engine)

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self)

    def close(self) -> None:
        """Release pooled connections (only of an engine made by :meth:`from_url`)."""
        if self._owns_engine:
            self.engine.dispose()

    def notifications(self) -> list[Notification]:
        """Every committed outbox record, oldest first, whatever its delivery state (the
        same reading side as ``InMemoryLeadRepository.notifications``)."""
        o = outbox_table.c
        statement = sa.select(
            o.key, o.kind, o.lead_id, o.recipient_id, o.created_at, o.deadline_at
        ).order_by(o.id)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(statement).all()
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e
        return [
            Notification(
                key=r[0],
                kind=_NOTIFICATION_KIND[r[1]],
                lead_id=r[2],
                recipient_id=r[3],
                created_at=r[4],
                deadline_at=r[5],
            )
            for r in rows
        ]

    def _lead(self, row: Sequence[Any]) -> Lead:
        deadline_kind = row[9]
        return Lead(
            row[0],
            self._document(row[1]),
            row[2],
            row[3],
            _STATUS[row[4]],
            row[5],
            row[6],
            row[7],
            row[8],
            Deadline(_DEADLINE_KIND[deadline_kind], row[10]) if deadline_kind is not None else None,
            _holders(row[11]),
            row[12],
        )


class SqlAlchemyUnitOfWork:
    """One database transaction (the :class:`~qleads.ports.UnitOfWork` port); leaving
    the ``with`` block without :meth:`commit` rolls it back."""

    def __init__(self, repository: SqlAlchemyLeadRepository) -> None:
        self._repository = repository
        self._statements = repository._statements
        self._sqlite = repository.engine.dialect.name == "sqlite"
        self._conn: Connection | None = None
        self._writing = False
        #: Leads as this unit read them, to skip rewriting what did not change.
        self._seen: dict[int, Lead] = {}

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        try:
            self._conn = self._repository.engine.connect()
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e
        self._writing = False
        self._seen = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        self._conn = None
        self._seen = {}
        if conn is None:
            return
        try:
            conn.close()  # rolls back whatever was not committed
        except sa_exc.SQLAlchemyError as e:
            if exc is None:
                raise _storage_error(e) from e

    def commit(self) -> None:
        conn = self._connection()
        try:
            conn.commit()
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e
        self._read_mode(conn)

    def rollback(self) -> None:
        conn = self._connection()
        try:
            conn.rollback()
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e
        self._read_mode(conn)

    # --- plumbing ----------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._conn

    def _read_mode(self, conn: Connection) -> None:
        if self._writing:
            self._writing = False
            if self._sqlite:
                conn.execution_options(**{_WRITE_OPTION: False})

    def _for_writing(self) -> Connection:
        """The connection, inside a write transaction. On SQLite a read transaction is
        ended first (it holds nothing worth keeping: every write is conditional) and the
        next statement begins with ``BEGIN IMMEDIATE``, which waits for other writers on
        the busy timeout instead of failing."""
        conn = self._connection()
        if not self._writing:
            self._writing = True
            if self._sqlite:
                if conn.in_transaction():
                    try:
                        conn.commit()
                    except sa_exc.SQLAlchemyError as e:
                        raise _storage_error(e) from e
                conn.execution_options(**{_WRITE_OPTION: True})
        return conn

    @staticmethod
    def _execute(
        conn: Connection,
        statement: sa.Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        on_integrity: _OnIntegrity | None = None,
    ) -> sa.CursorResult[Any]:
        try:
            return conn.execute(statement, params)
        except sa_exc.IntegrityError as e:
            if on_integrity is not None:
                raise on_integrity(e) from e
            raise _storage_error(e) from e
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e

    # --- the port ------------------------------------------------------------------------

    def add(self, draft: Lead) -> Lead:
        conn = self._for_writing()
        values = {
            "source_id": draft.source_id,
            **_document_values(draft.document),
            **_state_values(draft),
        }
        row = self._execute(conn, self._statements.add, values).first()
        if row is None:
            owner = self._execute(
                conn, self._statements.source_owner, {"source_id": draft.source_id}
            ).scalar()
            raise IntakeConflict(draft.source_id, int(owner) if owner is not None else 0)
        lead = attrs.evolve(draft, id=int(row[0]))
        if lead.previous_holders:
            self._execute(
                conn,
                self._statements.add_handled,
                [{"lead_id": lead.id, "installer_id": i} for i in sorted(lead.previous_holders)],
            )
        self._seen[lead.id] = lead
        return lead

    def get(self, lead_id: int) -> Lead:
        conn = self._connection()
        row = self._execute(conn, self._statements.get, {"id": lead_id}).first()
        if row is None:
            raise LeadNotFound(lead_id)
        lead = self._repository._lead(row)
        self._seen[lead.id] = lead
        return lead

    def get_by_source(self, source_id: str) -> Lead | None:
        conn = self._connection()
        row = self._execute(conn, self._statements.get_by_source, {"source_id": source_id}).first()
        if row is None:
            return None
        lead = self._repository._lead(row)
        self._seen[lead.id] = lead
        return lead

    def update(self, lead: Lead, *, expected_version: int) -> None:
        """One conditional ``UPDATE``: its row count is the whole concurrency control
        (R3, R11). The document is rewritten only if it is not the one this unit read."""
        conn = self._for_writing()
        statements = self._statements
        if lead.version != expected_version + 1:
            raise StaleUpdate(lead.id, expected_version)
        seen = self._seen.get(lead.id)
        known = seen is not None and seen.version == expected_version
        params = {f"p_{k}": v for k, v in _state_values(lead).items()}
        params["p_id"] = lead.id
        params["p_expected"] = expected_version
        if known and seen is not None and seen.document is lead.document:
            statement = statements.update_state
        else:
            statement = statements.update_all
            params.update({f"p_{k}": v for k, v in _document_values(lead.document).items()})
        result = self._execute(conn, statement, params)
        if result.rowcount != 1:
            stored = self._execute(conn, statements.version_of, {"id": lead.id}).first()
            if stored is None:
                raise LeadNotFound(lead.id)
            raise StaleUpdate(lead.id, expected_version)
        self._sync_handled(conn, lead, seen.previous_holders if known and seen else None)
        self._seen[lead.id] = lead

    def _sync_handled(self, conn: Connection, lead: Lead, before: frozenset[str] | None) -> None:
        """Keep ``qleads_lead_handled`` equal to ``previous_holders`` (R2c)."""
        now = lead.previous_holders
        if before is not None and before == now:
            return
        statements = self._statements
        if before is None:
            self._execute(
                conn,
                statements.keep_handled,
                {"lead_id": lead.id, "installer_ids": sorted(now)},
            )
            added = now
        else:
            removed = before - now
            if removed:
                self._execute(
                    conn,
                    statements.remove_handled,
                    {"lead_id": lead.id, "installer_ids": sorted(removed)},
                )
            added = now - before
        if added:
            self._execute(
                conn,
                statements.add_handled,
                [{"lead_id": lead.id, "installer_id": i} for i in sorted(added)],
            )

    def append(self, events: Sequence[HistoryEvent]) -> None:
        if not events:
            return
        conn = self._for_writing()

        def refused(error: sa_exc.IntegrityError) -> QleadsError:
            first = events[0]
            if _integrity_kind(error) == "foreign_key":
                return LeadNotFound(first.lead_id)
            # Another writer already produced this version of the lead.
            return StaleUpdate(first.lead_id, first.version - 1)

        self._execute(
            conn,
            self._statements.append,
            [_event_values(e) for e in events],
            on_integrity=refused,
        )

    def history(self, lead_id: int) -> list[HistoryEvent]:
        conn = self._connection()
        rows = self._execute(conn, self._statements.history, {"lead_id": lead_id}).all()
        return [_event_from_row(row) for row in rows]

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        conn = self._for_writing()
        self._execute(
            conn,
            self._statements.enqueue,
            [_notification_values(n) for n in notifications],
        )

    def find(self, query: LeadQuery) -> Page:
        if not query.clauses:
            return Page(leads=(), total=0)
        conn = self._connection()
        shapes = tuple(_clause_shape(c) for c in query.clauses)
        params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        _condition_params(query.clauses, "q", params)
        rows = self._execute(conn, self._statements.find(shapes, query.order), params).all()
        lead = self._repository._lead
        if rows:
            return Page(leads=tuple(lead(row) for row in rows), total=int(rows[0][-1]))
        # An empty page (past the end): the total still counts.
        return Page(leads=(), total=self._counts(conn, [query])[0])

    def counts(self, queries: Sequence[LeadQuery]) -> list[int]:
        if not queries:
            return []
        return self._counts(self._connection(), queries)

    def _counts(self, conn: Connection, queries: Sequence[LeadQuery]) -> list[int]:
        asked = [q for q in queries if q.clauses]
        totals: list[int] = []
        if asked:
            shapes = tuple(tuple(_clause_shape(c) for c in q.clauses) for q in asked)
            params: dict[str, Any] = {}
            for n, q in enumerate(asked):
                _condition_params(q.clauses, f"c{n}_", params)
            row = self._execute(conn, self._statements.counts(shapes), params).one()
            totals = [int(v) for v in row]
        found = iter(totals)
        return [next(found) if q.clauses else 0 for q in queries]

    def due(self, now: dt.datetime, limit: int) -> list[Lead]:
        """Locks what it returns (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
        write lock of ``BEGIN IMMEDIATE``), so parallel sweeps share the due leads."""
        if limit < 1:
            return []
        conn = self._for_writing()
        rows = self._execute(conn, self._statements.due, {"now": now, "limit": limit}).all()
        lead_of = self._repository._lead
        leads = [lead_of(row) for row in rows]
        for lead in leads:
            self._seen[lead.id] = lead
        return leads


# --- the directory ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    """How a lead source's API token is stored: its SHA-256, hex. A token is a long
    random secret, so a plain (unsalted) hash is enough and allows the indexed lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1024)
def _calendar(country: str, subdivision: str | None, workdays: str, tz: str | None) -> Calendar:
    days = frozenset(int(d) for d in workdays.split(",") if d.strip())
    return Calendar(country=country, subdivision=subdivision, workdays=days, tz=tz)


def _calendar_values(calendar: Calendar) -> dict[str, Any]:
    return {
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "workdays": ",".join(str(d) for d in sorted(calendar.workdays)),
        "tz": calendar.tz,
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
)
_SELECT_INSTALLERS: Final = sa.select(*_INSTALLER_COLUMNS)
_SELECT_INSTALLER: Final = _SELECT_INSTALLERS.where(_I.id == sa.bindparam("id"))
_SELECT_INSTALLERS_OF: Final = _SELECT_INSTALLERS.where(
    _I.rep_id == sa.bindparam("rep_id")
).order_by(_I.id)
_SELECT_REPS: Final = sa.select(
    _R.id, _R.name, _R.email, _R.language, _R.country, _R.subdivision, _R.workdays, _R.tz
)
_SELECT_REP: Final = _SELECT_REPS.where(_R.id == sa.bindparam("id"))
_SELECT_ADMINS: Final = sa.select(_A.id, _A.name, _A.email, _A.language)
_SELECT_ADMIN: Final = _SELECT_ADMINS.where(_A.id == sa.bindparam("id"))
_SELECT_SOURCES: Final = sa.select(_S.id, _S.name)
_SELECT_SOURCE: Final = _SELECT_SOURCES.where(_S.id == sa.bindparam("id"))
_SELECT_SOURCE_BY_TOKEN: Final = _SELECT_SOURCES.where(_S.token_hash == sa.bindparam("token_hash"))
_SELECT_TERRITORIES: Final = (
    sa.select(_T.id, _T.name, _T.country, _T.rep_id, _P.prefix)
    .select_from(territory_table.outerjoin(territory_prefix_table))
    .order_by(_T.id, _P.prefix)
)
_SELECT_TERRITORY: Final = _SELECT_TERRITORIES.where(_T.id == sa.bindparam("id"))


def _installer(row: Sequence[Any]) -> Installer:
    return Installer(
        id=row[0],
        name=row[1],
        email=row[2],
        rep_id=row[3],
        language=row[4],
        calendar=_calendar(row[5], row[6], row[7], row[8]),
        digest_hour=row[9],
        active=bool(row[10]),
    )


def _rep(row: Sequence[Any]) -> SalesRep:
    return SalesRep(
        id=row[0],
        name=row[1],
        email=row[2],
        language=row[3],
        calendar=_calendar(row[4], row[5], row[6], row[7]),
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


class SqlAlchemyDirectory:
    """The :class:`~qleads.ports.Directory` in the ``qleads_*`` directory tables, with
    the writes a portal's admin screens need.

    Reads run in short read transactions of their own (they never wait for a writer on
    SQLite); writes raise :class:`~qleads.errors.InvalidInput` for a duplicate id, an
    unknown id or a reference to a sales rep that does not exist.
    """

    def __init__(self, engine: Engine) -> None:
        _prepare(engine)
        self.engine = engine
        self._owns_engine = False
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._add_prefixes = insert(territory_prefix_table).on_conflict_do_nothing()

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
    ) -> list[_Row]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(statement, params).all())
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e

    @contextmanager
    def _writing(self, what: str, ident: str) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except sa_exc.IntegrityError as e:
            kind = _integrity_kind(e)
            if kind == "unique":
                raise InvalidInput("id", f"{what} {ident!r} exists already") from e
            if kind == "foreign_key":
                raise InvalidInput("rep_id", f"{what} {ident!r} names an unknown sales rep") from e
            raise _storage_error(e) from e
        except sa_exc.SQLAlchemyError as e:
            raise _storage_error(e) from e

    @staticmethod
    def _changed(result: sa.CursorResult[Any], what: str, ident: str) -> None:
        if result.rowcount != 1:
            raise InvalidInput("id", f"no {what} {ident!r}")

    # --- reads (the port) ----------------------------------------------------------------

    def installer(self, installer_id: str) -> Installer | None:
        rows = self._read(_SELECT_INSTALLER, {"id": installer_id})
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
        return [_installer(r) for r in self._read(_SELECT_INSTALLERS_OF, {"rep_id": rep_id})]

    def territory(self, territory_id: str) -> Territory | None:
        found = _territories(self._read(_SELECT_TERRITORY, {"id": territory_id}))
        return found[0] if found else None

    def territories(self) -> Sequence[Territory]:
        return _territories(self._read(_SELECT_TERRITORIES))

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
