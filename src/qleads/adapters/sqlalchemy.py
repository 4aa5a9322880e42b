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

Tab pages and counts (R8) cost the same at 10k and 1M leads: totals come from the
counter table ``qleads_lead_count`` (leads per territory, status and held-or-not), which
every unit of work updates in its own transaction just before ``COMMIT``, in one global
lock order; a page of a territory/status tab reads the top rows of each (territory,
status) pair through the index and merges them (see :meth:`_Statements._page`).

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
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, NoReturn, Self, TypeAlias

import attrs
import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.pool import StaticPool

from qleads.adapters.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from qleads.adapters.checkpoint import DEFAULT_INTERVAL_S as DEFAULT_CHECKPOINT_INTERVAL_S
from qleads.adapters.liveness import check_connections
from qleads.calendar import Calendar
from qleads.documents import document_fingerprint, structure_stored_document, unstructure_document
from qleads.errors import (
    ConfigurationError,
    IntakeConflict,
    InvalidInput,
    LeadNotFound,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.instants import require_utc
from qleads.lifecycle import TERMINAL_STATUSES, Status
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
    LeadSummary,
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
    "RECOUNT_SQL",
    "UNROUTED",
    "SqlAlchemyDirectory",
    "SqlAlchemyLeadRepository",
    "SqlAlchemyUnitOfWork",
    "UtcDateTime",
    "admin_table",
    "event_table",
    "handled_table",
    "hash_token",
    "installer_table",
    "lead_count_table",
    "lead_table",
    "make_engine",
    "metadata",
    "outbox_table",
    "rep_table",
    "source_table",
    "stop_checkpoints",
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
        value = require_utc("datetime", value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

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


@functools.lru_cache(maxsize=256)
def _status_in(statuses: frozenset[Status]) -> str:
    """The SQL condition "status is one of ``statuses``", always in the same text (sorted
    literals), so that a partial index of such a condition serves a query that writes it
    the same way (SQLite matches the terms as written)."""
    quoted = ", ".join("'" + s.value + "'" for s in sorted(statuses, key=lambda s: s.value))
    return f"status IN ({quoted})" if quoted else "1 = 0"


#: A lead's state: what a transition changes, and with the id, the three contact
#: columns below and without the document, what a tab row shows.
_STATE_COLUMNS: Final = (
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

#: R8 tabs without a status filter (a rep's "all" and "mine"): newest per territory, read
#: from one index alone (migrations 0006 and 0007). At a million leads the 50 rows of such
#: a page sit on 50 table pages that no cache holds, while a territory's newest rows sit
#: side by side in an index that carries them. SQLite's index carries every column of a
#: tab row (:data:`_SUMMARY_COLUMNS`) after the key. PostgreSQL's includes them all but
#: ``previous_holders``: it refuses index rows over 2,704 bytes, and that column has no
#: bound, while the others are bounded by their types (about 2.6 kB together at their
#: widest); a page reads a lead's previous holders from ``qleads_lead_handled`` instead.
#: :data:`DIALECT_INDEXES` names which index each dialect has.
_TERRITORY_KEY: Final = ("territory_id", "received_at", "id")
_ROW_COLUMNS: Final = (
    *(c for c in _STATE_COLUMNS if c not in _TERRITORY_KEY),
    "name",
    "postal_code",
    "city",
)
#: What PostgreSQL's territory indexes include: the row but ``previous_holders``.
_INCLUDED_COLUMNS: Final = tuple(c for c in _ROW_COLUMNS if c != "previous_holders")
sa.Index(
    "ix_qleads_lead_territory_received_included",
    *(lead_table.c[name] for name in _TERRITORY_KEY),
    postgresql_include=list(_INCLUDED_COLUMNS),
).ddl_if(dialect="postgresql")
sa.Index(
    "ix_qleads_lead_territory_received_rows",
    *(lead_table.c[name] for name in (*_TERRITORY_KEY, *_ROW_COLUMNS)),
).ddl_if(dialect="sqlite")
#: A rep's "closed" tab (R8): the same read for closed leads, from a partial index of
#: them alone (migration 0008). Closed leads are most of a large table, the oldest, and
#: a page of them is the one whose rows no cache holds; they do not change again (but
#: for an admin's reopening, which takes one out), so claims, records and sweeps do not
#: write to it, and its pages stay all-visible for PostgreSQL's index-only scans.
_CLOSED: Final = _status_in(TERMINAL_STATUSES)
sa.Index(
    "ix_qleads_lead_territory_closed_included",
    *(lead_table.c[name] for name in _TERRITORY_KEY),
    postgresql_include=list(_INCLUDED_COLUMNS),
    postgresql_where=sa.text(_CLOSED),
).ddl_if(dialect="postgresql")
sa.Index(
    "ix_qleads_lead_territory_closed_rows",
    *(lead_table.c[name] for name in (*_TERRITORY_KEY, *_ROW_COLUMNS)),
    sqlite_where=sa.text(_CLOSED),
).ddl_if(dialect="sqlite")
#: The indexes only one dialect has (index name → dialect name); a comparison of a
#: database with :data:`metadata` (Alembic's autogenerate) leaves the others out.
DIALECT_INDEXES: Final[Mapping[str, str]] = {
    "ix_qleads_lead_territory_received_included": "postgresql",
    "ix_qleads_lead_territory_received_rows": "sqlite",
    "ix_qleads_lead_territory_closed_included": "postgresql",
    "ix_qleads_lead_territory_closed_rows": "sqlite",
}

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

#: R8 counts without counting: the number of leads per (territory, status, held) cell;
#: unrouted leads are counted under :data:`UNROUTED`. On PostgreSQL the unit of work adds
#: its deltas just before ``COMMIT``, in one statement, cells in sorted order
#: (:meth:`SqlAlchemyUnitOfWork.commit`); on SQLite, which has one writer at a time,
#: triggers of migration 0004 keep them. Deleting leads (which qleads never does;
#: cleanups and tests do) is kept right by triggers of migration 0003.
lead_count_table = sa.Table(
    "qleads_lead_count",
    metadata,
    sa.Column("territory_id", _ID, primary_key=True),
    sa.Column("status", sa.String(20), primary_key=True),
    sa.Column("held", sa.SmallInteger(), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)

#: Fill an empty ``qleads_lead_count`` from the leads (migration 0003,
#: :meth:`SqlAlchemyLeadRepository.recount`).
RECOUNT_SQL: Final = (
    "INSERT INTO qleads_lead_count (territory_id, status, held, n) "
    "SELECT COALESCE(territory_id, ''), status, "
    "CASE WHEN holder_id IS NULL THEN 0 ELSE 1 END, count(*) "
    "FROM qleads_lead GROUP BY 1, 2, 3"
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

#: The outbox row of an embedder's message (``kind``): see the checks below.
_MESSAGE_ROW: Final = "kind = 'message'"
#: A notification names its lead and recipient; a message (migration 0009) its address.
_OUTBOX_SHAPE: Final = (
    f"({_MESSAGE_ROW} AND lead_id IS NULL AND recipient_id IS NULL AND to_address IS NOT NULL)"
    f" OR (NOT ({_MESSAGE_ROW}) AND lead_id IS NOT NULL AND recipient_id IS NOT NULL"
    " AND to_address IS NULL)"
)
#: Only a pending message holds a subject and body; every other row holds none, so the
#: database itself keeps a sent reset link from lingering (``qleads.mail.outbox``).
_OUTBOX_CONTENT: Final = (
    f"(state = 'pending' AND {_MESSAGE_ROW} AND subject IS NOT NULL AND body_text IS NOT NULL)"
    f" OR ((state <> 'pending' OR NOT ({_MESSAGE_ROW}))"
    " AND subject IS NULL AND body_text IS NULL AND body_html IS NULL)"
)

outbox_table = sa.Table(
    "qleads_outbox",
    metadata,
    sa.Column("id", _LEAD_ID, sa.Identity(), primary_key=True),
    # Stable per event and recipient: no mail is produced or sent twice (R10).
    sa.Column("key", sa.String(300), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("lead_id", _LEAD_ID, nullable=True),
    sa.Column("recipient_id", _ID, nullable=True),
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
    # An embedder's message (``qleads.mail.outbox.OutboxMessage``), migration 0009.
    sa.Column("to_address", sa.String(320), nullable=True),
    sa.Column("to_name", sa.String(200), nullable=True),
    sa.Column("subject", sa.Text(), nullable=True),
    sa.Column("body_text", sa.Text(), nullable=True),
    sa.Column("body_html", sa.Text(), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    sa.CheckConstraint(_OUTBOX_SHAPE, name="shape"),
    sa.CheckConstraint(_OUTBOX_CONTENT, name="content"),
    # The dispatcher reads only what is still to be sent, earliest attempt first.
    sa.Index(
        "ix_qleads_outbox_pending",
        "next_attempt_at",
        "id",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

#: The columns of an outbox row that make its :class:`~qleads.model.Notification`, in
#: the order :func:`notification_from_row` reads them.
NOTIFICATION_COLUMNS: Final = (
    outbox_table.c.key,
    outbox_table.c.kind,
    outbox_table.c.lead_id,
    outbox_table.c.recipient_id,
    outbox_table.c.created_at,
    outbox_table.c.deadline_at,
)


def notification_from_row(row: Sequence[Any]) -> Notification:
    """The notification of an outbox row that starts with :data:`NOTIFICATION_COLUMNS`."""
    return Notification(
        key=row[0],
        kind=_NOTIFICATION_KIND[row[1]],
        lead_id=row[2],
        recipient_id=row[3],
        created_at=row[4],
        deadline_at=row[5],
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


def make_engine(
    url: str | sa.URL,
    *,
    checkpoint_interval: float | None = DEFAULT_CHECKPOINT_INTERVAL_S,
    **engine_kwargs: Any,
) -> Engine:
    """An engine for a qleads database, set up as this module needs it.

    ``sqlite:///path`` and ``postgresql://…`` (psycopg 3 is chosen when the URL names no
    driver) are accepted; anything else raises
    :class:`~qleads.errors.ConfigurationError`. ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` (``pool_size``, ``max_overflow``, ``poolclass`` …).
    An in-memory SQLite database lives on one shared connection (``StaticPool``) and
    suits single-threaded tests only.

    For a SQLite file, a :class:`~qleads.adapters.checkpoint.WalCheckpointer` copies the
    write-ahead log into the file every ``checkpoint_interval`` seconds on a thread of
    its own, so that commits (a claim, a sweep batch) do not pay for it; ``None`` leaves
    checkpoints to SQLite's commit-time default. It stops when the engine is garbage
    collected or :func:`stop_checkpoints` is called.
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
        _start_checkpoints(engine, checkpointed)
    return engine


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def _checkpointer(path: str, interval: float) -> WalCheckpointer:
    try:
        return WalCheckpointer(path, interval)
    except ValueError as e:
        raise ConfigurationError(str(e)) from e


def _start_checkpoints(engine: Engine, checkpointer: WalCheckpointer) -> None:
    def backstop(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

    sa_event.listen(engine, "connect", backstop)
    _CHECKPOINTERS[engine] = checkpointer
    weakref.finalize(engine, checkpointer.stop, 0)
    checkpointer.start()


def stop_checkpoints(engine: Engine) -> None:
    """Stop the checkpoint thread :func:`make_engine` started for ``engine`` (if any);
    commits checkpoint by themselves again at the backstop size. ``close()`` of a
    repository made by ``from_url`` calls it."""
    checkpointer = _CHECKPOINTERS.pop(engine, None)
    if checkpointer is not None:
        checkpointer.stop()


def prepare_engine(engine: Engine) -> None:
    """Install the SQLite transaction handling on ``engine``, or on PostgreSQL the check
    of pooled connections before use (:mod:`qleads.adapters.liveness`); once.

    :func:`make_engine` does it; the adapters call it again for an engine a portal made
    itself. Public for the adapter modules (the outbox), not part of ``__all__``."""
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
    return _driver_integrity_kind(error.orig)


def _driver_integrity_kind(orig: BaseException | None) -> str:
    """:func:`_integrity_kind` of the DB-API driver's exception."""
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
    detail = _first_line(orig if orig is not None else error)
    return StorageError(f"database error ({type(error).__name__}): {detail}")


def _first_line(error: BaseException) -> str:
    """The driver's first line: later ones hold hints, ``DETAIL`` (with a duplicate
    key's value, customer data) and SQLAlchemy's background link."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _checkout(engine: Engine) -> Any:
    """A pooled DB-API connection (``engine.raw_connection()``), or the
    :class:`~qleads.errors.StorageError` saying why there is none: the server is down or
    refuses, the SQLite file cannot be opened, the pool is exhausted. Unlike
    ``engine.connect()``, ``raw_connection()`` lets the driver's own errors through
    (``psycopg.OperationalError``, ``sqlite3.OperationalError``)."""
    dbapi: Any = engine.dialect.loaded_dbapi
    try:
        return engine.raw_connection()
    except sa_exc.SQLAlchemyError as e:
        raise _storage_error(e) from e
    except dbapi.Error as e:
        _raise_driver_error(e, engine.dialect)


_Row: TypeAlias = Sequence[Any]


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


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed when the block ends (on SQLite a
    ``BEGIN IMMEDIATE`` one, waiting for other writers); driver errors become
    :class:`~qleads.errors.StorageError`. For the writes the adapters make around the
    unit of work: the outbox's delivery state, recounts."""
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn
    except sa_exc.SQLAlchemyError as e:
        raise _storage_error(e) from e


@contextmanager
def storage_errors() -> Iterator[None]:
    """Driver errors raised in the block become :class:`~qleads.errors.StorageError`:
    for statements an adapter runs on a connection its caller handed over. Public for
    the adapter modules (the outbox), not part of ``__all__``."""
    try:
        yield
    except sa_exc.SQLAlchemyError as e:
        raise _storage_error(e) from e


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reading; driver errors become
    :class:`~qleads.errors.StorageError`."""
    try:
        with engine.connect() as conn:
            yield conn
    except sa_exc.SQLAlchemyError as e:
        raise _storage_error(e) from e


def _holders_text(holders: frozenset[str]) -> str:
    return json.dumps(sorted(holders), separators=(",", ":")) if holders else "[]"


def _sqlite_in(value: dt.datetime | None) -> str | None:
    """An instant as :class:`UtcDateTime` stores it on SQLite (fixed-width UTC text)."""
    if value is None:
        return None
    if value.tzinfo is _UTC:  # the common case: drop the "+00:00"
        return value.isoformat(" ", "microseconds")[:-6]
    return require_utc("datetime", value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _postgres_in(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else require_utc("datetime", value)


def _sqlite_out(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=_UTC)


def _postgres_out(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is _UTC:
        return value
    if value.tzinfo is None:  # a column written by hand without a zone
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


_Instant: TypeAlias = Callable[[Any], Any]


# --- statements ------------------------------------------------------------------------

#: Shape of a clause for the statement cache: the statuses (part of the SQL, so that
#: partial indexes and plans can use them), whether territories are given (and empty),
#: whether a holder is named, ``held``, ``unrouted``.
_ClauseShape = tuple[frozenset[Status] | None, int, bool, bool, bool]
_STATEMENT_CACHE_SIZE: Final = 512
#: Multi-row ``VALUES`` texts up to this many rows are kept (:meth:`_Statements.rows`).
_CACHED_ROWS: Final = 64
_LEAD_COLUMNS: Final = (
    "id, {document}, received_at, territory_id, status, status_at, holder_id, hold_until, "
    "due_at, deadline_kind, deadline_at, previous_holders, version"
)
#: What a tab row reads (:class:`~qleads.model.LeadSummary`): the state and the three
#: contact columns kept beside the document, never the document itself.
_SUMMARY_COLUMNS: Final = (
    "id, name, postal_code, city, received_at, territory_id, status, status_at, holder_id, "
    "hold_until, due_at, deadline_kind, deadline_at, previous_holders, version"
)
#: PostgreSQL's covered page (:meth:`_Statements._covered_page`): what its index carries,
#: and the tab row with the previous holders read from ``qleads_lead_handled``.
_INDEXED_SUMMARY_COLUMNS: Final = _SUMMARY_COLUMNS.replace(" previous_holders,", "")
_HANDLED_SUMMARY_COLUMNS: Final = _SUMMARY_COLUMNS.replace(
    " previous_holders,",
    " COALESCE((SELECT json_agg(h.installer_id ORDER BY h.installer_id) "
    "FROM qleads_lead_handled AS h WHERE h.lead_id = p.id)::text, '[]'),",
)
_DOCUMENT_COLUMNS: Final = ("document", "fingerprint", "name", "postal_code", "city")
_EVENT_COLUMNS: Final = (
    "lead_id",
    "version",
    "kind",
    "actor_id",
    "from_status",
    "to_status",
    "effective_at",
    "recorded_at",
    "holder_id",
    "channel",
    "note",
    "reason",
    "due_at",
)
_OUTBOX_COLUMNS: Final = (
    "key",
    "kind",
    "lead_id",
    "recipient_id",
    "created_at",
    "deadline_at",
    "next_attempt_at",
)
#: The sort column of each order (besides the id), all a merged page needs.
_ORDER_KEY: Final = {Order.RECEIVED_DESC: "received_at", Order.DUE_ASC: "due_at"}
_NO_CONDITION: Final = Clause()
_ORDER_BY: Final = {
    Order.RECEIVED_DESC: "received_at DESC, id DESC",
    Order.DUE_ASC: "due_at ASC NULLS LAST, id ASC",
}


#: ``qleads_lead_count.territory_id`` of unrouted leads (R1); the directory refuses it
#: as a territory id.
UNROUTED: Final = ""
_ALL_STATUS_VALUES: Final = sorted(s.value for s in Status)
#: Above this many (territory, status) pairs a clause is read by one ordered scan
#: instead (SQLite allows 500 terms in a compound ``SELECT``; a rep has a handful).
_MAX_PAIRS: Final = 64


def _by_pairs(clause: Clause) -> str | None:
    """The column a page reads ``clause`` by, pair by pair with the status (see
    :meth:`_Statements._page`): ``holder_id`` for an installer's own leads,
    ``territory_id`` for a territory tab; ``None`` for one ordered scan."""
    statuses = clause.statuses
    if statuses is not None and not statuses:
        return None
    per_value = len(statuses) if statuses is not None else len(Status)
    if clause.holder_id is not None:
        return "holder_id" if per_value <= _MAX_PAIRS else None
    territories = clause.territory_ids
    if not territories or clause.unrouted:
        return None
    return "territory_id" if len(territories) * per_value <= _MAX_PAIRS else None


def _covered(query: LeadQuery) -> bool:
    """Whether ``query`` is one clause of territories, newest first, without a status
    filter (a rep's "all" and "mine" tabs, R8) or of the closed leads (his "closed"
    tab): read per territory, rows and all, from the index of territory and arrival or
    its partial twin of closed leads (:meth:`_Statements._covered_page`)."""
    if query.order is not Order.RECEIVED_DESC or len(query.clauses) != 1:
        return False
    clause = query.clauses[0]
    return (
        clause.statuses in (None, TERMINAL_STATUSES)
        and clause.holder_id is None
        and _by_pairs(clause) == "territory_id"
    )


class _Sql:
    """SQL text and its DB-API parameters, written together; with ``emit=False`` only
    the parameters are collected (the text is cached)."""

    __slots__ = ("emit", "mark", "params", "parts")

    def __init__(self, mark: str, *, emit: bool) -> None:
        self.mark = mark
        self.emit = emit
        self.parts: list[str] = []
        self.params: list[Any] = []

    def text(self, text: str) -> None:
        if self.emit:
            self.parts.append(text)

    def arg(self, value: Any) -> None:
        self.params.append(value)
        if self.emit:
            self.parts.append(self.mark)


def _cell(lead: Lead) -> tuple[str, str, int]:
    """The ``qleads_lead_count`` row a lead is counted in."""
    territory = lead.territory_id
    return (
        UNROUTED if territory is None else territory,
        lead.status.value,
        0 if lead.holder_id is None else 1,
    )


def _counts_cell(clause: Clause, cell: tuple[str, str, int]) -> bool:
    """Whether a clause without a holder selects the leads of a counter cell (the
    counter-table reading of ``qleads.tabs.Clause.holds_for``)."""
    territory, status, held = cell
    if clause.statuses is not None and _STATUS[status] not in clause.statuses:
        return False
    if clause.territory_ids is not None and (
        territory == UNROUTED or territory not in clause.territory_ids
    ):
        return False
    if clause.held and not held:
        return False
    return not (clause.unrouted and territory != UNROUTED)


def _clause_shape(clause: Clause) -> _ClauseShape:
    territories = clause.territory_ids
    marker = 0 if territories is None else (1 if territories else 2)
    return (clause.statuses, marker, clause.holder_id is not None, clause.held, clause.unrouted)


class _Statements:
    """Every statement of the unit of work as SQL text, built once for one dialect and
    run straight through the DB-API cursor of the unit's connection.

    SQLAlchemy's statement execution costs far more per call than the database needs
    for these one-row statements (about 150 µs against 15 µs on SQLite), so the hot path
    bypasses it: stable text with positional parameters (on PostgreSQL psycopg prepares
    a statement after a few executions), and the :class:`UtcDateTime` conversion done by
    :attr:`instant_in` / :attr:`instant_out`. The tables, the migrations and every other
    reader and writer stay on SQLAlchemy.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = postgres = dialect.name == "postgresql"
        self.instant_in: _Instant = _postgres_in if postgres else _sqlite_in
        self.instant_out: _Instant = _postgres_out if postgres else _sqlite_out
        p = self.p = "%s" if postgres else "?"
        self.columns = _LEAD_COLUMNS.format(document="document::text" if postgres else "document")
        select = f"SELECT {self.columns} FROM qleads_lead"  # noqa: S608
        self.get = f"{select} WHERE id = {p}"
        self.get_by_source = f"{select} WHERE source_id = {p}"
        self.due = (
            f"{select} WHERE deadline_at IS NOT NULL AND deadline_at <= {p} "
            f"ORDER BY deadline_at, id LIMIT {p}" + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        )
        self.source_owner = f"SELECT id FROM qleads_lead WHERE source_id = {p}"  # noqa: S608
        self.version_of = f"SELECT version FROM qleads_lead WHERE id = {p}"  # noqa: S608
        document = f"{p}::jsonb" if postgres else p
        added = ("source_id", *_DOCUMENT_COLUMNS, *_STATE_COLUMNS)
        values = ", ".join(document if c == "document" else p for c in added)
        self.add = (
            f"INSERT INTO qleads_lead ({', '.join(added)}) VALUES ({values}) "  # noqa: S608
            "ON CONFLICT (source_id) DO NOTHING RETURNING id"
        )
        state = ", ".join(f"{c} = {p}" for c in _STATE_COLUMNS)
        documents = ", ".join(
            f"{c} = {document if c == 'document' else p}" for c in _DOCUMENT_COLUMNS
        )
        where = f"WHERE id = {p} AND version = {p}"
        self._where = where
        self._updates: dict[tuple[str, ...], str] = {}
        self.update_all = f"UPDATE qleads_lead SET {state}, {documents} {where}"  # noqa: S608
        self.add_handled = (
            f"INSERT INTO qleads_lead_handled (lead_id, installer_id) VALUES ({p}, {p}) "  # noqa: S608
            "ON CONFLICT (lead_id, installer_id) DO NOTHING"
        )
        self.append = (
            f"INSERT INTO qleads_event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(p for _ in _EVENT_COLUMNS)})"
        )
        self.history = (
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM qleads_event WHERE lead_id = {p} "  # noqa: S608
            "ORDER BY version, id"
        )
        self.enqueue = (
            f"INSERT INTO qleads_outbox ({', '.join(_OUTBOX_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(p for _ in _OUTBOX_COLUMNS)}) ON CONFLICT (key) DO NOTHING"
        )
        #: Add a delta to one counter; the unit of work sends its cells sorted, in one
        #: ``VALUES`` list (one global lock order).
        self.bump_row = (
            "INSERT INTO qleads_lead_count (territory_id, status, held, n) "  # noqa: S608
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (territory_id, status, held) "
            "DO UPDATE SET n = qleads_lead_count.n + excluded.n"
        )
        self._rows: dict[tuple[str, int], str] = {}
        self._tabs: dict[tuple[Any, ...], str] = {}
        self._folds: dict[tuple[Any, ...], str] = {}
        #: The first row of each held-back insert in :meth:`folded`, its parameters cast
        #: to the column types (a ``VALUES`` list under ``SELECT`` has no target columns
        #: to take them from).
        self._typed = {
            table.name: ", ".join(
                f"CAST({p} AS {table.c[c].type.compile(dialect=dialect)})" for c in columns
            )
            for table, columns in (
                (event_table, _EVENT_COLUMNS),
                (outbox_table, _OUTBOX_COLUMNS),
                (lead_count_table, ("territory_id", "status", "held", "n")),
            )
        }
        self.cell_of = (
            f"SELECT territory_id, status, holder_id FROM qleads_lead "  # noqa: S608
            f"WHERE id = {p} AND version = {p}" + (" FOR UPDATE" if postgres else "")
        )
        self._lock = threading.Lock()

    def update_of(self, columns: tuple[str, ...]) -> str:
        """The conditional ``UPDATE`` of just these state columns (of
        :data:`_STATE_COLUMNS`, in that order): few distinct sets occur (one per kind of
        change), so the texts are cached."""
        statement = self._updates.get(columns)
        if statement is None:
            assignments = ", ".join(f"{c} = {self.p}" for c in columns)
            statement = f"UPDATE qleads_lead SET {assignments} {self._where}"  # noqa: S608
            self._remember(self._updates, columns, statement)
        return statement

    # --- sets of ids ---------------------------------------------------------------------

    def among(self, column: str, count: int, *, negate: bool = False) -> str:
        """``column`` is (not) one of ``count`` values: one array parameter on PostgreSQL
        (stable text), ``count`` parameters on SQLite (see :meth:`ids`)."""
        if self.postgres:
            return f"{column} <> ALL(%s)" if negate else f"{column} = ANY(%s)"
        if count == 0:
            return "1 = 1" if negate else "1 = 0"
        marks = ", ".join("?" * count)
        return f"{column} NOT IN ({marks})" if negate else f"{column} IN ({marks})"

    def ids(self, values: Sequence[str]) -> list[Any]:
        """The parameters of :meth:`among` for ``values``."""
        return [list(values)] if self.postgres else list(values)

    # --- R8 tab queries ------------------------------------------------------------------
    #
    # A tab query and its totals are written by one routine that both emits the text and
    # collects the parameters (:class:`_Sql`); once a text is cached, the routine runs
    # again only to collect the parameters, so text and parameters cannot drift apart.

    def tab(self, query: LeadQuery) -> tuple[str, list[Any]]:
        """A page of ``query`` plus, in the same row, its total (see :meth:`_page`)."""
        key = ("page", query.order, tuple(self._clause_key(c) for c in query.clauses))
        cached = self._tabs.get(key)
        sql = _Sql(self.p, emit=cached is None)
        self._page(sql, query)
        if cached is None:
            cached = "".join(sql.parts)
            self._remember(self._tabs, key, cached)
        return cached, sql.params

    def totals(self, queries: Sequence[LeadQuery]) -> tuple[str, list[Any]]:
        """One row, one column per query (each with at least one clause): the total of
        each, from the counters where its clauses allow (see :meth:`_total`)."""
        key = ("totals", tuple(tuple(self._clause_key(c) for c in q.clauses) for q in queries))
        cached = self._tabs.get(key)
        sql = _Sql(self.p, emit=cached is None)
        sql.text("SELECT ")
        for n, query in enumerate(queries):
            if n:
                sql.text(", ")
            self._total(sql, query.clauses)
            sql.text(f" AS n{n}")
        if cached is None:
            cached = "".join(sql.parts)
            self._remember(self._tabs, key, cached)
        return cached, sql.params

    def _clause_key(self, clause: Clause) -> tuple[Any, ...]:
        """What the text of a clause depends on: its shape, on SQLite the number of its
        territory ids (one mark each), and whether it is read pair by pair."""
        size = 0 if self.postgres or not clause.territory_ids else len(clause.territory_ids)
        return (_clause_shape(clause), size, _by_pairs(clause))

    def _page(self, sql: _Sql, query: LeadQuery) -> None:
        """``SELECT`` the page, newest (or earliest due) first, with the total.

        A clause of territories and statuses (a pool, a rep's tab, R8) is read as the
        top ``offset + limit`` rows of each (territory, status) pair — one ordered range
        each of ``ix_qleads_lead_territory_status_received``, read from the index alone
        (id and sort key) — and an installer's own leads likewise per (holder, status)
        on ``ix_qleads_lead_holder_status_received`` (PostgreSQL: a ``LATERAL``
        subquery per pair of ``unnest`` ed arrays, stable text; SQLite: a ``UNION`` of
        per-pair subqueries). The candidates are merged, ordered and cut, and only the
        page's rows are fetched. The union of every pair's top rows holds the query's
        top rows, so the page is exact, and its cost follows the page and the number of
        pairs, not the number of leads. Any other clause (an admin's tabs, more than
        :data:`_MAX_PAIRS` pairs) goes into one ordered, limited scan of its own.
        The follow-up order (``due_at``, id) is sorted per pair (no index has it). A
        rep's "all", "mine" and "closed" tabs skip the fetch by id
        (:meth:`_covered_page`)."""
        if _covered(query):
            self._covered_page(sql, query)
            return
        order = _ORDER_BY[query.order]
        clauses = query.clauses
        sql.text(f"SELECT {_SUMMARY_COLUMNS}, ")
        self._total(sql, clauses)
        sql.text(" AS total FROM qleads_lead WHERE ")
        paired = [c for c in clauses if _by_pairs(c) is not None]
        if not paired:
            self._any(sql, clauses, counter=False)
            sql.text(f" ORDER BY {order} LIMIT ")
            sql.arg(query.limit)
            sql.text(" OFFSET ")
            sql.arg(query.offset)
            return
        top = query.offset + query.limit
        # Only the id and the sort key: the pair ranges are read from the index alone.
        key = _ORDER_KEY[query.order]
        sql.text("id IN (SELECT id FROM (")
        first = True
        whole = query.order is Order.RECEIVED_DESC
        for clause in paired:
            first = self._pair_sources(sql, clause, order, key, top, first, whole=whole)
        rest = [c for c in clauses if _by_pairs(c) is None]
        if rest:
            sql.text(f" UNION SELECT id, {key} FROM (SELECT id, {key} FROM qleads_lead WHERE ")  # noqa: S608
            self._any(sql, rest, counter=False)
            sql.text(f" ORDER BY {order} LIMIT ")
            sql.arg(top)
            sql.text(") AS w")
        sql.text(f") AS u ORDER BY {order} LIMIT ")
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)
        sql.text(f") ORDER BY {order}")

    def _covered_page(self, sql: _Sql, query: LeadQuery) -> None:
        """A rep's "all", "mine" and "closed" tabs (see :func:`_covered`): the newest
        ``offset + limit`` rows of each territory, read with the columns of a tab row from
        the index of territory and arrival alone (:data:`_ROW_COLUMNS`; for the closed
        leads, its partial twin, whose condition the residual filter writes as the index
        does, :data:`_CLOSED`), merged, ordered and cut. The territories' ranges do not
        overlap, hence ``UNION ALL`` on SQLite; PostgreSQL reads them in a ``LATERAL``
        subquery per ``unnest`` ed territory (stable text) and, for the page's rows only,
        their previous holders from ``qleads_lead_handled`` (which its indexes do not
        carry), as JSON text like the column's."""
        order = _ORDER_BY[query.order]
        clause = query.clauses[0]
        top = query.offset + query.limit
        residual = attrs.evolve(clause, territory_ids=None)
        filtered = residual if residual != _NO_CONDITION else None
        territories = sorted(clause.territory_ids or ())
        if self.postgres:
            sql.text(f"SELECT {_HANDLED_SUMMARY_COLUMNS}, ")
            self._total(sql, query.clauses)
            sql.text(" AS total FROM (SELECT c.* FROM unnest(")
            sql.arg(territories)
            sql.text(
                f"::text[]) AS pv(v) CROSS JOIN LATERAL (SELECT {_INDEXED_SUMMARY_COLUMNS} "  # noqa: S608
                "FROM qleads_lead WHERE territory_id = pv.v"
            )
            self._filtered_top(sql, filtered, order, top)
            sql.text(f") AS c ORDER BY {order} LIMIT ")
            sql.arg(query.limit)
            sql.text(" OFFSET ")
            sql.arg(query.offset)
            sql.text(f") AS p ORDER BY {order}")
            return
        sql.text(f"SELECT {_SUMMARY_COLUMNS}, ")
        self._total(sql, query.clauses)
        sql.text(" AS total FROM (")
        for n, territory in enumerate(territories):
            sql.text(" UNION ALL " if n else "")
            sql.text(f"SELECT * FROM (SELECT {_SUMMARY_COLUMNS} FROM qleads_lead WHERE ")  # noqa: S608
            sql.text("territory_id = ")
            sql.arg(territory)
            self._filtered_top(sql, filtered, order, top)
            sql.text(")")
        sql.text(f") ORDER BY {order} LIMIT ")
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)

    def _pair_sources(
        self,
        sql: _Sql,
        clause: Clause,
        order: str,
        key: str,
        top: int,
        first: bool,
        *,
        whole: bool,
    ) -> bool:
        """The top ``top`` rows of every (value, status) pair of ``clause``, by the
        column :func:`_by_pairs` names; the clause's other conditions filter each pair.

        With ``whole`` (newest first), a clause of territories without a status filter
        (a rep's "all" and "mine" tabs) is read per territory instead, on the index of
        territory and arrival (which alone serves such a tab, :meth:`_covered_page`; this
        branch is left for it in a query of several clauses): one range of ``top`` rows
        each, where per pair it would read up to ``top`` rows of every status."""
        column = _by_pairs(clause)
        values: list[str]
        if clause.holder_id is not None:
            values = [clause.holder_id]
            residual = attrs.evolve(clause, statuses=None, holder_id=None, held=False)
        else:
            values = sorted(clause.territory_ids or ())
            residual = attrs.evolve(clause, statuses=None, territory_ids=None)
        filtered = residual if residual != _NO_CONDITION else None
        inner = f"SELECT id, {key} FROM qleads_lead WHERE {column} = "  # noqa: S608
        if whole and clause.statuses is None and clause.holder_id is None:
            self._territory_sources(sql, values, filtered, inner, order, top, first)
            return False
        statuses = (
            sorted(s.value for s in clause.statuses)
            if clause.statuses is not None
            else _ALL_STATUS_VALUES
        )
        if self.postgres:
            sql.text("" if first else " UNION ")
            sql.text(f"SELECT c.id, c.{key} FROM unnest(")  # noqa: S608
            sql.arg(values)
            sql.text("::text[]) AS pv(v) CROSS JOIN unnest(")
            sql.arg(list(statuses))
            sql.text(f"::text[]) AS ps(s) CROSS JOIN LATERAL ({inner}pv.v AND status = ps.s")
            self._filtered_top(sql, filtered, order, top)
            sql.text(") AS c")
            return False
        for value in values:
            for status in statuses:
                sql.text("" if first else " UNION ")
                first = False
                sql.text(f"SELECT id, {key} FROM ({inner}")  # noqa: S608
                sql.arg(value)
                sql.text(f" AND status = '{status}'")
                self._filtered_top(sql, filtered, order, top)
                sql.text(")")
        return first

    def _territory_sources(
        self,
        sql: _Sql,
        territories: list[str],
        residual: Clause | None,
        inner: str,
        order: str,
        top: int,
        first: bool,
    ) -> None:
        """The newest ``top`` rows of each territory (see :meth:`_pair_sources`)."""
        if self.postgres:
            sql.text("" if first else " UNION ")
            sql.text("SELECT c.id, c.received_at FROM unnest(")
            sql.arg(territories)
            sql.text(f"::text[]) AS pv(v) CROSS JOIN LATERAL ({inner}pv.v")
            self._filtered_top(sql, residual, order, top)
            sql.text(") AS c")
            return
        for territory in territories:
            sql.text("" if first else " UNION ")
            first = False
            sql.text(f"SELECT id, received_at FROM ({inner}")  # noqa: S608
            sql.arg(territory)
            self._filtered_top(sql, residual, order, top)
            sql.text(")")

    def _filtered_top(self, sql: _Sql, residual: Clause | None, order: str, top: int) -> None:
        """The tail of one range: the clause's other conditions, the order, the limit."""
        if residual is not None:
            sql.text(" AND ")
            self._clause(sql, residual, counter=False)
        sql.text(f" ORDER BY {order} LIMIT ")
        sql.arg(top)

    def _total(self, sql: _Sql, clauses: Sequence[Clause]) -> None:
        """The number of leads any of ``clauses`` selects, as a scalar expression.

        Clauses without a holder depend only on (territory, status, held), so their
        union is a set of cells of ``qleads_lead_count`` and its total a sum over the
        counter table, whatever the number of leads. Clauses naming a holder (an
        installer's own leads: few, on ``ix_qleads_lead_holder_status_received``) are
        counted in the lead table, without the leads the counted clauses already hold
        (``NOT COALESCE(…, FALSE)``: an unknown comparison with a NULL column means "no
        match" in the pure rule, and these conditions use no negation)."""
        counted = [c for c in clauses if c.holder_id is None]
        scanned = [c for c in clauses if c.holder_id is not None]
        if not clauses:
            sql.text("0")
            return
        sql.text("(")
        if counted:
            sql.text("(SELECT COALESCE(SUM(n), 0) FROM qleads_lead_count WHERE ")
            self._any(sql, counted, counter=True)
            sql.text(")")
        if scanned:
            sql.text(" + (" if counted else "(")
            sql.text("SELECT count(*) FROM qleads_lead WHERE (")
            self._any(sql, scanned, counter=False)
            sql.text(")")
            if counted:
                sql.text(" AND NOT COALESCE((")
                self._any(sql, counted, counter=False)
                sql.text("), FALSE)")
            sql.text(")")
        sql.text(")")

    def _any(self, sql: _Sql, clauses: Sequence[Clause], *, counter: bool) -> None:
        """A disjunction of clauses (``qleads.tabs.Clause.holds_for``) on the lead table,
        or with ``counter`` on ``qleads_lead_count`` (no holder clauses there)."""
        if len(clauses) == 1:
            self._clause(sql, clauses[0], counter)
            return
        for n, clause in enumerate(clauses):
            sql.text(") OR (" if n else "(")
            self._clause(sql, clause, counter)
        sql.text(")")

    def _clause(self, sql: _Sql, clause: Clause, counter: bool) -> None:
        terms = 0
        if clause.statuses is not None:
            sql.text(_status_in(clause.statuses))
            terms = 1
        territories = clause.territory_ids
        if territories is not None:
            sql.text(" AND " if terms else "")
            terms = 1
            if not territories:
                sql.text("1 = 0")
            elif self.postgres:
                sql.text("territory_id = ANY(")
                sql.arg(sorted(territories))
                sql.text(")")
            else:
                sql.text("territory_id IN (")
                for n, territory in enumerate(sorted(territories)):
                    sql.text(", " if n else "")
                    sql.arg(territory)
                sql.text(")")
        if clause.holder_id is not None:
            sql.text(" AND holder_id = " if terms else "holder_id = ")
            sql.arg(clause.holder_id)
            terms = 1
        if clause.held:
            sql.text(" AND " if terms else "")
            sql.text("held = 1" if counter else "holder_id IS NOT NULL")
            terms = 1
        if clause.unrouted:
            sql.text(" AND " if terms else "")
            sql.text(f"territory_id = '{UNROUTED}'" if counter else "territory_id IS NULL")
            terms = 1
        if not terms:
            sql.text("1 = 1")

    # --- the counters (qleads_lead_count) --------------------------------------------------

    def rows(self, statement: str, count: int) -> str:
        """``statement`` (an ``INSERT … VALUES (…)`` of this class) for ``count`` rows
        in one ``VALUES`` list. Only short lists are kept: a sweep batch's outbox rows
        run to thousands, each count a text of its own."""
        key = (statement, count)
        text = self._rows.get(key)
        if text is None:
            head, row, tail = _values_parts(statement)
            text = f"{head} VALUES {', '.join(row for _ in range(count))}{tail}"
            if count <= _CACHED_ROWS:
                self._remember(self._rows, key, text)
        return text

    def folded(self, update: str, inserts: Sequence[tuple[str, str, int]]) -> str:
        """PostgreSQL: a unit's conditional ``UPDATE`` (of one lead) and the inserts it
        holds back, ``(table, statement, rows)`` each, as one statement that returns the
        number of updated rows (0 or 1).

        The inserts read the update's result (``WHERE EXISTS (SELECT FROM u)``), so
        they run after it, keeping the lock order of the other path (lead row first,
        counter rows last), and write nothing when the update lost its race. The caller
        keeps the row counts short (:data:`_CACHED_ROWS`), so the texts are few and
        stable and psycopg prepares them like any other statement."""
        key = (update, tuple(inserts))
        text = self._folds.get(key)
        if text is None:
            parts = [f"u AS ({update} RETURNING id)"]
            for n, (table, statement, count) in enumerate(inserts):
                head, row, tail = _values_parts(statement)
                rows = ", ".join([f"({self._typed[table]})", *(row for _ in range(count - 1))])
                parts.append(
                    f"i{n} AS ({head} SELECT * FROM (VALUES {rows}) AS v "  # noqa: S608
                    f"WHERE EXISTS (SELECT FROM u){tail})"
                )
            text = f"WITH {', '.join(parts)} SELECT count(*) FROM u"  # noqa: S608
            self._remember(self._folds, key, text)
        return text

    def _remember(self, cache: dict[Any, str], key: Any, value: str) -> None:
        with self._lock:
            if len(cache) >= _STATEMENT_CACHE_SIZE:
                cache.clear()
            cache[key] = value


def _values_parts(statement: str) -> tuple[str, str, str]:
    """``INSERT … VALUES (row) tail`` as its head, its one row and its tail."""
    start = statement.index(" VALUES (")
    end = statement.index(")", start + len(" VALUES (")) + 1
    return statement[:start], statement[start + len(" VALUES ") : end], statement[end:]


# --- driver errors ---------------------------------------------------------------------


def _raise_driver_error(
    error: Exception,
    dialect: Dialect,
    statement: str | None = None,
    params: Any = None,
    *,
    invalidated: bool = False,
    on_integrity: Callable[[sa_exc.IntegrityError], QleadsError] | None = None,
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
        raise _storage_error(wrapped) from wrapped
    raise StorageError(f"database error ({type(error).__name__}): {_first_line(error)}") from error


@attrs.frozen
class _Insert:
    """Rows a PostgreSQL unit of work holds back until it reads the history or commits."""

    table: str
    statement: str
    rows: Sequence[Sequence[Any]]
    on_integrity: Callable[[sa_exc.IntegrityError], QleadsError] | None = None


@attrs.frozen
class _Update:
    """A conditional ``UPDATE`` a PostgreSQL unit of work holds back until its next
    statement or its commit."""

    statement: str
    params: Sequence[Any]
    lead_id: int
    expected_version: int


def _refusal(
    held: Sequence[_Insert],
) -> Callable[[sa_exc.IntegrityError], QleadsError] | None:
    """The integrity-error translation of whichever held-back insert the database
    refused, told apart by the table the driver names."""
    if not any(insert.on_integrity is not None for insert in held):
        return None

    def refused(error: sa_exc.IntegrityError) -> QleadsError:
        table = getattr(getattr(error.orig, "diag", None), "table_name", None)
        for insert in held:
            if insert.table == table and insert.on_integrity is not None:
                return insert.on_integrity(error)
        return _storage_error(error)

    return refused


# --- the repository --------------------------------------------------------------------


class SqlAlchemyLeadRepository:
    """The :class:`~qleads.ports.LeadRepository` on a SQL database.

    Share one instance per process (it is thread-safe; every unit of work takes its own
    pooled connection). For 100 concurrent threads, give the engine a pool that large
    (``pool_size``/``max_overflow``) or ``poolclass=NullPool``.
    """

    def __init__(self, engine: Engine, *, document_cache_size: int = 4096) -> None:
        prepare_engine(engine)
        self.engine = engine
        self._owns_engine = False
        self._statements = _Statements(engine.dialect)
        self._dbapi: Any = engine.dialect.loaded_dbapi

        # Lead documents are immutable values: parsing and structuring one is the
        # dominant cost of mapping a row, so the result is cached by its exact JSON text,
        # and parsed by orjson (about 2.5 times as fast as json.loads here).
        @functools.lru_cache(maxsize=document_cache_size)
        def document(text: str) -> LeadDocument:
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                raise StorageError(f"stored lead document is not JSON: {e}") from e
            return structure_stored_document(data)

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

    def unit_of_work(self, *, writing: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self, writing=writing)

    def close(self) -> None:
        """Release pooled connections and stop the checkpoint thread (only of an engine
        made by :meth:`from_url`)."""
        if self._owns_engine:
            stop_checkpoints(self.engine)
            self.engine.dispose()

    def tab_statement(self, query: LeadQuery) -> tuple[str, list[Any]]:
        """The SQL text and DB-API parameters :meth:`SqlAlchemyUnitOfWork.find` sends
        for ``query`` (for ``EXPLAIN`` and the docs; datetimes play no part in it)."""
        return self._statements.tab(query)

    def counts_statement(self, queries: Sequence[LeadQuery]) -> tuple[str, list[Any]]:
        """The SQL text and DB-API parameters :meth:`SqlAlchemyUnitOfWork.counts` sends
        for ``queries`` (each with at least one clause)."""
        return self._statements.totals(queries)

    def recount(self) -> None:
        """Rebuild ``qleads_lead_count`` from the lead table.

        On PostgreSQL the unit of work keeps the counters itself, so this is for leads
        written around it (a bulk load, hand-written SQL); on SQLite triggers keep them
        whoever writes, and this only repairs counters edited by hand. It holds the
        write lock while it counts (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
        ``SHARE ROW EXCLUSIVE`` on ``qleads_lead``, which waits for and then blocks
        every writer), so no unit of work commits a change the new counters would
        miss."""
        with write_transaction(self.engine) as conn:
            if self._statements.postgres:
                conn.exec_driver_sql("LOCK TABLE qleads_lead IN SHARE ROW EXCLUSIVE MODE")
            conn.exec_driver_sql("DELETE FROM qleads_lead_count")
            conn.exec_driver_sql(RECOUNT_SQL)

    def notifications(self) -> list[Notification]:
        """Every committed outbox record, oldest first, whatever its delivery state (the
        same reading side as ``InMemoryLeadRepository.notifications``)."""
        statement = (
            sa.select(*NOTIFICATION_COLUMNS)
            .where(outbox_table.c.lead_id.is_not(None))  # not an embedder's message
            .order_by(outbox_table.c.id)
        )
        with read_connection(self.engine) as conn:
            rows = conn.execute(statement).all()
        return [notification_from_row(r) for r in rows]

    def _lead(self, row: Sequence[Any]) -> Lead:
        """A lead from a DB-API row of :data:`_LEAD_COLUMNS`."""
        instant = self._statements.instant_out
        deadline_kind = row[9]
        return Lead(
            row[0],
            self._document(row[1]),
            instant(row[2]),
            row[3],
            _STATUS[row[4]],
            instant(row[5]),
            row[6],
            instant(row[7]),
            instant(row[8]),
            Deadline(_DEADLINE_KIND[deadline_kind], instant(row[10]))
            if deadline_kind is not None
            else None,
            _holders(row[11]),
            row[12],
        )

    def _summary(self, row: Sequence[Any]) -> LeadSummary:
        """A tab row from a DB-API row of :data:`_SUMMARY_COLUMNS`."""
        instant = self._statements.instant_out
        deadline_kind = row[11]
        return LeadSummary(
            row[0],
            row[1],
            row[2],
            row[3],
            instant(row[4]),
            row[5],
            _STATUS[row[6]],
            instant(row[7]),
            row[8],
            instant(row[9]),
            instant(row[10]),
            Deadline(_DEADLINE_KIND[deadline_kind], instant(row[12]))
            if deadline_kind is not None
            else None,
            _holders(row[13]),
            row[14],
        )


_IDLE: Final = 0
_READING: Final = 1
_WRITING: Final = 2


class SqlAlchemyUnitOfWork:
    """One database transaction (the :class:`~qleads.ports.UnitOfWork` port); leaving
    the ``with`` block without :meth:`commit` rolls it back.

    It holds one pooled connection and talks to its DB-API cursor directly (see
    :class:`_Statements`). On SQLite it emits the transaction statements itself: reads
    run in a deferred ``BEGIN`` (so a tab page and its counts see one snapshot), and
    before its first write the unit ends that read transaction and starts
    ``BEGIN IMMEDIATE``, which waits for other writers on the busy timeout instead of
    failing; a write never upgrades a read snapshot, so the conditional update always
    sees the latest committed version. A unit opened with ``writing=True`` starts with
    ``BEGIN IMMEDIATE``, so its reads and writes are one transaction (a claim: one
    ``BEGIN`` and ``COMMIT`` fewer).

    On PostgreSQL the unit runs its connection in autocommit and sends ``BEGIN`` only
    before its first write that cannot wait (:meth:`_begin`). Until then each read is a
    statement of its own, which changes nothing a reader could see: under READ
    COMMITTED every statement of a transaction takes its own snapshot anyway, and a
    read locks nothing (the locking reads, :meth:`due` and the counted cell of
    :meth:`update`, begin first). A unit that only reads therefore costs no ``BEGIN``
    and no ``COMMIT``, and one whose writes all fold into one statement (below) sends
    that statement alone: a single statement is atomic without a transaction around
    it. The connection goes back to the pool as SQLAlchemy lent it (autocommit off).

    On PostgreSQL every statement is a round trip, and on a busy server the round trip,
    not the work, is most of a one-row statement's cost; so is parsing and planning a
    statement the server has not prepared. So the inserts that decide nothing
    (:meth:`append`, :meth:`enqueue`) are held back, and so is the conditional
    ``UPDATE`` of a lead the unit read, until the unit's next statement or its commit.
    At the commit the update, the inserts and the counter deltas become one statement
    (:meth:`_Statements.folded`), which psycopg prepares like any other: a claim reads
    the lead and sends that statement, two round trips in all, and the server parses
    nothing afresh. The inserts run only if the update changed its row, so the
    update still decides the race (R3, R11): when it lost, :meth:`commit` raises
    :class:`~qleads.errors.StaleUpdate` and nothing of the unit is stored. A unit
    without an update (an intake), or with more held rows than a short statement takes,
    sends them in one message with the counter deltas and the ``COMMIT`` instead (the
    update, if any, goes first on its own). Any read sends the held update first, and
    :meth:`history`, the only read of the inserted tables, the held inserts too, so the
    unit reads its own writes. An insert the database refuses (an event whose version
    exists, or of an unknown lead) is raised by that read or by :meth:`commit`, and
    nothing of the unit is stored.
    """

    def __init__(self, repository: SqlAlchemyLeadRepository, *, writing: bool = False) -> None:
        self._repository = repository
        #: Declared a writer: on SQLite the first read already runs in ``BEGIN IMMEDIATE``.
        self._writing = writing
        self._statements = repository._statements
        self._sqlite = not repository._statements.postgres
        self._dbapi: Any = repository._dbapi
        self._pooled: Any = None
        self._cursor: Any = None
        self._state = _IDLE
        #: Leads as this unit read them, to skip rewriting what did not change.
        self._seen: dict[int, Lead] = {}
        #: Changes of ``qleads_lead_count`` this unit has made so far (cell → delta).
        self._deltas: dict[tuple[str, str, int], int] = {}
        #: PostgreSQL: inserts and the last conditional update not sent yet (see the
        #: class docstring).
        self._held: list[_Insert] = []
        self._held_update: _Update | None = None

    def __enter__(self) -> Self:
        if self._pooled is not None:
            raise RuntimeError("this unit of work is already open")
        pooled = _checkout(self._repository.engine)
        try:
            driver: Any = pooled.driver_connection
            if self._sqlite:
                if driver.isolation_level is not None:
                    # A connection the pool made before qleads got the engine.
                    _configure_sqlite(driver)
            else:
                driver.autocommit = True  # BEGIN only before a write (see the docstring)
            self._cursor = driver.cursor()
        except self._dbapi.Error as e:
            pooled.invalidate(e)
            pooled.close()
            _raise_driver_error(e, self._repository.engine.dialect, invalidated=True)
        self._pooled = pooled
        self._state = _IDLE
        self._seen = {}
        self._deltas = {}
        self._held = []
        self._held_update = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pooled, cursor = self._pooled, self._cursor
        self._pooled = self._cursor = None
        self._seen = {}
        self._deltas = {}
        self._held = []
        self._held_update = None
        if pooled is None:
            return
        self._state = _IDLE
        try:
            cursor.close()
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
            if exc is None:
                raise _storage_error(e) from e

    def commit(self) -> None:
        """Send what the unit held back (PostgreSQL; on SQLite everything is sent at
        once and triggers keep the counters), then ``COMMIT``.

        The counter deltas go in one ``INSERT … ON CONFLICT DO UPDATE SET n = n +
        excluded.n``, cells in sorted order, after everything else: every lead row this
        unit changed is locked before any counter row, and counter rows are always
        locked in the same global order, so units of work cannot deadlock on them (R3,
        R11: concurrent claims and sweeps).

        With a held update and short inserts, update, inserts and counters are one
        prepared statement (:meth:`_commit_folded`), then ``COMMIT`` if the unit has
        begun a transaction; if not, that statement is the transaction. Otherwise the
        update (if any) is sent alone and the inserts and counters go with the
        ``COMMIT`` in one message of the simple query protocol (parameters bound by
        psycopg's client-side cursor), costing no round trip of their own; if a
        statement fails, the server skips the rest, ``COMMIT`` included, and the error
        is raised as usual."""
        update, self._held_update = self._held_update, None
        held, self._held = self._held, []
        deltas, self._deltas = self._deltas, {}
        cells = sorted(item for item in deltas.items() if item[1])
        if cells:
            held.append(
                _Insert(
                    "qleads_lead_count",
                    self._statements.bump_row,
                    [
                        (territory, status, held_cell, delta)
                        for (territory, status, held_cell), delta in cells
                    ],
                )
            )
        if update is not None:
            if all(len(insert.rows) <= _CACHED_ROWS for insert in held):
                self._commit_folded(update, held)
                return
            self._send_update(self._open(), update)
        parts: list[str] = []
        params: list[Any] = []
        for insert in held:
            parts.append(self._statements.rows(insert.statement, len(insert.rows)))
            for row in insert.rows:
                params.extend(row)
        if parts:
            cursor = self._open()
            if self._state != _WRITING:
                parts.insert(0, "BEGIN")  # PostgreSQL, no write sent yet: same message
            parts.append("COMMIT")
            self._state = _IDLE
            client = self._client_cursor(cursor)
            try:
                self._run(client, "; ".join(parts), params, _refusal(held))
            finally:
                client.close()
        self._end("COMMIT")

    def _commit_folded(self, update: _Update, held: Sequence[_Insert]) -> None:
        """The held update and inserts as one prepared statement, then ``COMMIT`` if a
        transaction is open: a claim's last round trip (see :meth:`_Statements.folded`)."""
        statement = self._statements.folded(
            update.statement, [(i.table, i.statement, len(i.rows)) for i in held]
        )
        params = list(update.params)
        for insert in held:
            for row in insert.rows:
                params.extend(row)
        cursor = self._open()
        if self._fetchone(self._run(cursor, statement, params, _refusal(held)))[0] != 1:
            self._lost(cursor, update)
        self._end("COMMIT")

    def _send_held_update(self, cursor: Any) -> None:
        """Send a held-back update now: a statement that may depend on it follows."""
        update, self._held_update = self._held_update, None
        if update is not None:
            self._send_update(cursor, update)

    def _send_update(self, cursor: Any, update: _Update) -> None:
        self._begin(cursor)
        if self._run(cursor, update.statement, update.params).rowcount != 1:
            self._lost(cursor, update)

    def _lost(self, cursor: Any, update: _Update) -> NoReturn:
        """The conditional update changed nothing: the lead is gone or has moved on."""
        if (
            self._fetchone(self._run(cursor, self._statements.version_of, (update.lead_id,)))
            is None
        ):
            raise LeadNotFound(update.lead_id)
        raise StaleUpdate(update.lead_id, update.expected_version)

    def _client_cursor(self, cursor: Any) -> Any:
        """A psycopg cursor that binds parameters itself, for a message of several
        statements (the server-side binding of the normal cursor allows one)."""
        import psycopg

        return psycopg.ClientCursor(cursor.connection)

    def rollback(self) -> None:
        self._deltas = {}
        self._held = []
        self._held_update = None
        self._end("ROLLBACK")

    def _send_held(self) -> None:
        """Send the held-back inserts now: a read of the history follows."""
        cursor = self._for_writing()
        held, self._held = self._held, []
        for insert in held:
            self._run_many(cursor, insert.statement, insert.rows, insert.on_integrity)

    def _count(self, before: tuple[str, str, int] | None, after: tuple[str, str, int]) -> None:
        # On SQLite the triggers of migration 0004 keep the counters.
        if self._sqlite or before == after:
            return
        deltas = self._deltas
        if before is not None:
            deltas[before] = deltas.get(before, 0) - 1
        deltas[after] = deltas.get(after, 0) + 1

    # --- plumbing ----------------------------------------------------------------------

    def _end(self, how: str) -> None:
        cursor = self._open()
        state, self._state = self._state, _IDLE
        try:
            if self._sqlite:
                if state != _IDLE:
                    cursor.execute(how)
            elif how == "COMMIT":
                cursor.connection.commit()
            else:
                cursor.connection.rollback()
        except self._dbapi.Error as e:
            self._fail(e)

    def _open(self) -> Any:
        if self._pooled is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._cursor

    def _for_reading(self) -> Any:
        """The cursor, inside a transaction (SQLite: a deferred one, if none is open),
        with a held-back update sent: what follows may read its row."""
        cursor = self._open()
        self._send_held_update(cursor)
        if self._state == _IDLE and self._sqlite:
            if self._writing:
                return self._for_writing()
            self._run(cursor, "BEGIN", ())
            self._state = _READING
        # PostgreSQL outside a transaction: the read is a statement of its own.
        return cursor

    def _for_writing(self, *, holding: bool = False) -> Any:
        """The cursor, inside a write transaction. On SQLite a read transaction is ended
        first (it holds nothing worth keeping: every write is conditional) and a
        ``BEGIN IMMEDIATE`` one starts, which waits for other writers on the busy
        timeout instead of failing. On PostgreSQL a held-back update is sent and the
        transaction begun, unless the caller only holds back more (``holding``): then
        nothing is sent yet, and the commit may need no transaction at all."""
        cursor = self._open()
        if not self._sqlite:
            if not holding:
                self._send_held_update(cursor)
                self._begin(cursor)
            return cursor
        if self._state != _WRITING:
            if self._state == _READING:
                self._state = _IDLE
                self._run(cursor, "COMMIT", ())
            self._run(cursor, "BEGIN IMMEDIATE", ())
            self._state = _WRITING
        return cursor

    def _begin(self, cursor: Any) -> None:
        """PostgreSQL: open the transaction, if this unit has not yet, before a write
        that does not wait for the commit or a read that locks."""
        if self._state != _WRITING and not self._sqlite:
            self._run(cursor, "BEGIN", ())
            self._state = _WRITING

    def _fail(
        self,
        error: Exception,
        statement: str | None = None,
        params: Any = None,
        on_integrity: Callable[[sa_exc.IntegrityError], QleadsError] | None = None,
    ) -> NoReturn:
        """Raise the qleads error for a driver error, chained to the SQLAlchemy exception
        the same error becomes on SQLAlchemy's own path; a lost connection leaves the
        pool."""
        pooled = self._pooled
        lost = False
        if pooled is not None:
            try:
                dialect: Any = self._repository.engine.dialect
                lost = dialect.is_disconnect(error, pooled.driver_connection, self._cursor)
            except Exception:  # the check itself must not hide the error
                lost = False
            if lost:
                pooled.invalidate(error)
        _raise_driver_error(
            error,
            self._repository.engine.dialect,
            statement,
            params,
            invalidated=lost,
            on_integrity=on_integrity,
        )

    def _run(
        self,
        cursor: Any,
        statement: str,
        params: Sequence[Any],
        on_integrity: Callable[[sa_exc.IntegrityError], QleadsError] | None = None,
    ) -> Any:
        try:
            cursor.execute(statement, params)
        except self._dbapi.Error as e:
            self._fail(e, statement, params, on_integrity)
        return cursor

    def _run_many(
        self,
        cursor: Any,
        statement: str,
        rows: Sequence[Sequence[Any]],
        on_integrity: Callable[[sa_exc.IntegrityError], QleadsError] | None = None,
    ) -> None:
        if len(rows) == 1:
            self._run(cursor, statement, rows[0], on_integrity)
            return
        try:
            cursor.executemany(statement, rows)
        except self._dbapi.Error as e:
            self._fail(e, statement, rows, on_integrity)

    def _fetchone(self, cursor: Any) -> Any:
        try:
            return cursor.fetchone()
        except self._dbapi.Error as e:
            self._fail(e)

    def _fetchall(self, cursor: Any) -> list[Any]:
        try:
            rows: list[Any] = cursor.fetchall()
        except self._dbapi.Error as e:
            self._fail(e)
        return rows

    def _state_params(self, lead: Lead) -> list[Any]:
        t = self._statements.instant_in
        deadline = lead.deadline
        return [
            t(lead.received_at),
            lead.territory_id,
            lead.status.value,
            t(lead.status_at),
            lead.holder_id,
            t(lead.hold_until),
            t(lead.due_at),
            deadline.kind.value if deadline is not None else None,
            t(deadline.at) if deadline is not None else None,
            _holders_text(lead.previous_holders),
            lead.version,
        ]

    def _changes(self, before: Lead, after: Lead) -> tuple[tuple[str, ...], list[Any]]:
        """The state columns that differ between two versions of a lead, with their new
        values. Setting only these keeps SQLite from rewriting the entries of indexes
        whose columns did not change (it rewrites every index a ``SET`` column is in)."""
        t = self._statements.instant_in
        columns: list[str] = []
        params: list[Any] = []
        if after.received_at != before.received_at:
            columns.append("received_at")
            params.append(t(after.received_at))
        if after.territory_id != before.territory_id:
            columns.append("territory_id")
            params.append(after.territory_id)
        if after.status is not before.status:
            columns.append("status")
            params.append(after.status.value)
        if after.status_at != before.status_at:
            columns.append("status_at")
            params.append(t(after.status_at))
        if after.holder_id != before.holder_id:
            columns.append("holder_id")
            params.append(after.holder_id)
        if after.hold_until != before.hold_until:
            columns.append("hold_until")
            params.append(t(after.hold_until))
        if after.due_at != before.due_at:
            columns.append("due_at")
            params.append(t(after.due_at))
        deadline, was = after.deadline, before.deadline
        if deadline != was:
            if deadline is None or was is None or deadline.kind is not was.kind:
                columns.append("deadline_kind")
                params.append(deadline.kind.value if deadline is not None else None)
            if deadline is None or was is None or deadline.at != was.at:
                columns.append("deadline_at")
                params.append(t(deadline.at) if deadline is not None else None)
        if after.previous_holders != before.previous_holders:
            columns.append("previous_holders")
            params.append(_holders_text(after.previous_holders))
        columns.append("version")
        params.append(after.version)
        return tuple(columns), params

    @staticmethod
    def _document_params(document: LeadDocument) -> list[Any]:
        contact = document.contact
        return [
            # The text SQLAlchemy's JSON type wrote before (json.dumps, default settings).
            json.dumps(unstructure_document(document)),
            document_fingerprint(document),
            contact.name,
            contact.postal_code,
            contact.city,
        ]

    # --- the port ------------------------------------------------------------------------

    def add(self, draft: Lead) -> Lead:
        cursor = self._for_writing()
        statements = self._statements
        params = [
            draft.source_id,
            *self._document_params(draft.document),
            *self._state_params(draft),
        ]
        row = self._fetchone(self._run(cursor, statements.add, params))
        if row is None:
            owner = self._fetchone(self._run(cursor, statements.source_owner, (draft.source_id,)))
            raise IntakeConflict(draft.source_id, int(owner[0]) if owner is not None else 0)
        lead = attrs.evolve(draft, id=int(row[0]))
        self._count(None, _cell(lead))
        if lead.previous_holders:
            self._run_many(
                cursor,
                statements.add_handled,
                [(lead.id, i) for i in sorted(lead.previous_holders)],
            )
        self._seen[lead.id] = lead
        return lead

    def get(self, lead_id: int) -> Lead:
        cursor = self._for_reading()
        row = self._fetchone(self._run(cursor, self._statements.get, (lead_id,)))
        if row is None:
            raise LeadNotFound(lead_id)
        lead = self._repository._lead(row)
        self._seen[lead.id] = lead
        return lead

    def get_by_source(self, source_id: str) -> Lead | None:
        cursor = self._for_reading()
        row = self._fetchone(self._run(cursor, self._statements.get_by_source, (source_id,)))
        if row is None:
            return None
        lead = self._repository._lead(row)
        self._seen[lead.id] = lead
        return lead

    def update(self, lead: Lead, *, expected_version: int) -> None:
        """One conditional ``UPDATE``: its row count is the whole concurrency control
        (R3, R11). The document is rewritten only if it is not the one this unit read."""
        if lead.version != expected_version + 1:
            raise StaleUpdate(lead.id, expected_version)
        cursor = self._for_writing(holding=True)
        self._send_held_update(cursor)  # another lead's (PostgreSQL)
        statements = self._statements
        seen = self._seen.get(lead.id)
        if seen is not None and seen.version != expected_version:
            seen = None  # read by this unit, but another version: as good as unread
        before: tuple[str, str, int] | None = None
        if self._sqlite:
            pass  # triggers count (migration 0004); the conditional update decides alone
        elif seen is not None:
            before = _cell(seen)
        else:
            # Not read by this unit: read the counted cell first, locking the row so that
            # the update below cannot lose.
            self._begin(cursor)
            cell = self._fetchone(
                self._run(cursor, statements.cell_of, (lead.id, expected_version))
            )
            if cell is None:
                if self._fetchone(self._run(cursor, statements.version_of, (lead.id,))) is None:
                    raise LeadNotFound(lead.id)
                raise StaleUpdate(lead.id, expected_version)
            before = (
                UNROUTED if cell[0] is None else cell[0],
                cell[1],
                0 if cell[2] is None else 1,
            )
        if seen is not None and seen.document is lead.document:
            columns, params = self._changes(seen, lead)
            statement = statements.update_of(columns)
        else:
            params = self._state_params(lead)
            statement = statements.update_all
            params.extend(self._document_params(lead.document))
        params.append(lead.id)
        params.append(expected_version)
        update = _Update(statement, params, lead.id, expected_version)
        if not self._sqlite and seen is not None and seen.previous_holders == lead.previous_holders:
            # Nothing else to write for this lead: hold the update back until the next
            # statement; at the commit it goes with the inserts (see the class docstring).
            self._held_update = update
        else:
            self._send_update(cursor, update)
            self._sync_handled(cursor, lead, seen.previous_holders if seen is not None else None)
        if before is not None:
            self._count(before, _cell(lead))
        self._seen[lead.id] = lead

    def _sync_handled(self, cursor: Any, lead: Lead, before: frozenset[str] | None) -> None:
        """Keep ``qleads_lead_handled`` equal to ``previous_holders`` (R2c)."""
        now = lead.previous_holders
        if before is not None and before == now:
            return
        statements = self._statements
        p = statements.p
        if before is None:
            kept = sorted(now)
            self._run(
                cursor,
                f"DELETE FROM qleads_lead_handled WHERE lead_id = {p} AND "  # noqa: S608
                + statements.among("installer_id", len(kept), negate=True),
                [lead.id, *statements.ids(kept)],
            )
            added = now
        else:
            removed = sorted(before - now)
            if removed:
                self._run(
                    cursor,
                    f"DELETE FROM qleads_lead_handled WHERE lead_id = {p} AND "  # noqa: S608
                    + statements.among("installer_id", len(removed)),
                    [lead.id, *statements.ids(removed)],
                )
            added = now - before
        if added:
            self._run_many(cursor, statements.add_handled, [(lead.id, i) for i in sorted(added)])

    def append(self, events: Sequence[HistoryEvent]) -> None:
        if not events:
            return
        cursor = self._for_writing(holding=True)
        t = self._statements.instant_in

        def refused(error: sa_exc.IntegrityError) -> QleadsError:
            first = events[0]
            if _integrity_kind(error) == "foreign_key":
                return LeadNotFound(first.lead_id)
            # Another writer already produced this version of the lead.
            return StaleUpdate(first.lead_id, first.version - 1)

        rows = [
            (
                e.lead_id,
                e.version,
                e.kind.value,
                e.actor_id,
                e.from_status.value if e.from_status is not None else None,
                e.to_status.value,
                t(e.effective_at),
                t(e.recorded_at),
                e.holder_id,
                e.channel.value if e.channel is not None else None,
                e.note,
                e.reason.value if e.reason is not None else None,
                t(e.due_at),
            )
            for e in events
        ]
        if self._sqlite:
            self._run_many(cursor, self._statements.append, rows, on_integrity=refused)
        else:
            self._held.append(_Insert("qleads_event", self._statements.append, rows, refused))

    def history(self, lead_id: int) -> list[HistoryEvent]:
        if self._held:
            self._send_held()
        cursor = self._for_reading()
        rows = self._fetchall(self._run(cursor, self._statements.history, (lead_id,)))
        instant = self._statements.instant_out
        return [
            HistoryEvent(
                lead_id=row[0],
                version=row[1],
                kind=_EVENT_KIND[row[2]],
                actor_id=row[3],
                from_status=_STATUS[row[4]] if row[4] is not None else None,
                to_status=_STATUS[row[5]],
                effective_at=instant(row[6]),
                recorded_at=instant(row[7]),
                holder_id=row[8],
                channel=_CHANNEL[row[9]] if row[9] is not None else None,
                note=row[10],
                reason=_REASON[row[11]] if row[11] is not None else None,
                due_at=instant(row[12]),
            )
            for row in rows
        ]

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        cursor = self._for_writing(holding=True)
        t = self._statements.instant_in
        rows = [
            (
                n.key,
                n.kind.value,
                n.lead_id,
                n.recipient_id,
                t(n.created_at),
                t(n.deadline_at),
                t(n.created_at),
            )
            for n in notifications
        ]
        if self._sqlite:
            self._run_many(cursor, self._statements.enqueue, rows)
        else:
            self._held.append(_Insert("qleads_outbox", self._statements.enqueue, rows))

    def find(self, query: LeadQuery) -> Page:
        if not query.clauses:
            return Page(leads=(), total=0)
        cursor = self._for_reading()
        statement, params = self._repository.tab_statement(query)
        rows = self._fetchall(self._run(cursor, statement, params))
        summary = self._repository._summary
        if rows:
            total = int(rows[0][-1]) + self._pending(query.clauses)
            return Page(leads=tuple(summary(row) for row in rows), total=total)
        # An empty page (past the end): the total still counts.
        return Page(leads=(), total=self._counts(cursor, [query])[0])

    def counts(self, queries: Sequence[LeadQuery]) -> list[int]:
        if not queries:
            return []
        return self._counts(self._for_reading(), queries)

    def _counts(self, cursor: Any, queries: Sequence[LeadQuery]) -> list[int]:
        asked = [q for q in queries if q.clauses]
        totals: list[int] = []
        if asked:
            statement, params = self._repository.counts_statement(asked)
            row = self._fetchone(self._run(cursor, statement, params))
            totals = [int(v) + self._pending(q.clauses) for v, q in zip(row, asked, strict=True)]
        found = iter(totals)
        return [next(found) if q.clauses else 0 for q in queries]

    def _pending(self, clauses: Sequence[Clause]) -> int:
        """This unit's own counter deltas in the cells ``clauses`` count (they reach
        the table only at commit; a unit reads its own writes)."""
        deltas = self._deltas
        if not deltas:
            return 0
        counted = [c for c in clauses if c.holder_id is None]
        return sum(
            delta for cell, delta in deltas.items() if any(_counts_cell(c, cell) for c in counted)
        )

    def due(self, now: dt.datetime, limit: int) -> list[Lead]:
        """Locks what it returns (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
        write lock of ``BEGIN IMMEDIATE``), so parallel sweeps share the due leads."""
        if limit < 1:
            return []
        cursor = self._for_writing()
        statements = self._statements
        rows = self._fetchall(
            self._run(cursor, statements.due, (statements.instant_in(now), limit))
        )
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


#: How long the territory table may be served from memory (see
#: :meth:`SqlAlchemyDirectory.territory_ids_of`).
TERRITORY_CACHE_SECONDS: Final = 1.0
_TERRITORY_DIRTY: Final = "qleads_territories_changed"


@attrs.frozen
class _TerritoryTable:
    """The whole territory table as one immutable value: what routing (R1), the
    new-lead notices (R10) and every scope (R2) ask of it."""

    all: tuple[Territory, ...]
    by_id: Mapping[str, Territory]
    ids_of_rep: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, territories: Sequence[Territory]) -> _TerritoryTable:
        ids_of_rep: dict[str, set[str]] = {}
        for territory in territories:
            ids_of_rep.setdefault(territory.rep_id, set()).add(territory.id)
        return cls(
            all=tuple(territories),
            by_id={t.id: t for t in territories},
            ids_of_rep={rep: frozenset(ids) for rep, ids in ids_of_rep.items()},
        )


class _TerritoryCache:
    """The territory table of one engine, read in one query and kept for at most
    ``ttl`` seconds, dropped whenever a statement through the engine writes a territory
    table. A network has hundreds of territories, and every intake routes over all of
    them while a claim, a tab or a sweep batch may come from any rep: one query a
    second per process, rather than one per use case.

    The generation guards against keeping a table read while a change was committed."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._held: tuple[float, _TerritoryTable] | None = None
        self._generation = 0

    def get(self, load: Callable[[], _TerritoryTable]) -> _TerritoryTable:
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


_TERRITORY_CACHES: weakref.WeakKeyDictionary[Engine, _TerritoryCache] = weakref.WeakKeyDictionary()
_TERRITORY_CACHES_LOCK = threading.Lock()


def _territory_cache(engine: Engine) -> _TerritoryCache:
    """The engine's cache, with the listeners that drop it on every write to the
    territory tables through the engine: at the statement and again at its commit."""
    cache = _TERRITORY_CACHES.get(engine)
    if cache is not None:
        return cache
    with _TERRITORY_CACHES_LOCK:
        cache = _TERRITORY_CACHES.get(engine)
        if cache is None:
            cache = _TerritoryCache(TERRITORY_CACHE_SECONDS)
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
        _territory_cache(conn.engine).clear()


def _territory_committed(conn: Connection) -> None:
    if conn.info.pop(_TERRITORY_DIRTY, False):
        _territory_cache(conn.engine).clear()


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
        self._territory_cache = _territory_cache(engine)

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
        :data:`TERRITORY_CACHE_SECONDS` (1 s) per engine; :meth:`territory` and
        :meth:`territories` answer from the same copy.

        Every write to the territory tables through this engine (any directory, the
        portal's admin screens, Alembic) drops the cache at once; a change made by
        another process or outside SQLAlchemy shows within that second. That is the
        same kind of window any use case has between reading the scope and committing
        its change, only wider (R2)."""
        return self._territory_table().ids_of_rep.get(rep_id, frozenset())

    def _territory_table(self) -> _TerritoryTable:
        return self._territory_cache.get(self._territory_table_from_db)

    def _territory_table_from_db(self) -> _TerritoryTable:
        return _TerritoryTable.of(_territories(self._read_driver(self._territory_sql)))

    def _read_driver(self, statement: str, *params: Any) -> list[Any]:
        dbapi: Any = self.engine.dialect.loaded_dbapi
        pooled = _checkout(self.engine)
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
                if driver.isolation_level is not None:
                    _configure_sqlite(driver)
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
            _raise_driver_error(e, self.engine.dialect, statement, params, invalidated=lost)
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
