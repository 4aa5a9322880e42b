"""SQLite: a rep's "all" and "mine" pages read from one index alone (R8).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Read on ``ix_qleads_lead_territory_received``, such a page found its 50 ids in a few
index pages and then fetched 50 table rows by id. At a million leads those rows sit on
50 table pages that no cache holds, and the page took half as long again as at ten
thousand (bench/HISTORY.md). ``ix_qleads_lead_territory_received_rows`` has the same key
and carries every column of a tab row after it, so a territory's newest rows sit side
by side and the page reads nothing else. It replaces the narrower index, which nothing
else reads. A claim or status record now rewrites the lead's entry in it, as it does in
the other status indexes already.

PostgreSQL is left as it is: it refuses index rows over 2.7 kB, and a lead's
``previous_holders`` has no bound, so such an index could refuse a release.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_COLUMNS = [
    "territory_id",
    "received_at",
    "id",
    "status",
    "status_at",
    "holder_id",
    "hold_until",
    "due_at",
    "deadline_kind",
    "deadline_at",
    "previous_holders",
    "version",
    "name",
    "postal_code",
    "city",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index(
        "ix_qleads_lead_territory_received_rows",
        "qleads_lead",
        _ROW_COLUMNS,
        if_not_exists=True,
    )
    op.drop_index("ix_qleads_lead_territory_received", table_name="qleads_lead", if_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_index(
        "ix_qleads_lead_territory_received",
        "qleads_lead",
        ["territory_id", "received_at", "id"],
        if_not_exists=True,
    )
    op.drop_index("ix_qleads_lead_territory_received_rows", table_name="qleads_lead")
