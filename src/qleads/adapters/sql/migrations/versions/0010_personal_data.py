"""Personal data (R14): the append-only access log, its purge permit, erasure records.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``qleads_access_log`` holds one row per read of a lead's personal data: ids, the kind of
access, the time and a truncated client address, nothing of the customer. Triggers make
it append-only on both dialects: ``UPDATE`` is always refused, ``DELETE`` too, except
for rows older than the cutoff the retention purge writes into the one row of
``qleads_access_purge`` inside its own transaction. (``TRUNCATE`` is the table owner's
and fires no row trigger: give the application's role no ``TRUNCATE`` privilege.)
``qleads_erasure`` records each erased lead: who, when and why, and
``qleads_lead.erased_at`` marks it, so that two partial indexes hold only the leads the
retention periods may still take (the sweep's cost follows the due ones, R11).

Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSED = "qleads_access_log is append-only (R14): only the retention purge deletes"
_PURGE_PERMITS = (
    "EXISTS (SELECT 1 FROM qleads_access_purge WHERE cutoff IS NOT NULL AND OLD.at < cutoff)"
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER qleads_access_log_no_update BEFORE UPDATE ON qleads_access_log "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END",
    "CREATE TRIGGER qleads_access_log_no_delete BEFORE DELETE ON qleads_access_log "
    f"WHEN NOT {_PURGE_PERMITS} BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END",
)
_POSTGRES_GUARD = (
    "CREATE FUNCTION qleads_access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    f"IF TG_OP = 'DELETE' AND {_PURGE_PERMITS} THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{_REFUSED}' USING ERRCODE = 'insufficient_privilege'; "
    "END $$"
)
_POSTGRES_TRIGGERS = (
    _POSTGRES_GUARD,
    "CREATE TRIGGER qleads_access_log_append_only BEFORE UPDATE OR DELETE "
    "ON qleads_access_log FOR EACH ROW EXECUTE FUNCTION qleads_access_log_guard()",
)


#: The leads retention may take, not erased yet (closed: the statuses of R6's table).
_RETENTION_INDEXES = (
    (
        "ix_qleads_lead_retention_closed",
        "status_at",
        "erased_at IS NULL AND status IN ('order_placed', 'unsuccessful')",
    ),
    (
        "ix_qleads_lead_retention_unclaimed",
        "received_at",
        "erased_at IS NULL AND status = 'new' AND previous_holders = '[]'",
    ),
)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qleads_access_log",
        sa.Column("id", _id(), sa.Identity(always=False), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("territory_id", sa.String(100), nullable=True),
        sa.Column("holder_id", sa.String(100), nullable=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_access_log"),
    )
    op.create_index("ix_qleads_access_log_lead_id_at", "qleads_access_log", ["lead_id", "at"])
    op.create_index("ix_qleads_access_log_user_id_at", "qleads_access_log", ["user_id", "at"])
    op.create_index("ix_qleads_access_log_at", "qleads_access_log", ["at"])
    op.create_table(
        "qleads_access_purge",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cutoff", _instant(), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_qleads_access_purge_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_access_purge"),
    )
    op.execute("INSERT INTO qleads_access_purge (id, cutoff) VALUES (1, NULL)")
    op.create_table(
        "qleads_erasure",
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["qleads_lead.id"],
            name="fk_qleads_erasure_lead_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", name="pk_qleads_erasure"),
    )
    op.add_column("qleads_lead", sa.Column("erased_at", _instant(), nullable=True))
    for name, column, where in _RETENTION_INDEXES:
        op.create_index(
            name,
            "qleads_lead",
            [column, "id"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE_TRIGGERS if sqlite else _POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS qleads_access_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS qleads_access_log_no_update")
    for name, _column, _where in _RETENTION_INDEXES:
        op.drop_index(name, table_name="qleads_lead")
    # In place on SQLite too (3.35+): a batch rebuild would drop the triggers of 0003.
    op.drop_column("qleads_lead", "erased_at")
    op.drop_table("qleads_erasure")
    op.drop_table("qleads_access_purge")
    op.drop_table("qleads_access_log")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS qleads_access_log_guard()")
