"""Claim limits and per-territory policy overrides.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06

``qleads_claim_pause`` keeps the latest claim pause of each installer (``qleads.limits``:
paused after too many expired claims, until a date or until his rep or an admin lifts
it). ``qleads_territory_policy`` keeps each territory's policy override as a JSON object
of the settings it sets (``qleads.policies``). The index on ``qleads_event``
(``holder_id``, ``kind``, ``recorded_at``) finds an installer's claims of a day and his
expiries of a window without reading anyone else's history; on a large history its
creation takes time in proportion to the events.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qleads_claim_pause",
        sa.Column("installer_id", sa.String(100), nullable=False),
        sa.Column("since", _instant(), nullable=False),
        sa.Column("until", _instant(), nullable=False),
        sa.Column("lifted_at", _instant(), nullable=True),
        sa.Column("lifted_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("installer_id", name="pk_qleads_claim_pause"),
    )
    op.create_table(
        "qleads_territory_policy",
        sa.Column("territory_id", sa.String(100), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("territory_id", name="pk_qleads_territory_policy"),
    )
    op.create_index(
        "ix_qleads_event_holder_kind_recorded",
        "qleads_event",
        ["holder_id", "kind", "recorded_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_qleads_event_holder_kind_recorded", table_name="qleads_event")
    op.drop_table("qleads_territory_policy")
    op.drop_table("qleads_claim_pause")
