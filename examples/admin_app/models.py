"""The portal's own tables: its users, its settings and (for the demo) the mails it sent.

They live next to qleads' tables in the same database but belong to the portal, not to
the library: qleads knows installers, reps and admins as *actors* (its ``Directory``);
a :class:`PortalUser` is a login that acts as one of them (``actor_id``). Passwords are
stored only as salted hashes (werkzeug's scrypt).
"""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, Literal

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from qleads.model import Actor, Policy
from qleads.ports import Directory

__all__ = [
    "ROLES",
    "PortalBase",
    "PortalMail",
    "PortalSetting",
    "PortalUser",
    "Role",
    "load_policy",
    "save_policy",
]

Role = Literal["installer", "rep", "admin"]
ROLES: tuple[Role, ...] = ("installer", "rep", "admin")


class PortalBase(DeclarativeBase):
    """Declarative base of the portal tables (Flask-Admin maps its views onto these)."""


class PortalUser(PortalBase, UserMixin):
    """A login. ``role`` says which kind of qleads actor ``actor_id`` names."""

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="de")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return bool(self.active)

    @property
    def actor(self) -> Actor:
        """The qleads actor this login acts as; every use case takes it (R12)."""
        from .services import current_services

        actor = actor_for(current_services().directory, self.role, self.actor_id)
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


def load_policy(sessions: sessionmaker[Any]) -> Policy:
    """The stored policy, or the manual's defaults when none is stored."""
    with sessions() as session:
        row = session.get(PortalSetting, _POLICY_KEY)
        if row is None:
            return Policy()
        data = json.loads(row.value)
    return Policy(
        claim_hold_days=int(data.get("claim_hold_days", 2)),
        assignment_reminder_days=int(data.get("assignment_reminder_days", 2)),
        escalation_days=(
            None if data.get("escalation_days") is None else int(data["escalation_days"])
        ),
        contact_before_claim="shown" if data.get("contact_before_claim") == "shown" else "hidden",
    )


def save_policy(sessions: sessionmaker[Any], policy: Policy) -> None:
    value = json.dumps(
        {
            "claim_hold_days": policy.claim_hold_days,
            "assignment_reminder_days": policy.assignment_reminder_days,
            "escalation_days": policy.escalation_days,
            "contact_before_claim": policy.contact_before_claim,
        }
    )
    with sessions() as session, session.begin():
        row = session.get(PortalSetting, _POLICY_KEY)
        if row is None:
            session.add(PortalSetting(key=_POLICY_KEY, value=value))
        else:
            row.value = value
