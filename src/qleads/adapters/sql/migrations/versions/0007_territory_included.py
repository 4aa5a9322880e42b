"""PostgreSQL: a rep's "all" and "mine" pages read from one index alone (R8).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Read on ``ix_qleads_lead_territory_received``, such a page found its 50 ids in the index
and then fetched 50 table rows by id. At a million leads those rows sit on 50 table
pages that ``shared_buffers`` rarely holds, and the page took up to a third longer than
at ten thousand (bench/HISTORY.md). ``ix_qleads_lead_territory_received_included`` has
the same key and includes every column of a tab row but ``previous_holders`` (whose
length has no bound, while PostgreSQL refuses index rows over about 2.7 kB); the page
reads those from ``qleads_lead_handled``. It replaces the narrower index, which nothing
else reads. An index of that name made beforehand (``CREATE INDEX CONCURRENTLY``,
docs/postgresql.md) is kept. SQLite has had its own since 0006.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INCLUDED = [
    "status",
    "status_at",
    "holder_id",
    "hold_until",
    "due_at",
    "deadline_kind",
    "deadline_at",
    "version",
    "name",
    "postal_code",
    "city",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_qleads_lead_territory_received_included",
        "qleads_lead",
        ["territory_id", "received_at", "id"],
        postgresql_include=_INCLUDED,
        if_not_exists=True,
    )
    op.drop_index("ix_qleads_lead_territory_received", table_name="qleads_lead", if_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_qleads_lead_territory_received",
        "qleads_lead",
        ["territory_id", "received_at", "id"],
        postgresql_include=["holder_id"],
        if_not_exists=True,
    )
    op.drop_index("ix_qleads_lead_territory_received_included", table_name="qleads_lead")
