""" "Passwort vergessen": a single-use link by mail, valid for a limited time.

How it keeps its promises:

* **Nothing about accounts leaks.** Every request gets the same answer, whatever was
  entered, and gets it without waiting for the name to be looked at: the work is handed
  to the portal's after-answer thread (:func:`request_after_answer`), so the answer's
  time does not tell a known name from an unknown one either (``bench/login_timing.py``
  times both). Storing a link costs about a millisecond more than finding no account; an
  answer that waited for the work would give that away. The work does not wait for the
  server to close the answer either: a development server closes it only once the
  browser lets go of the connection, which can take minutes. Requests are throttled per user
  name and per client address (``throttle.py``) so the form is no mail bomb.
* **A link is a secret worth one use.** Its token has 256 random bits; the portal's table
  keeps only the SHA-256 (:class:`~..models.PasswordReset`). It works once and for
  ``QLEADS_PASSWORD_RESET_MINUTES``; asking again voids the earlier links, and using one
  sets the password, voids the others and ends every session of the account.
* **The mail goes through qleads' outbox** (R10) as an
  :class:`~qleads.mail.outbox.OutboxMessage`, written in the same transaction as the
  link's row: a link exists exactly when its mail is on its way, and a restart after
  that transaction (a few milliseconds after the answer) loses neither. The portal's
  background worker (or ``qleads mail dispatch`` from cron) delivers it like the lead
  mails — the demo mailbox shows it, ``QLEADS_MAILER=smtp`` sends it, a mail server that
  is down gets it later with the outbox's retries. Until it is sent the outbox row is
  the one place the token is stored as it is; the outbox wipes its subject and body once
  it is sent or failed. It expires with the link: after an outage longer than that,
  nothing is sent rather than a dead link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qleads.mail import OutboxMessage, RenderedMail
from qleads.model import Admin, Installer, SalesRep

from ..models import PasswordReset, PortalUser, actor_for
from ..services import Services, current_services

__all__ = [
    "AFTER_ANSWER_DELAY_S",
    "KEY_PREFIX",
    "RESET_PATH",
    "issue_link",
    "redeem",
    "request_after_answer",
    "request_link",
    "token_hash",
    "user_for_token",
]

#: Where a link points (``account.reset_password`` is registered at this path).
RESET_PATH = "/password/reset/"
#: How the outbox keys of reset mails begin (``qleads mail failed`` lists them).
KEY_PREFIX = "password-reset"
#: How long the after-answer thread lets the answer go out before it starts the work.
AFTER_ANSWER_DELAY_S = 0.05
_log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _store_link(
    db: Session, user_id: int, token: str, now: dt.datetime, valid_for: dt.timedelta
) -> None:
    """The link's row in ``db``'s transaction; earlier links of the user are voided."""
    db.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
    db.add(
        PasswordReset(
            token_hash=token_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    db.flush()


def issue_link(services: Services, user_id: int, valid_for: dt.timedelta) -> str:
    """A new token for ``user_id`` (returned once, stored as its hash), without a mail.
    Earlier links of the user stop working, and expired links of anyone are cleared out."""
    token = secrets.token_urlsafe(32)
    now = services.clock.now().astimezone(dt.UTC)
    with services.sessions() as db, db.begin():
        db.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
        _store_link(db, user_id, token, now, valid_for)
    return token


def _content(user: PortalUser, name: str, link: str, minutes: int, *, product: str) -> RenderedMail:
    with force_locale(user.language if user.language in ("de", "en") else "de"):
        subject = _("Lead Management: Passwort zurücksetzen")
        text = "\n\n".join(
            [
                _("Guten Tag %(name)s,", name=name),
                _(
                    "für Ihr Konto „%(username)s“ im %(product)s wurde ein neues "
                    "Passwort angefordert. Über diesen Link vergeben Sie es:",
                    username=user.username,
                    product=product,
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
    return RenderedMail(subject=subject, text=text + "\n")


def _mail_for(
    services: Services, user: PortalUser, token: str, now: dt.datetime, valid_for: dt.timedelta
) -> OutboxMessage | None:
    """The mail carrying ``token`` to ``user``; ``None`` when his actor has no address."""
    actor = actor_for(services.directory, user.role, user.actor_id)
    if not isinstance(actor, Installer | SalesRep | Admin) or not actor.email:
        _log.info("password reset for user id %s: no e-mail address, nothing sent", user.id)
        return None
    base = str(current_app.config["QLEADS_BASE_URL"]).rstrip("/")
    minutes = int(valid_for.total_seconds() // 60)
    return OutboxMessage(
        # A key of its own, unrelated to the token: it is listed to admins.
        key=f"{KEY_PREFIX}:{user.id}:{secrets.token_hex(8)}",
        to_address=actor.email,
        to_name=actor.name,
        content=_content(
            user,
            actor.name,
            f"{base}{RESET_PATH}{token}",
            minutes,
            product=str(current_app.config["QLEADS_PRODUCT_NAME"]),
        ),
        created_at=now,
        expires_at=now + valid_for,
    )


def request_link(services: Services, username: str) -> None:
    """What a "Passwort vergessen" request does for ``username`` (once answered): for an
    active account with an e-mail address, store a new link (voiding the earlier ones)
    and its mail in the outbox, in one transaction; for any other name, nothing but the
    clearing of expired links that every request does."""
    now = services.clock.now().astimezone(dt.UTC)
    valid_for = dt.timedelta(minutes=int(current_app.config["QLEADS_PASSWORD_RESET_MINUTES"]))
    with services.read_sessions() as db:
        user = db.scalar(select(PortalUser).where(PortalUser.username == username))
    token = secrets.token_urlsafe(32)
    mail = None
    if user is not None and user.active:
        mail = _mail_for(services, user, token, now, valid_for)
    with services.sessions() as db, db.begin():
        db.execute(delete(PasswordReset).where(PasswordReset.expires_at < now))
        if user is not None and mail is not None:
            _store_link(db, user.id, token, now, valid_for)  # the row first, then its mail
            services.outbox.enqueue_message(mail, connection=db.connection())


def request_after_answer(username: str) -> None:
    """Run :func:`request_link` for ``username`` on the after-answer thread, so that the
    answer goes out without waiting for it. A stopping portal finishes what it was handed
    (``Services.close``). It fails quietly (the user was already answered), and its log
    line names the error's type alone, never the name that was entered."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    services = current_services()

    def run() -> None:
        # Let the answer leave first: work running beside it would slow it down for a
        # known name (the link is stored) more than for an unknown one.
        time.sleep(AFTER_ANSWER_DELAY_S)
        with app.app_context():
            try:
                request_link(services, username)
            except Exception as exc:  # the answer is gone: log, never raise into the server
                _log.error("password reset request failed: %s", type(exc).__name__)

    services.after_answer.submit(run)


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
