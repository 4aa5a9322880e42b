"""How the portal's mails leave (R10).

``QLEADS_MAILER = "smtp"`` delivers through qleads' ``SmtpMailer`` with the ``MAIL_*``
settings. ``"database"`` (the demo's default) keeps every message in the portal's
``portal_mails`` table instead, where the demo mail reader (``mails.py``) shows them: the
mails are real — rendered, addressed and dispatched exactly as for SMTP — only the last
hop differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from qleads.adapters.smtp import SmtpMailer
from qleads.desk import LeadDesk
from qleads.mail import Dispatcher, Mailer, Renderer
from qleads.ports import Clock

from .models import PortalMail
from .storage import Storage

__all__ = ["DatabaseMailer", "build_delivery"]


class DatabaseMailer:
    """A :class:`~qleads.mail.ports.Mailer` that stores each accepted message as a
    :class:`~.models.PortalMail` row (the demo's mailbox)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, sender: str) -> None:
        self.sessions = sessions
        self.clock = clock
        self.sender = sender

    def send(self, message: EmailMessage) -> None:
        if message["From"] is None:
            message["From"] = self.sender
        recipients = ", ".join(addr for _name, addr in getaddresses(message.get_all("To", [])))
        with self.sessions() as session, session.begin():
            session.add(
                PortalMail(
                    message_id=str(message["Message-ID"] or ""),
                    sender=str(message["From"]),
                    recipients=recipients.lower(),
                    subject=str(message["Subject"] or ""),
                    sent_at=self.clock.now().astimezone(dt.UTC),
                    raw=message.as_string(),
                )
            )


def _smtp(config: Mapping[str, Any]) -> SmtpMailer:
    security: Literal["none", "starttls", "ssl"] = "none"
    if config["MAIL_USE_SSL"]:
        security = "ssl"
    elif config["MAIL_USE_TLS"]:
        security = "starttls"
    username = str(config["MAIL_USERNAME"]) or None
    password = str(config["MAIL_PASSWORD"]) or None
    return SmtpMailer(
        str(config["MAIL_SERVER"]),
        int(config["MAIL_PORT"]),
        username=username,
        password=password,
        security=security,
        timeout=float(config["MAIL_TIMEOUT"]),
        sender=parseaddr(str(config["QLEADS_MAIL_FROM"]))[1] or "qleads@localhost",
    )


def build_delivery(
    config: Mapping[str, Any],
    storage: Storage,
    desk: LeadDesk,
    sessions: sessionmaker[Session],
    clock: Clock,
) -> tuple[Mailer, Dispatcher]:
    sender = str(config["QLEADS_MAIL_FROM"])
    mailer: Mailer
    if config["QLEADS_MAILER"] == "smtp":
        mailer = _smtp(config)
    else:
        mailer = DatabaseMailer(sessions, clock, sender)
    renderer = Renderer(
        str(config["QLEADS_BASE_URL"]),
        policy=desk.policy,
        product_name=str(config["QLEADS_PRODUCT_NAME"]),
        footer=str(config["QLEADS_MAIL_FOOTER"]).strip() or None,
    )
    dispatcher = Dispatcher(
        storage.outbox,
        mailer,
        renderer,
        storage.directory,
        clock,
        leads=storage.repository,
        sender=sender,
        message_id_domain="qleads-portal",
    )
    return mailer, dispatcher
