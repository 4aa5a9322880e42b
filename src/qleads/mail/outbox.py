"""The delivery side of the notification outbox (R10).

``LeadDesk`` writes :class:`~qleads.model.Notification` records in the same unit of work
as the change that causes them; an :class:`Outbox` adapter hands them to a dispatcher
with a *lease*, so that several dispatchers share the work without sending a row twice,
and a row whose dispatcher died is taken over once its lease runs out.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Protocol

import attrs

from qleads.model import Notification

__all__ = ["DIGESTED", "DeliveryState", "Outbox", "OutboxEntry"]

#: The ``message_id`` recorded for a new-lead notice that goes into a daily digest
#: instead of a mail of its own (R10, digest option).
DIGESTED = "digested"


class DeliveryState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@attrs.frozen
class OutboxEntry:
    """A notification with its delivery state.

    ``attempts`` counts leases, including the current one: a dispatcher that dies after
    leasing has used up an attempt, so a row that crashes every dispatcher still ends
    as ``failed`` instead of circling forever.
    """

    notification: Notification
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    lease_owner: str | None = None
    lease_until: dt.datetime | None = None
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = None
    #: This lease took the row over from a dispatcher whose lease ran out (it died or
    #: hung between leasing and marking): worth watching in production.
    taken_over: bool = False

    @property
    def key(self) -> str:
        return self.notification.key


class Outbox(Protocol):
    """Delivery state of the outbox rows. Every method is its own transaction."""

    def lease(
        self, now: dt.datetime, limit: int, owner: str, lease_for: dt.timedelta
    ) -> list[OutboxEntry]:
        """Up to ``limit`` pending rows that are due (``next_attempt_at <= now``) and not
        leased by anyone else (or whose lease expired before ``now``), oldest first.
        Each is leased to ``owner`` until ``now + lease_for`` and its ``attempts`` grows
        by one. Concurrent callers get disjoint rows."""
        ...

    def mark_sent(self, key: str, message_id: str, now: dt.datetime) -> None:
        """The server accepted the message (or it went into a digest)."""
        ...

    def mark_retry(self, key: str, error: str, next_attempt_at: dt.datetime) -> None:
        """A transient failure: pending again from ``next_attempt_at``, lease dropped.
        A row that is no longer pending (sent by a dispatcher that took it over) stays
        as it is."""
        ...

    def mark_failed(self, key: str, error: str) -> None:
        """A permanent failure, or the last attempt: listed by :meth:`failed`."""
        ...

    def failed(self) -> list[OutboxEntry]:
        """The rows an admin must look at, oldest first."""
        ...

    def retry(self, key: str) -> None:
        """Admin action: a failed row becomes pending and due now, attempts reset.
        Raises :class:`~qleads.errors.InvalidInput` for an unknown key."""
        ...

    def pending_count(self) -> int:
        """Rows not yet sent nor failed (what a monitor watches)."""
        ...
