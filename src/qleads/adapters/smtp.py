"""The :class:`~qleads.mail.ports.Mailer` on the standard library's ``smtplib``.

What matters for R10 is the split of failures: anything that a later attempt may cure
(the server unreachable, a timeout, a TLS handshake that failed, a 4xx reply, a refused
login, which is a configuration error an operator will fix) is a
:class:`~qleads.mail.errors.TransientMailError`; a 5xx reply to the message itself
(550 no such mailbox, 554 rejected) is a :class:`~qleads.mail.errors.PermanentMailError`.

One connection is kept open between messages (a dispatch round sends many); an instance
is safe to share between threads, which then take turns on that connection.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import parseaddr
from types import TracebackType
from typing import Literal, Self

from qleads.errors import ConfigurationError
from qleads.mail.errors import MailError, PermanentMailError, TransientMailError
from qleads.mail.render import header_text

__all__ = ["Security", "SmtpMailer", "classify_reply"]

Security = Literal["none", "starttls", "ssl"]


def classify_reply(code: int, text: str) -> MailError:
    """The error for an SMTP reply: 5xx permanent, everything else transient."""
    if 500 <= code <= 599:
        return PermanentMailError(text, reply_code=code)
    return TransientMailError(text, reply_code=code)


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return reply


def _plausible_sender(sender: str) -> bool:
    address = parseaddr(sender)[1]
    local, at, domain = address.rpartition("@")
    return (
        bool(local and at and domain)
        and not any(ch.isspace() or ord(ch) < 32 for ch in address)
        and header_text(sender, 1000) == sender
    )


class SmtpMailer:
    """Sends over SMTP. ``security`` is ``"none"`` (a local relay), ``"starttls"``
    (usually port 587) or ``"ssl"`` (implicit TLS, usually 465); ``username`` and
    ``password`` log in after TLS. ``sender`` is the envelope sender and the ``From``
    of messages that have none. Raises :class:`~qleads.errors.ConfigurationError` for
    settings that cannot work (a password without user, an unknown ``security``)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        security: Security = "none",
        timeout: float = 10.0,
        sender: str = "qleads@localhost",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ConfigurationError(f"unknown SMTP security {security!r}")
        if (username is None) != (password is None):
            raise ConfigurationError("SMTP username and password go together")
        if not host or not 0 < port < 65536:
            raise ConfigurationError(f"bad SMTP address {host!r}:{port}")
        if not _plausible_sender(sender):
            raise ConfigurationError(f"bad sender address {sender!r}")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.timeout = timeout
        self.sender = sender
        self._context = ssl_context
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT to the server, if connected."""
        with self._lock:
            self._drop(quit=True)

    def send(self, message: EmailMessage) -> None:
        if message["From"] is None:
            message["From"] = self.sender
        envelope = parseaddr(self.sender)[1]
        with self._lock:
            # A kept connection may have been closed by the server meanwhile: then one
            # fresh attempt. A fresh connection that drops too means the server is not
            # there for us now (R10: the whole batch waits for a retry).
            for retry in (self._smtp is not None, False):
                try:
                    self._send(message, envelope)
                    return
                except smtplib.SMTPServerDisconnected as exc:
                    self._drop()
                    if not retry:
                        raise TransientMailError(
                            f"server disconnected: {exc}", unreachable=True
                        ) from exc

    # --- internals (lock held) ----------------------------------------------------------

    def _send(self, message: EmailMessage, envelope: str) -> None:
        try:
            smtp = self._connection()
            refused = smtp.send_message(message, from_addr=envelope)
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code, reply = max(exc.recipients.values(), key=lambda r: r[0])
            raise classify_reply(code, f"recipient refused: {_text(reply)}") from exc
        except smtplib.SMTPSenderRefused as exc:
            # Our own envelope sender refused: a configuration error, not this message's.
            self._reset()
            raise TransientMailError(
                f"sender refused: {_text(exc.smtp_error)}",
                reply_code=exc.smtp_code,
                unreachable=True,
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise TransientMailError(
                f"login refused: {_text(exc.smtp_error)}",
                reply_code=exc.smtp_code,
                unreachable=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPConnectError):
                # The server is closing the connection: no RSET into it, just drop it.
                self._drop()
                raise TransientMailError(
                    _text(exc.smtp_error), reply_code=exc.smtp_code, unreachable=True
                ) from exc
            self._reset()
            raise classify_reply(exc.smtp_code, _text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, DNS, timeouts, TLS failures, STARTTLS not offered.
            self._drop()
            raise TransientMailError(f"{type(exc).__name__}: {exc}", unreachable=True) from exc
        if refused:
            code, reply = max(refused.values(), key=lambda r: r[0])
            raise classify_reply(code, f"recipient refused: {_text(reply)}")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        context = self._context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username is not None and self.password is not None:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _reset(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self, *, quit: bool = False) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            # A polite QUIT is best effort: the connection is dropped either way.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                if quit:
                    smtp.quit()
        finally:
            smtp.close()
