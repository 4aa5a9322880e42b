"""The portal's own tables: its users, its settings and (for the demo) the mails it sent.

They live next to qleads' tables in the same database but belong to the portal, not to
the library: qleads knows installers, reps and admins as *actors* (its ``Directory``);
a :class:`PortalUser` is a login that acts as one of them (``actor_id``). Passwords are
stored only as salted hashes (werkzeug's scrypt), "Passwort vergessen" tokens only as
their SHA-256 (:class:`PasswordReset`).

The tables are made and changed by the portal's own Alembic migrations
(:mod:`examples.admin_app.migrations`, a version tree of its own next to qleads').
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, Literal

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Integer, MetaData, String, Text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from qleads import policies
from qleads.errors import InvalidInput
from qleads.model import Actor, Policy
from qleads.ports import Directory

from .policy_settings import settings_from_json, settings_to_json

__all__ = [
    "ROLES",
    "PasswordReset",
    "PortalBase",
    "PortalMail",
    "PortalSetting",
    "PortalUser",
    "Role",
    "load_policy",
    "new_session_token",
    "portal_metadata",
    "save_policy",
    "verify_password",
    "waste_password_check",
]

Role = Literal["installer", "rep", "admin"]
ROLES: tuple[Role, ...] = ("installer", "rep", "admin")


class PortalBase(DeclarativeBase):
    """Declarative base of the portal tables (Flask-Admin maps its views onto these)."""


def portal_metadata() -> MetaData:
    """Every table of the portal, including those declared outside this module (the
    intake API's idempotency records): what its migrations must create."""
    from .api import idempotency  # noqa: F401 - declares portal_api_idempotency

    return PortalBase.metadata


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def verify_password(password_hash: str, password: str) -> bool:
    """The one place a password is checked against a stored hash."""
    return check_password_hash(password_hash, password)


@functools.cache
def _dummy_hash() -> str:
    # Made on first use, not at import; the same method and cost as every stored hash.
    return generate_password_hash(secrets.token_urlsafe(16))


def waste_password_check(password: str) -> None:
    """Spend what checking a real password costs, for a login whose user name matches no
    account: the answer then takes as long as a wrong password and names no account."""
    verify_password(_dummy_hash(), password)


class PortalUser(PortalBase, UserMixin):
    """A login. ``role`` says which kind of qleads actor ``actor_id`` names.

    ``session_token`` is part of what the session cookie holds (:meth:`get_id`); the user
    loader accepts a cookie only while it matches. :meth:`end_sessions` replaces it, so
    every cookie issued before — on every device, replayed or stolen — stops working:
    on logout, a password change or reset, deactivation, or a change of role or actor.
    """

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="de")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session of this login ends (the next request gets the login page)."""
        self.session_token = new_session_token()

    def get_id(self) -> str:  # Flask-Login: what the session cookie holds
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return bool(self.active)

    @property
    def actor(self) -> Actor:
        """The qleads actor this login acts as; every use case takes it (R12)."""
        from .request_memo import remembered
        from .services import current_services

        # Read once per request: the view, the tab bar and the greeting all ask.
        role, actor_id = self.role, self.actor_id
        actor = remembered(
            ("actor", role, actor_id),
            lambda: actor_for(current_services().directory, role, actor_id),
        )
        if actor is None:
            raise LookupError(f"user {self.username!r}: no {self.role} {self.actor_id!r}")
        return actor

    @property
    def display_name(self) -> str:
        try:
            return self.actor.name
        except LookupError:
            return self.username

    def __repr__(self) -> str:
        return f"<PortalUser {self.username} {self.role}:{self.actor_id}>"


def actor_for(directory: Directory, role: str, actor_id: str) -> Actor | None:
    """Look a login's actor up in the directory."""
    if role == "installer":
        return directory.installer(actor_id)
    if role == "rep":
        return directory.rep(actor_id)
    if role == "admin":
        return directory.admin(actor_id)
    return None


class PasswordReset(PortalBase):
    """A "Passwort vergessen" link that has not been used yet. Only the SHA-256 of its
    token is stored: whoever reads the database cannot use a link from it."""

    __tablename__ = "portal_password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    def expires_at_utc(self) -> dt.datetime:
        """SQLite forgets time zones; every instant the portal stores is UTC."""
        at = self.expires_at
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


class PortalSetting(PortalBase):
    """A named JSON value (the policy lives here, editable by admins)."""

    __tablename__ = "portal_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PortalMail(PortalBase):
    """A mail as the demo mailer accepted it; the demo mail reader lists these."""

    __tablename__ = "portal_mails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), default="")
    sender: Mapped[str] = mapped_column(String(255), default="")
    recipients: Mapped[str] = mapped_column(String(1000), index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    raw: Mapped[str] = mapped_column(Text)

    @property
    def sent_at_utc(self) -> dt.datetime:
        """SQLite forgets time zones; every instant the portal stores is UTC."""
        at = self.sent_at
        return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)

    def message(self) -> EmailMessage:
        from email import message_from_string

        parsed = message_from_string(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text_body(self) -> str:
        part = self.message().get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""

    def html_body(self) -> str:
        part = self.message().get_body(preferencelist=("html",))
        return str(part.get_content()) if part is not None else ""


_POLICY_KEY = "policy"


def load_policy(sessions: sessionmaker[Session]) -> Policy:
    """The stored policy, or the manual's defaults when none is stored."""
    try:
        with sessions() as session:
            row = session.get(PortalSetting, _POLICY_KEY)
            if row is None:
                return Policy()
            data = json.loads(row.value)
    except (OperationalError, ProgrammingError):
        # No portal tables yet: an app made to run "db upgrade" on a new database.
        # /readyz reports the schema until then.
        return Policy()
    return Policy(
        claim_hold_days=int(data.get("claim_hold_days", 2)),
        assignment_reminder_days=int(data.get("assignment_reminder_days", 2)),
        escalation_days=(
            None if data.get("escalation_days") is None else int(data["escalation_days"])
        ),
        contact_before_claim="shown" if data.get("contact_before_claim") == "shown" else "hidden",
        **_further_settings(data),
        **settings_from_json(data),
    )


#: The settings ``load_policy`` reads one by one above.
_NAMED = frozenset(
    {"claim_hold_days", "assignment_reminder_days", "escalation_days", "contact_before_claim"}
)
#: The ladder's settings, stored in their own form (``policy_settings``).
_LADDER_SETTINGS = frozenset(settings_to_json(Policy()))


def _further_settings(data: dict[str, Any]) -> dict[str, Any]:
    """Every other stored setting the policy has (the claim limits, …), each checked
    by ``qleads.policies``; one that no longer parses is left at its default."""
    found: dict[str, Any] = {}
    for name, value in data.items():
        if name in _NAMED or name in _LADDER_SETTINGS:
            continue
        try:
            found.update(policies.parse({name: value}))
        except InvalidInput:
            continue
    return found


def save_policy(sessions: sessionmaker[Session], policy: Policy) -> None:
    value = json.dumps(
        {
            "claim_hold_days": policy.claim_hold_days,
            "assignment_reminder_days": policy.assignment_reminder_days,
            "escalation_days": policy.escalation_days,
            "contact_before_claim": policy.contact_before_claim,
            **{
                name: value
                for name, value in policies.encode(
                    {n: getattr(policy, n) for n in policies.setting_names()}
                ).items()
                if name not in _NAMED and name not in _LADDER_SETTINGS
            },
            **settings_to_json(policy),
        }
    )
    with sessions() as session, session.begin():
        row = session.get(PortalSetting, _POLICY_KEY)
        if row is None:
            session.add(PortalSetting(key=_POLICY_KEY, value=value))
        else:
            row.value = value
