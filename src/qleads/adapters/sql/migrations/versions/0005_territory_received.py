"""An index for tabs without a status filter (R8).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A rep's "all" and "mine" tabs select every status of his territories. Read per
(territory, status) pair on ``ix_qleads_lead_territory_status_received``, a page of 50
reads up to 50 index rows of each of eight statuses per territory; on
``ix_qleads_lead_territory_received`` it reads 50 per territory. Claims and status
records do not change its key columns (SQLite leaves it alone on those updates);
PostgreSQL includes ``holder_id``, so that "mine" is answered from the index. An index
of that name made beforehand (``CREATE INDEX CONCURRENTLY``, docs/postgresql.md) is kept.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_qleads_lead_territory_received",
        "qleads_lead",
        ["territory_id", "received_at", "id"],
        postgresql_include=["holder_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_qleads_lead_territory_received", table_name="qleads_lead")
