"""Maintained tab counters: leads per (territory, status, held) cell (R8).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

``qleads_lead_count`` lets a tab's total be a sum over a few counter rows instead of a
count over every matching lead, so tab pages and counts cost the same at 10k and 1M
leads. The unit of work keeps the counters in the transaction of every insert and
update (``SqlAlchemyUnitOfWork.commit``); this migration creates the table, fills it
from the existing leads, and adds triggers for the one write qleads never makes itself:
deleting leads (and, on PostgreSQL, ``TRUNCATE``), as cleanups and test fixtures do.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = (
    "INSERT INTO qleads_lead_count (territory_id, status, held, n) "
    "SELECT COALESCE(territory_id, ''), status, "
    "CASE WHEN holder_id IS NULL THEN 0 ELSE 1 END, count(*) "
    "FROM qleads_lead GROUP BY 1, 2, 3"
)

_SQLITE_DELETE_TRIGGER = """
CREATE TRIGGER qleads_lead_count_deleted AFTER DELETE ON qleads_lead
BEGIN
    UPDATE qleads_lead_count SET n = n - 1
    WHERE territory_id = COALESCE(OLD.territory_id, '') AND status = OLD.status
      AND held = CASE WHEN OLD.holder_id IS NULL THEN 0 ELSE 1 END;
END
"""

_POSTGRES_FUNCTIONS = (
    """
CREATE FUNCTION qleads_lead_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE qleads_lead_count SET n = n - 1
    WHERE territory_id = COALESCE(OLD.territory_id, '') AND status = OLD.status
      AND held = CASE WHEN OLD.holder_id IS NULL THEN 0 ELSE 1 END;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION qleads_lead_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM qleads_lead_count;
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER qleads_lead_count_deleted AFTER DELETE ON qleads_lead "
    "FOR EACH ROW EXECUTE FUNCTION qleads_lead_count_deleted()",
    "CREATE TRIGGER qleads_lead_count_truncated AFTER TRUNCATE ON qleads_lead "
    "FOR EACH STATEMENT EXECUTE FUNCTION qleads_lead_count_truncated()",
)


def upgrade() -> None:
    op.create_table(
        "qleads_lead_count",
        sa.Column("territory_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("held", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("territory_id", "status", "held", name="pk_qleads_lead_count"),
    )
    op.execute(_BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_FUNCTIONS:
            op.execute(statement)
    else:
        op.execute(_SQLITE_DELETE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS qleads_lead_count_truncated ON qleads_lead")
        op.execute("DROP TRIGGER IF EXISTS qleads_lead_count_deleted ON qleads_lead")
        op.execute("DROP FUNCTION IF EXISTS qleads_lead_count_truncated()")
        op.execute("DROP FUNCTION IF EXISTS qleads_lead_count_deleted()")
    else:
        op.execute("DROP TRIGGER IF EXISTS qleads_lead_count_deleted")
    op.drop_table("qleads_lead_count")
