"""The daily digest log: one row per installer and local day (R10, digest option).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Written out in full, like 0001, so that it creates the same table whatever later
versions of ``qleads.adapters.sql.schema`` declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qleads_mail_digest",
        sa.Column("installer_id", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(10), server_default="pending", nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("lead_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sent')", name="ck_qleads_mail_digest_state"),
        sa.PrimaryKeyConstraint("installer_id", "day", name="pk_qleads_mail_digest"),
    )


def downgrade() -> None:
    op.drop_table("qleads_mail_digest")
