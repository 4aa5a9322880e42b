"""Outbox rows for mails an embedder composed himself, such as a reset link (R10).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``qleads_outbox`` gets the columns of a ``qleads.mail.outbox.OutboxMessage``: the
recipient's address and name, the subject, the text and HTML body, and the instant from
which the message is no longer worth sending. A message belongs to no lead, so
``lead_id`` and ``recipient_id`` may now be NULL. Two checks keep the kinds apart: a
notification names its lead and recipient and has no address, a message (``kind =
'message'``) the other way round (``ck_qleads_outbox_shape``); and only a pending message
holds a subject and body, so a sent or failed one cannot keep a secret such as a reset
link (``ck_qleads_outbox_content``). Messages are rows of the same table, not of one of
their own, so that they share the one lease query, the one key space and the one failed
list with the notifications.

On PostgreSQL this is ``ALTER TABLE`` alone (the checks read the table once). SQLite can
neither relax ``NOT NULL`` nor add a check in place: Alembic's batch mode rebuilds the
table (copy, drop, rename, index), which takes time in proportion to the outbox's rows.
The downgrade deletes the message rows and restores the table of 0001.
Written out in full, like 0001, so that it does the same whatever later versions
declare.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE = "kind = 'message'"
_SHAPE = (
    f"({_MESSAGE} AND lead_id IS NULL AND recipient_id IS NULL AND to_address IS NOT NULL)"
    f" OR (NOT ({_MESSAGE}) AND lead_id IS NOT NULL AND recipient_id IS NOT NULL"
    " AND to_address IS NULL)"
)
_CONTENT = (
    f"(state = 'pending' AND {_MESSAGE} AND subject IS NOT NULL AND body_text IS NOT NULL)"
    f" OR ((state <> 'pending' OR NOT ({_MESSAGE}))"
    " AND subject IS NULL AND body_text IS NULL AND body_html IS NULL)"
)
_CHECKS = (("ck_qleads_outbox_shape", _SHAPE), ("ck_qleads_outbox_content", _CONTENT))


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _message_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("to_address", sa.String(320), nullable=True),
        sa.Column("to_name", sa.String(200), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("expires_at", _instant(), nullable=True),
    ]


def _outbox(*, messages: bool) -> sa.Table:
    """``qleads_outbox`` as 0001 made it, or as this revision leaves it: what SQLite's
    rebuild copies from, instead of reading it back from the database."""
    extra: list[sa.schema.SchemaItem] = []
    if messages:
        extra = [*_message_columns(), *(sa.CheckConstraint(t, name=n) for n, t in _CHECKS)]
    return sa.Table(
        "qleads_outbox",
        sa.MetaData(),
        sa.Column("id", _id(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("lead_id", _id(), nullable=messages),
        sa.Column("recipient_id", sa.String(100), nullable=messages),
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
        # The name 0001 gave it, the naming convention applied to the full name.
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name="ck_qleads_outbox_ck_qleads_outbox_state"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_qleads_outbox"),
        sa.UniqueConstraint("key", name="uq_qleads_outbox_key"),
        sa.Index(
            "ix_qleads_outbox_pending",
            "next_attempt_at",
            "id",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        ),
        *extra,
    )


def upgrade() -> None:
    with op.batch_alter_table("qleads_outbox", copy_from=_outbox(messages=False)) as batch:
        batch.alter_column("lead_id", existing_type=_id(), nullable=True)
        batch.alter_column("recipient_id", existing_type=sa.String(100), nullable=True)
        for column in _message_columns():
            batch.add_column(column)
        for name, text in _CHECKS:
            # op.f(): the name as written, without the metadata's naming convention.
            batch.create_check_constraint(op.f(name), text)


def downgrade() -> None:
    op.execute("DELETE FROM qleads_outbox WHERE kind = 'message'")
    with op.batch_alter_table("qleads_outbox", copy_from=_outbox(messages=True)) as batch:
        for name, _text in reversed(_CHECKS):
            batch.drop_constraint(op.f(name), type_="check")
        for column in reversed(_message_columns()):
            batch.drop_column(column.name)
        batch.alter_column("recipient_id", existing_type=sa.String(100), nullable=False)
        batch.alter_column("lead_id", existing_type=_id(), nullable=False)
