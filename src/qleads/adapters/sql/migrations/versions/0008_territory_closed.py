"""A rep's "closed" page read from one partial index of closed leads alone (R8).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Read per (territory, status) on ``ix_qleads_lead_territory_status_received``, such a
page found its 50 ids in the index and then fetched 50 table rows by id. Closed leads
are most of a large table and the oldest, so at a million leads those rows sit on 50
table pages that no cache holds: the page took a fifth (PostgreSQL) to three fifths
(SQLite) longer than at ten thousand (bench/HISTORY.md). The new index holds the closed
leads only (``status IN ('order_placed', 'unsuccessful')``, written as the adapter
writes the tab's condition), keyed like the territory index of 0006/0007 and carrying
the same columns: on PostgreSQL included, every column of a tab row but
``previous_holders``; on SQLite every column, as key columns. Closed leads do not
change again (but for an admin's reopening, which takes one out), so claims, records
and sweeps do not write to it. An index of that name made beforehand
(``CREATE INDEX CONCURRENTLY``, docs/postgresql.md) is kept.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLOSED = "status IN ('order_placed', 'unsuccessful')"
_KEY = ["territory_id", "received_at", "id"]
_ROW = [
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
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_qleads_lead_territory_closed_included",
            "qleads_lead",
            _KEY,
            postgresql_include=_ROW,
            postgresql_where=sa.text(_CLOSED),
            if_not_exists=True,
        )
    else:
        # The order of 0006's index: the key, then the state columns, then the contact.
        columns = [*_KEY, *_ROW[:7], "previous_holders", *_ROW[7:]]
        op.create_index(
            "ix_qleads_lead_territory_closed_rows",
            "qleads_lead",
            columns,
            sqlite_where=sa.text(_CLOSED),
            if_not_exists=True,
        )


def downgrade() -> None:
    name = (
        "ix_qleads_lead_territory_closed_included"
        if op.get_bind().dialect.name == "postgresql"
        else "ix_qleads_lead_territory_closed_rows"
    )
    op.drop_index(name, table_name="qleads_lead")
