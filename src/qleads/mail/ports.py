"""The ports of mail delivery: how a message leaves (``Mailer``) and how daily digests
are kept to one per installer and local day (``DigestLog``)."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Protocol

__all__ = ["DigestLog", "Mailer"]


class Mailer(Protocol):
    """Hands one finished message to a mail server.

    Raises :class:`~qleads.mail.errors.TransientMailError` when a later attempt may
    succeed and :class:`~qleads.mail.errors.PermanentMailError` when none will (R10).
    A mailer fills in ``From`` when the message has none.
    """

    def send(self, message: EmailMessage) -> None: ...


class DigestLog(Protocol):
    """The record that makes a daily digest go out once per installer and local day.

    :meth:`reserve_digest` is the only gate: of concurrent callers for the same
    ``(installer_id, day)`` at most one gets ``True`` while the reservation's lease runs;
    a reservation whose sender died is taken over after ``lease_until``. Once
    :meth:`digest_sent` is called the day is closed for good.
    """

    def reserve_digest(
        self, installer_id: str, day: dt.date, now: dt.datetime, lease_until: dt.datetime
    ) -> bool: ...

    def digest_sent(
        self,
        installer_id: str,
        day: dt.date,
        *,
        message_id: str | None,
        lead_count: int,
        now: dt.datetime,
    ) -> None:
        """Close the day; ``message_id`` is ``None`` when there was nothing to list."""
        ...

    def digest_retry(self, installer_id: str, day: dt.date, error: str) -> None:
        """Give the reservation back so that the next run tries again."""
        ...

    def last_digest(self, installer_id: str) -> dt.datetime | None:
        """When the installer's latest digest was closed, if ever (the next digest lists
        the leads that became available since)."""
        ...
