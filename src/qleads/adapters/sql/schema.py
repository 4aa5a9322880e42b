"""The schema of qleads' SQL storage: every ``qleads_*`` table on one ``MetaData``, their
column types, indexes and checks, and the indexes only one dialect has.

The Alembic migrations (:mod:`qleads.adapters.sql.migrations`) create and upgrade these
tables and compare a database with :data:`metadata`; the adapters read and write them.
Nothing here opens a connection.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from qleads.instants import require_utc
from qleads.lifecycle import TERMINAL_STATUSES, Status

__all__ = [
    "ACCESS_PURGE_ROW",
    "ALEMBIC_VERSION_TABLE",
    "DIALECT_INDEXES",
    "RECOUNT_SQL",
    "RETENTION_CLOSED",
    "RETENTION_UNCLAIMED",
    "STATE_COLUMNS",
    "UNROUTED",
    "UtcDateTime",
    "access_log_table",
    "access_purge_table",
    "admin_table",
    "claim_pause_table",
    "digest_table",
    "duplicate_table",
    "erasure_table",
    "event_table",
    "handled_table",
    "installer_table",
    "lead_count_table",
    "lead_table",
    "match_key_table",
    "metadata",
    "outbox_table",
    "rep_table",
    "source_table",
    "status_in",
    "territory_policy_table",
    "territory_prefix_table",
    "territory_table",
]

#: Alembic's bookkeeping table for qleads' own migrations; prefixed so that a portal
#: can keep its own Alembic history in the same database.
ALEMBIC_VERSION_TABLE: Final = "qleads_alembic_version"

_UTC = dt.UTC

#: ``qleads_lead_count.territory_id`` of unrouted leads (R1); the directory refuses it
#: as a territory id.
UNROUTED: Final = ""


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
def status_in(statuses: frozenset[Status]) -> str:
    """The SQL condition "status is one of ``statuses``", always in the same text (sorted
    literals), so that a partial index of such a condition serves a query that writes it
    the same way (SQLite matches the terms as written)."""
    quoted = ", ".join("'" + s.value + "'" for s in sorted(statuses, key=lambda s: s.value))
    return f"status IN ({quoted})" if quoted else "1 = 0"


#: A lead's state: what a transition changes, and with the id, the three contact
#: columns below and without the document, what a tab row shows.
STATE_COLUMNS: Final = (
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
    # R14: when the person's data was erased (migration 0010); the retention indexes
    # below hold only leads not erased yet.
    sa.Column("erased_at", UtcDateTime(), nullable=True),
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
#: tab row (:mod:`~qleads.adapters.sql.tab_sql`) after the key. PostgreSQL's includes them all but
#: ``previous_holders``: it refuses index rows over 2,704 bytes, and that column has no
#: bound, while the others are bounded by their types (about 2.6 kB together at their
#: widest); a page reads a lead's previous holders from ``qleads_lead_handled`` instead.
#: :data:`DIALECT_INDEXES` names which index each dialect has.
_TERRITORY_KEY: Final = ("territory_id", "received_at", "id")
_ROW_COLUMNS: Final = (
    *(c for c in STATE_COLUMNS if c not in _TERRITORY_KEY),
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
_CLOSED: Final = status_in(TERMINAL_STATUSES)
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
#: R14: the leads the retention periods may take, not erased yet — closed ones by their
#: last status, never-claimed ones by their arrival — so that the sweep reads the due
#: ones from an index range, at a cost that follows them, not the table (R11).
RETENTION_CLOSED: Final = f"erased_at IS NULL AND {_CLOSED}"
RETENTION_UNCLAIMED: Final = "erased_at IS NULL AND status = 'new' AND previous_holders = '[]'"
sa.Index(
    "ix_qleads_lead_retention_closed",
    lead_table.c.status_at,
    lead_table.c.id,
    sqlite_where=sa.text(RETENTION_CLOSED),
    postgresql_where=sa.text(RETENTION_CLOSED),
)
sa.Index(
    "ix_qleads_lead_retention_unclaimed",
    lead_table.c.received_at,
    lead_table.c.id,
    sqlite_where=sa.text(RETENTION_UNCLAIMED),
    postgresql_where=sa.text(RETENTION_UNCLAIMED),
)
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
#: (:meth:`~qleads.adapters.sql.unit_of_work.SqlAlchemyUnitOfWork.commit`); on SQLite,
#: which has one writer at a time, triggers of migration 0004 keep them. Deleting leads
#: (which qleads never does; cleanups and tests do) is kept right by triggers of
#: migration 0003.
lead_count_table = sa.Table(
    "qleads_lead_count",
    metadata,
    sa.Column("territory_id", _ID, primary_key=True),
    sa.Column("status", sa.String(20), primary_key=True),
    sa.Column("held", sa.SmallInteger(), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)

#: Fill an empty ``qleads_lead_count`` from the leads (migration 0003,
#: :meth:`~qleads.adapters.sql.repository.SqlAlchemyLeadRepository.recount`).
RECOUNT_SQL: Final = (
    "INSERT INTO qleads_lead_count (territory_id, status, held, n) "
    "SELECT COALESCE(territory_id, ''), status, "
    "CASE WHEN holder_id IS NULL THEN 0 ELSE 1 END, count(*) "
    "FROM qleads_lead GROUP BY 1, 2, 3"
)

#: Duplicate detection at intake (``qleads.duplicates``, migration 0011): one row per
#: match key of a lead — a SHA-256 digest of its normalised e-mail, phone or address,
#: never the value itself — with its arrival, so a submission finds the leads its person
#: sent within the window by one index range per key. Personal data (R14): the erasure
#: of a lead deletes its rows here.
match_key_table = sa.Table(
    "qleads_match_key",
    metadata,
    sa.Column(
        "lead_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index("ix_qleads_match_key_key_received", "key", "received_at", "lead_id"),
)

#: A lead held back as a duplicate of another (migration 0011); the rep unlinks it.
duplicate_table = sa.Table(
    "qleads_duplicate",
    metadata,
    sa.Column(
        "lead_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "original_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
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

#: An installer's events of one kind in time order: his claims of a day and his expiries
#: of a window (claim limits, migration 0012), and his scorecard's history.
sa.Index(
    "ix_qleads_event_holder_kind_recorded",
    event_table.c.holder_id,
    event_table.c.kind,
    event_table.c.recorded_at,
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

#: A person's working hours, ``HH:MM-HH:MM`` local time (migration 0011): the escalation
#: ladder counts business hours in them (``Calendar.work_start``/``work_end``).
_WORK_HOURS: Final = "08:00-18:00"

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
    sa.Column("work_hours", sa.String(11), nullable=False, server_default=_WORK_HOURS),
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
    sa.Column("work_hours", sa.String(11), nullable=False, server_default=_WORK_HOURS),
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

#: The daily digest's once-per-day record (R10): one row per installer and local day that
#: a digest was reserved or sent for (migration 0002).
digest_table = sa.Table(
    "qleads_mail_digest",
    metadata,
    sa.Column("installer_id", sa.String(100), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False, server_default="pending"),
    sa.Column("lease_until", UtcDateTime(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("message_id", sa.String(300), nullable=True),
    sa.Column("lead_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent')", name="state"),
)

#: The latest claim pause of each installer (``qleads.limits``, migration 0012).
claim_pause_table = sa.Table(
    "qleads_claim_pause",
    metadata,
    sa.Column("installer_id", _ID, primary_key=True),
    sa.Column("since", UtcDateTime(), nullable=False),
    sa.Column("until", UtcDateTime(), nullable=False),
    sa.Column("lifted_at", UtcDateTime(), nullable=True),
    sa.Column("lifted_by", _ID, nullable=True),
)

#: Each territory's policy override, the settings it sets as a JSON object
#: (``qleads.policies``, migration 0012). Not tied to ``qleads_territory``: a portal may
#: keep its territories in a directory of its own.
territory_policy_table = sa.Table(
    "qleads_territory_policy",
    metadata,
    sa.Column("territory_id", _ID, primary_key=True),
    sa.Column("settings", sa.Text(), nullable=False),
)

# --- personal data (R14, migration 0010) -------------------------------------------------

#: Who read which lead's personal data, when (R14). Append-only: triggers of migration
#: 0010 refuse ``UPDATE`` and ``DELETE``, but for the
#: retention purge of rows older than the cutoff in :data:`access_purge_table`. It holds
#: nothing of the customer: ids, the kind of access, the time, a truncated address.
access_log_table = sa.Table(
    "qleads_access_log",
    metadata,
    sa.Column("id", _LEAD_ID, sa.Identity(), primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("user_id", _ID, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("lead_id", _LEAD_ID, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("territory_id", _ID, nullable=True),
    sa.Column("holder_id", _ID, nullable=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Index("ix_qleads_access_log_lead_id_at", "lead_id", "at"),
    sa.Index("ix_qleads_access_log_user_id_at", "user_id", "at"),
    sa.Index("ix_qleads_access_log_at", "at"),
)

#: The one row of :data:`access_purge_table`.
ACCESS_PURGE_ROW: Final = 1

#: The retention purge's permit: while its one row holds a cutoff, the delete trigger
#: of ``qleads_access_log`` lets rows older than it go. The purge sets it, deletes and
#: clears it in one transaction, so no other statement ever sees it set.
access_purge_table = sa.Table(
    "qleads_access_purge",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("cutoff", UtcDateTime(), nullable=True),
    sa.CheckConstraint(f"id = {ACCESS_PURGE_ROW}", name="one_row"),
)

#: That a lead's personal data was erased (R14): by whom, when, why; nothing erased.
erasure_table = sa.Table(
    "qleads_erasure",
    metadata,
    sa.Column(
        "lead_id",
        _LEAD_ID,
        sa.ForeignKey("qleads_lead.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("actor_id", _ID, nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
)
