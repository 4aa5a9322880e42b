"""The errors a mailer raises, split by what the dispatcher must do next (R10).

A :class:`TransientMailError` means "try again later" (the server is down, it timed out,
it answered 4xx); a :class:`PermanentMailError` means "this message will never go out"
(5xx such as 550 for an unknown mailbox), so retrying would only delay the other mails.
"""

from __future__ import annotations

from qleads.errors import QleadsError

__all__ = ["MailError", "PermanentMailError", "TransientMailError"]


class MailError(QleadsError):
    """A message could not be handed to the mail server. ``reply_code`` is the SMTP
    reply code when the server gave one."""

    code = "mail_error"

    def __init__(self, message: str, *, reply_code: int | None = None) -> None:
        super().__init__(message)
        self.reply_code = reply_code


class TransientMailError(MailError):
    """Worth retrying later (R10). ``unreachable`` is true when the server could not be
    reached at all: every other message of the batch would fail the same way."""

    code = "mail_transient"

    def __init__(
        self, message: str, *, reply_code: int | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(message, reply_code=reply_code)
        self.unreachable = unreachable


class PermanentMailError(MailError):
    """Never worth retrying: the row is marked failed after this one attempt (R10)."""

    code = "mail_permanent"
