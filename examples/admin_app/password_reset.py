""" "Passwort vergessen": a single-use link by mail, valid for a limited time.

How it keeps its promises:

* **Nothing about accounts leaks.** The request is answered at once and the same way,
  whatever was entered; finding the account, making the link and sending the mail happen
  afterwards on the portal's reset-mail thread (:class:`ResetMails`). Neither the answer
  nor its timing tells whether an account exists. Requests are throttled per user name
  and per client address (``throttle.py``) so the form is no mail bomb.
* **A link is a secret worth one use.** Its token has 256 random bits; the database keeps
  only the SHA-256 (:class:`~.models.PasswordReset`). It works once and for
  ``QLEADS_PASSWORD_RESET_MINUTES``; asking again voids the earlier links, and using one
  sets the password, voids the others and ends every session of the account.
* **The mail takes the portal's mail path**: the mailer the outbox dispatcher delivers
  with (``services.mailer``), so the demo's mailbox shows it and ``QLEADS_MAILER=smtp``
  sends it. It is not a lead notification, so it does not enter the library's outbox
  (R10 rows belong to leads); a link is worth nothing after an hour anyway, so a failed
  send is retried a few times within seconds, then logged (user id only), and the user
  asks again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select

from qleads.mail.errors import TransientMailError
from qleads.model import Admin, Installer, SalesRep

from .models import PasswordReset, PortalUser, actor_for
from .services import Services

__all__ = [
    "EXTENSION_KEY",
    "RESET_PATH",
    "ResetMails",
    "current_reset_mails",
    "issue_link",
    "redeem",
    "token_hash",
    "user_for_token",
]

EXTENSION_KEY = "qleads.password_reset"
#: Where a link points (``account.reset_password`` is registered at this path).
RESET_PATH = "/password/reset/"
_ATTEMPTS = 3
_log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


def issue_link(services: Services, user_id: int, valid_for: dt.timedelta) -> str:
    """A new token for ``user_id`` (returned once, stored as its hash). Earlier links of
    the user stop working, and expired links of anyone are cleared out."""
    token = secrets.token_urlsafe(32)
    now = services.clock.now().astimezone(dt.UTC)
    with services.sessions() as db, db.begin():
        db.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
        db.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
        db.add(
            PasswordReset(
                token_hash=token_hash(token),
                user_id=user_id,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
    return token


def user_for_token(services: Services, token: str) -> PortalUser | None:
    """The active user a still valid link belongs to; ``None`` for an unknown, used or
    expired one. Reading does not use the link up (mail scanners open links too)."""
    now = services.clock.now()
    with services.read_sessions() as db:
        reset = db.get(PasswordReset, token_hash(token))
        if reset is None or reset.expires_at_utc() <= now:
            return None
        user = db.get(PortalUser, reset.user_id)
    if user is None or not user.active:
        return None
    return user


def redeem(services: Services, token: str, password: str) -> PortalUser | None:
    """Use the link: set ``password``, void every link of the user and end his sessions,
    in one transaction. ``None`` when the link is unknown, used or expired — of two
    concurrent uses exactly one succeeds (the delete decides)."""
    now = services.clock.now()
    with services.sessions() as db, db.begin():
        reset = db.get(PasswordReset, token_hash(token))
        if reset is None or reset.expires_at_utc() <= now:
            return None
        gone = db.execute(delete(PasswordReset).where(PasswordReset.token_hash == reset.token_hash))
        user = db.get(PortalUser, reset.user_id)
        if getattr(gone, "rowcount", 0) != 1 or user is None or not user.active:
            return None
        db.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
        user.set_password(password)
        user.end_sessions()
        return user


def _compose(
    services: Services, user: PortalUser, address: str, name: str, link: str
) -> EmailMessage:
    minutes = int(current_app.config["QLEADS_PASSWORD_RESET_MINUTES"])
    with force_locale(user.language if user.language in ("de", "en") else "de"):
        subject = _("Lead Management: Passwort zurücksetzen")
        body = "\n\n".join(
            [
                _("Guten Tag %(name)s,", name=name),
                _(
                    "für Ihr Konto „%(username)s“ im Lead Management Tool wurde ein neues "
                    "Passwort angefordert. Über diesen Link vergeben Sie es:",
                    username=user.username,
                ),
                link,
                _(
                    "Der Link gilt %(minutes)d Minuten und nur einmal. Wenn Sie kein neues "
                    "Passwort angefordert haben, ignorieren Sie diese E-Mail; Ihr Passwort "
                    "bleibt dann unverändert.",
                    minutes=minutes,
                ),
            ]
        )
    message = EmailMessage()
    message["To"] = address
    message["Subject"] = subject
    message["Date"] = format_datetime(services.clock.now().astimezone(dt.UTC))
    message["Message-ID"] = make_msgid(domain="qleads-portal")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body + "\n")
    return message


def _send_link(services: Services, username: str) -> None:
    """Find the account, make its link and mail it; nothing at all for an unknown or
    inactive account or one without an e-mail address."""
    with services.read_sessions() as db:
        user = db.scalar(select(PortalUser).where(PortalUser.username == username))
    if user is None or not user.active:
        return
    actor = actor_for(services.directory, user.role, user.actor_id)
    if not isinstance(actor, Installer | SalesRep | Admin) or not actor.email:
        _log.info("password reset for user id %s: no e-mail address, nothing sent", user.id)
        return
    minutes = int(current_app.config["QLEADS_PASSWORD_RESET_MINUTES"])
    token = issue_link(services, user.id, dt.timedelta(minutes=minutes))
    base = str(current_app.config["QLEADS_BASE_URL"]).rstrip("/")
    message = _compose(services, user, actor.email, actor.name, f"{base}{RESET_PATH}{token}")
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            services.mailer.send(message)
        except TransientMailError as exc:
            if attempt == _ATTEMPTS:
                _log.warning("password reset mail for user id %s not sent: %s", user.id, exc.code)
                return
            time.sleep(2**attempt)
        else:
            return


class ResetMails:
    """The portal's reset-mail thread: requests are handed over and answered at once.

    The thread is started on the first request (nothing at import or app creation) and
    handles one request at a time; :meth:`wait` blocks until every handed-over request is
    done, :meth:`close` also stops the thread.
    """

    def __init__(self, app: Flask, services: Services) -> None:
        self.app = app
        self.services = services
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def request(self, username: str) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="qleads-reset-mail"
                )
            future = self._executor.submit(self._run, username)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _run(self, username: str) -> None:
        with self.app.app_context():
            try:
                _send_link(self.services, username)
            except Exception as exc:  # the thread's boundary: log, never lose the thread
                _log.error("password reset request failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Finish what was handed over and stop the thread (a later request starts it
        again)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.result(timeout=max(0.0, deadline - time.monotonic()))


def current_reset_mails() -> ResetMails:
    found = current_app.extensions[EXTENSION_KEY]
    assert isinstance(found, ResetMails)
    return found
