"""Duplicate detection at intake (match keys, duplicate links) and working hours.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06

``qleads_match_key`` holds one row per match key of a lead (a SHA-256 digest of its
normalised e-mail, phone or street, house number and postal code) with the lead's
arrival, indexed by (key, arrival, lead) so that a submission finds the leads of the same
person within the window by one index range per key, whatever the number of leads.
``qleads_duplicate`` links a lead held back as a duplicate to its original. Both are new
tables: no existing row is touched. Leads received before this revision have no match
keys, so a later submission of the same person is not recognised as their duplicate.
Reps and installers get their working hours (``work_hours``, ``HH:MM-HH:MM``, default
08:00-18:00), in which the escalation ladder counts business hours; adding a column with
a constant default rewrites no row. The ladder needs no lead column: a step's place is
written into ``deadline_kind`` (``kind@place``) only where it differs from the default
ladder's.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table in ("qleads_rep", "qleads_installer"):
        op.add_column(
            table,
            sa.Column("work_hours", sa.String(11), nullable=False, server_default="08:00-18:00"),
        )
    op.create_table(
        "qleads_match_key",
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["qleads_lead.id"],
            name="fk_qleads_match_key_lead_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "key", name="pk_qleads_match_key"),
    )
    op.create_index(
        "ix_qleads_match_key_key_received", "qleads_match_key", ["key", "received_at", "lead_id"]
    )
    op.create_table(
        "qleads_duplicate",
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("original_id", _id(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["qleads_lead.id"],
            name="fk_qleads_duplicate_lead_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["qleads_lead.id"],
            name="fk_qleads_duplicate_original_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", name="pk_qleads_duplicate"),
    )
    op.create_index("ix_qleads_duplicate_original_id", "qleads_duplicate", ["original_id"])


def downgrade() -> None:
    for table in ("qleads_installer", "qleads_rep"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("work_hours")
    op.drop_index("ix_qleads_duplicate_original_id", table_name="qleads_duplicate")
    op.drop_table("qleads_duplicate")
    op.drop_index("ix_qleads_match_key_key_received", table_name="qleads_match_key")
    op.drop_table("qleads_match_key")
