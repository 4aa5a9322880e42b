"""SQLite: the tab counters kept by triggers (R8).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

SQLite has one writer at a time, so triggers that adjust ``qleads_lead_count`` inside
each ``INSERT`` and ``UPDATE`` of a lead cannot deadlock, and they cost one step of the
statement that changes the lead instead of one more statement per transaction. They
also keep the counters right for writes made around qleads (hand-written SQL, bulk
loads). On PostgreSQL the unit of work still applies its deltas in one sorted statement
just before ``COMMIT``: there, counter rows are row-locked, and triggers would lock them
in the order the leads change, which lets two sweeps deadlock.

Stop the application while upgrading (a unit of work of the previous version would add
its own deltas on top of the triggers'); the counters are rebuilt at the end.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """
CREATE TRIGGER qleads_lead_count_inserted AFTER INSERT ON qleads_lead
BEGIN
    INSERT INTO qleads_lead_count (territory_id, status, held, n)
    VALUES (COALESCE(NEW.territory_id, ''), NEW.status, NEW.holder_id IS NOT NULL, 1)
    ON CONFLICT (territory_id, status, held) DO UPDATE SET n = n + 1;
END
""",
    """
CREATE TRIGGER qleads_lead_count_updated
AFTER UPDATE OF territory_id, status, holder_id ON qleads_lead
WHEN OLD.territory_id IS NOT NEW.territory_id OR OLD.status IS NOT NEW.status
    OR (OLD.holder_id IS NULL) IS NOT (NEW.holder_id IS NULL)
BEGIN
    UPDATE qleads_lead_count SET n = n - 1
    WHERE territory_id = COALESCE(OLD.territory_id, '') AND status = OLD.status
      AND held = (OLD.holder_id IS NOT NULL);
    INSERT INTO qleads_lead_count (territory_id, status, held, n)
    VALUES (COALESCE(NEW.territory_id, ''), NEW.status, NEW.holder_id IS NOT NULL, 1)
    ON CONFLICT (territory_id, status, held) DO UPDATE SET n = n + 1;
END
""",
)

_RECOUNT = (
    "INSERT INTO qleads_lead_count (territory_id, status, held, n) "
    "SELECT COALESCE(territory_id, ''), status, "
    "CASE WHEN holder_id IS NULL THEN 0 ELSE 1 END, count(*) "
    "FROM qleads_lead GROUP BY 1, 2, 3"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)
    op.execute("DELETE FROM qleads_lead_count")
    op.execute(_RECOUNT)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS qleads_lead_count_updated")
    op.execute("DROP TRIGGER IF EXISTS qleads_lead_count_inserted")
