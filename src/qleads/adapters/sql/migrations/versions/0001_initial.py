"""The initial schema: leads, their history and outbox, and the directory.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Written out in full rather than derived from the current metadata, so that this
migration creates the same tables whatever later versions of qleads declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    """BIGINT identity on PostgreSQL, the rowid alias INTEGER on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant() -> sa.DateTime:
    """``timestamptz`` on PostgreSQL; fixed-width UTC text in SQLite's DATETIME."""
    return sa.DateTime(timezone=True)


def _calendar_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("country", sa.String(2), server_default="DE", nullable=False),
        sa.Column("subdivision", sa.String(10), nullable=True),
        sa.Column("workdays", sa.String(20), server_default="0,1,2,3,4", nullable=False),
        sa.Column("tz", sa.String(64), server_default="Europe/Berlin", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "qleads_lead",
        sa.Column("id", _id(), sa.Identity(always=False), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("received_at", _instant(), nullable=False),
        sa.Column("territory_id", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_at", _instant(), nullable=False),
        sa.Column("holder_id", sa.String(100), nullable=True),
        sa.Column("hold_until", _instant(), nullable=True),
        sa.Column("due_at", _instant(), nullable=True),
        sa.Column("deadline_kind", sa.String(30), nullable=True),
        sa.Column("deadline_at", _instant(), nullable=True),
        sa.Column("previous_holders", sa.Text(), server_default="[]", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("city", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_lead"),
        sa.UniqueConstraint("source_id", name="uq_qleads_lead_source_id"),
    )
    # R8: an installer's own tabs, a territory's pool and a rep's tabs, the admin's list.
    op.create_index(
        "ix_qleads_lead_holder_status_received",
        "qleads_lead",
        ["holder_id", "status", "received_at", "id"],
    )
    op.create_index(
        "ix_qleads_lead_territory_status_received",
        "qleads_lead",
        ["territory_id", "status", "received_at", "id"],
    )
    op.create_index("ix_qleads_lead_received", "qleads_lead", ["received_at", "id"])
    # R11: only leads with a running deadline are indexed for the sweep.
    op.create_index(
        "ix_qleads_lead_deadline",
        "qleads_lead",
        ["deadline_at", "id"],
        sqlite_where=sa.text("deadline_at IS NOT NULL"),
        postgresql_where=sa.text("deadline_at IS NOT NULL"),
    )

    op.create_table(
        "qleads_lead_handled",
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("installer_id", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["qleads_lead.id"],
            name="fk_qleads_lead_handled_lead_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "installer_id", name="pk_qleads_lead_handled"),
    )
    op.create_index("ix_qleads_lead_handled_installer_id", "qleads_lead_handled", ["installer_id"])

    op.create_table(
        "qleads_event",
        sa.Column("id", _id(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("effective_at", _instant(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("holder_id", sa.String(100), nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(30), nullable=True),
        sa.Column("due_at", _instant(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["qleads_lead.id"],
            name="fk_qleads_event_lead_id_qleads_lead",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_event"),
        sa.UniqueConstraint("lead_id", "version", name="uq_qleads_event_lead_id_version"),
    )

    op.create_table(
        "qleads_outbox",
        sa.Column("id", _id(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("lead_id", _id(), nullable=False),
        sa.Column("recipient_id", sa.String(100), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("deadline_at", _instant(), nullable=True),
        sa.Column("state", sa.String(10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _instant(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", _instant(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _instant(), nullable=True),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_qleads_outbox_state"),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_outbox"),
        sa.UniqueConstraint("key", name="uq_qleads_outbox_key"),
    )
    op.create_index(
        "ix_qleads_outbox_pending",
        "qleads_outbox",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )

    op.create_table(
        "qleads_rep",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("language", sa.String(10), server_default="de", nullable=False),
        *_calendar_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_rep"),
    )
    op.create_table(
        "qleads_installer",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("rep_id", sa.String(100), nullable=False),
        sa.Column("language", sa.String(10), server_default="de", nullable=False),
        *_calendar_columns(),
        sa.Column("digest_hour", sa.SmallInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["qleads_rep.id"], name="fk_qleads_installer_rep_id_qleads_rep"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_installer"),
    )
    op.create_index("ix_qleads_installer_rep_id", "qleads_installer", ["rep_id"])
    op.create_table(
        "qleads_admin",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("language", sa.String(10), server_default="de", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_admin"),
    )
    op.create_table(
        "qleads_source",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_source"),
        sa.UniqueConstraint("token_hash", name="uq_qleads_source_token_hash"),
    )
    op.create_table(
        "qleads_territory",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("rep_id", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["qleads_rep.id"], name="fk_qleads_territory_rep_id_qleads_rep"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_territory"),
    )
    op.create_index("ix_qleads_territory_rep_id", "qleads_territory", ["rep_id"])
    op.create_table(
        "qleads_territory_prefix",
        sa.Column("territory_id", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["qleads_territory.id"],
            name="fk_qleads_territory_prefix_territory_id_qleads_territory",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("territory_id", "prefix", name="pk_qleads_territory_prefix"),
    )


def downgrade() -> None:
    for table in (
        "qleads_territory_prefix",
        "qleads_territory",
        "qleads_source",
        "qleads_admin",
        "qleads_installer",
        "qleads_rep",
        "qleads_outbox",
        "qleads_event",
        "qleads_lead_handled",
        "qleads_lead",
    ):
        op.drop_table(table)
