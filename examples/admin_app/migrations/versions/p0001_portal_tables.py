"""The portal's tables: logins, reset links, settings, the demo mailbox, the intake
API's idempotency records.

Revision ID: p0001
Revises:
Create Date: 2026-12-06

Written out in full, so that it does the same whatever the models declare later.
Databases made before the portal had migrations (its tables made by ``create_all``) are
adopted: a table that exists is kept, the column ``portal_users.session_token`` is
added where it is missing, and every login without a token gets one, so that cookies
from before (which hold no token) are refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)
#: The longest Idempotency-Key the intake API takes.
_KEY_MAX_LENGTH = 255


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    present = _tables()
    if "portal_users" not in present:
        op.create_table(
            "portal_users",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("username", sa.String(80), nullable=False),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("actor_id", sa.String(64), nullable=False),
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("session_token", sa.String(64), nullable=False),
        )
        op.create_index("ix_portal_users_username", "portal_users", ["username"], unique=True)
    else:
        columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("portal_users")}
        if "session_token" not in columns:
            op.add_column("portal_users", sa.Column("session_token", sa.String(64)))
        users = sa.table("portal_users", sa.column("id", sa.Integer), sa.column("session_token"))
        bind = op.get_bind()
        for (user_id,) in bind.execute(
            sa.select(users.c.id).where(users.c.session_token.is_(None))
        ).all():
            bind.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(session_token=secrets.token_urlsafe(24))
            )
        with op.batch_alter_table("portal_users") as batch:
            batch.alter_column("session_token", existing_type=sa.String(64), nullable=False)
    if "portal_password_resets" not in present:
        op.create_table(
            "portal_password_resets",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("created_at", _TZ, nullable=False),
            sa.Column("expires_at", _TZ, nullable=False),
        )
        op.create_index("ix_portal_password_resets_user_id", "portal_password_resets", ["user_id"])
        op.create_index(
            "ix_portal_password_resets_expires_at", "portal_password_resets", ["expires_at"]
        )
    if "portal_settings" not in present:
        op.create_table(
            "portal_settings",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("value", sa.Text(), nullable=False),
        )
    if "portal_mails" not in present:
        op.create_table(
            "portal_mails",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("message_id", sa.String(255), nullable=False),
            sa.Column("sender", sa.String(255), nullable=False),
            sa.Column("recipients", sa.String(1000), nullable=False),
            sa.Column("subject", sa.String(500), nullable=False),
            sa.Column("sent_at", _TZ, nullable=False),
            sa.Column("raw", sa.Text(), nullable=False),
        )
        op.create_index("ix_portal_mails_recipients", "portal_mails", ["recipients"])
    if "portal_api_idempotency" not in present:
        op.create_table(
            "portal_api_idempotency",
            sa.Column("source_id", sa.String(64), primary_key=True),
            sa.Column("idempotency_key", sa.String(_KEY_MAX_LENGTH), primary_key=True),
            sa.Column("request_hash", sa.String(64), nullable=False),
            sa.Column("status", sa.Integer(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("location", sa.String(200), nullable=True),
            sa.Column("created_at", _TZ, nullable=False),
        )
        op.create_index(
            "ix_portal_api_idempotency_created_at", "portal_api_idempotency", ["created_at"]
        )


def downgrade() -> None:
    for table in (
        "portal_api_idempotency",
        "portal_mails",
        "portal_settings",
        "portal_password_resets",
        "portal_users",
    ):
        op.drop_table(table)
