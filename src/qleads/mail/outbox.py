"""The delivery side of the notification outbox (R10).

``LeadDesk`` writes :class:`~qleads.model.Notification` records in the same unit of work
as the change that causes them; an :class:`Outbox` adapter hands them to a dispatcher
with a *lease*, so that several dispatchers share the work without sending a row twice,
and a row whose dispatcher died is taken over once its lease runs out.

The outbox holds a second kind of row: an :class:`OutboxMessage`, a mail that an
embedding application composed itself (a portal's "Passwort vergessen" link), stored with
:meth:`Outbox.enqueue_message` and delivered like the notifications — the same lease,
retries, ``Message-ID`` from its key, failed list — through the same header checks
(:func:`~qleads.mail.render.compose`).

**A message's subject and body are wiped once it is done** (sent, obsolete or failed
for good): they may hold a secret such as a reset link, and an outbox keeps its rows for
as long as anyone wants the delivery record, in every backup of the database. Only what
says who got what when stays: key, recipient, state, attempts, times, error. A failed
message therefore cannot be retried (:meth:`Outbox.retry` says so); its sender composes
a new one, which for a reset link is what the user would have to ask for anyway.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from typing import Final, Protocol

import attrs

from qleads.errors import InvalidInput
from qleads.instants import require_utc
from qleads.mail.render import RenderedMail
from qleads.model import Notification

__all__ = [
    "DIGESTED",
    "MESSAGE_KIND",
    "DeliveryState",
    "Outbox",
    "OutboxEntry",
    "OutboxMessage",
    "require_content",
    "wiped_message_error",
]

#: The ``message_id`` recorded for a new-lead notice that goes into a daily digest
#: instead of a mail of its own (R10, digest option).
DIGESTED = "digested"

#: How an :class:`OutboxMessage` row names its kind where a notification names its
#: :class:`~qleads.model.NotificationKind` (the SQL column ``kind``, ``qleads mail failed``).
MESSAGE_KIND: Final = "message"

#: A message key: printable ASCII without spaces, starting with a letter. Notification
#: keys start with the lead's id, so the two kinds never claim each other's key.
_MESSAGE_KEY = re.compile(r"[A-Za-z][\x21-\x7e]{0,199}")
_ADDRESS_LIMIT: Final = 320
_NAME_LIMIT: Final = 200
#: Characters of subject, text and HTML together: a mail, not an attachment store.
_CONTENT_LIMIT: Final = 1_000_000


class DeliveryState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _storable(field: str, value: str) -> None:
    """Text every adapter stores alike: PostgreSQL refuses NUL and every database a lone
    surrogate, so the in-memory outbox refuses them too."""
    if "\x00" in value:
        raise InvalidInput(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "must be valid Unicode (no lone surrogates)") from None


@attrs.frozen
class OutboxMessage:
    """A mail an embedding application composed itself, for the outbox to deliver (R10).

    ``key`` is the message's stable identity, chosen by its sender: enqueueing a key
    again stores nothing, and the ``Message-ID`` is derived from it. It is printable
    ASCII without spaces and starts with a letter (notification keys start with a lead
    id), at most 200 characters; it is listed to admins, so it holds no secret.
    ``content`` is the subject and the text (and optionally HTML) body, already in the
    recipient's language; ``None`` once the outbox wiped it. ``expires_at``: from then
    on the message is no longer worth sending (its link stopped working), and the
    dispatcher marks it obsolete instead.

    Raises :class:`~qleads.errors.InvalidInput` naming the field for a malformed key or
    address, a naive datetime, or text no database stores (NUL, lone surrogates). The
    subject and name may hold anything else: :func:`~qleads.mail.render.compose`
    neutralises them before they reach a header.
    """

    key: str
    to_address: str
    content: RenderedMail | None
    created_at: dt.datetime
    to_name: str = ""
    expires_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        if not _MESSAGE_KEY.fullmatch(self.key):
            raise InvalidInput(
                "key",
                "needs 1-200 printable ASCII characters without spaces, starting with a letter",
            )
        address = self.to_address
        local, at, domain = address.rpartition("@")
        if (
            not at
            or not local
            or not domain
            or len(address) > _ADDRESS_LIMIT
            or not address.isprintable()
            or any(ch.isspace() for ch in address)
            or "=?" in address
        ):
            raise InvalidInput("to_address", "needs one e-mail address (name@domain)")
        _storable("to_address", address)
        if len(self.to_name) > _NAME_LIMIT:
            raise InvalidInput("to_name", f"has more than {_NAME_LIMIT} characters")
        _storable("to_name", self.to_name)
        require_utc("created_at", self.created_at)
        if self.expires_at is not None:
            require_utc("expires_at", self.expires_at)
        if self.content is not None:
            _check_content(self.content)


def _check_content(content: RenderedMail) -> None:
    if not content.subject.strip():
        raise InvalidInput("subject", "must not be blank")
    if not content.text.strip():
        raise InvalidInput("text", "must not be blank")
    if content.html is not None and not content.html.strip():
        raise InvalidInput("html", "must not be blank (leave it out for a text-only mail)")
    size = len(content.subject) + len(content.text) + len(content.html or "")
    if size > _CONTENT_LIMIT:
        raise InvalidInput("content", f"has more than {_CONTENT_LIMIT} characters")
    for field, value in (("subject", content.subject), ("text", content.text)):
        _storable(field, value)
    if content.html is not None:
        _storable("html", content.html)


def require_content(message: OutboxMessage) -> RenderedMail:
    """The content of a message about to be enqueued; one without (a wiped row read
    back) raises :class:`~qleads.errors.InvalidInput`. For :class:`Outbox` adapters."""
    if message.content is None:
        raise InvalidInput("content", "a message to enqueue needs its subject and body")
    return message.content


def wiped_message_error(key: str) -> InvalidInput:
    """What :meth:`Outbox.retry` raises for a failed message in every adapter."""
    return InvalidInput(
        "key",
        f"outbox message {key!r} failed and its content was wiped: its sender must "
        "compose and enqueue it again",
    )


@attrs.frozen
class OutboxEntry:
    """An outbox row with its delivery state: a ``notification`` or a ``message``,
    never both.

    ``attempts`` counts leases, including the current one: a dispatcher that dies after
    leasing has used up an attempt, so a row that crashes every dispatcher still ends
    as ``failed`` instead of circling forever.
    """

    notification: Notification | None = None
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
    message: OutboxMessage | None = None

    def __attrs_post_init__(self) -> None:
        if (self.notification is None) == (self.message is None):
            raise InvalidInput("notification", "an outbox entry holds a notification or a message")

    @property
    def key(self) -> str:
        return self._item.key

    @property
    def created_at(self) -> dt.datetime:
        return self._item.created_at

    @property
    def kind(self) -> str:
        """The notification's kind (its enum value), or :data:`MESSAGE_KIND`."""
        return self.notification.kind.value if self.notification is not None else MESSAGE_KIND

    @property
    def recipient(self) -> str:
        """Whom the row is for: the notification's recipient id, the message's address."""
        if self.notification is not None:
            return self.notification.recipient_id
        assert self.message is not None  # __attrs_post_init__
        return self.message.to_address

    @property
    def _item(self) -> Notification | OutboxMessage:
        item = self.notification or self.message
        assert item is not None  # __attrs_post_init__
        return item


class Outbox(Protocol):
    """Delivery state of the outbox rows. Every method is its own transaction."""

    def enqueue_message(self, message: OutboxMessage) -> bool:
        """Store ``message`` as a pending row, due at its ``created_at``; ``False`` when
        a row with its key is already stored (which stays as it is). Raises
        :class:`~qleads.errors.InvalidInput` for a message without content."""
        ...

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

    def release(self, keys: Sequence[str], owner: str) -> int:
        """Give back rows ``owner`` leased but did not try (a worker that is stopping):
        each is due again at once for any dispatcher, its ``attempts`` as before the
        lease. Rows leased by someone else meanwhile, or no longer pending, stay as
        they are. Returns how many were given back."""
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
        Raises :class:`~qleads.errors.InvalidInput` for an unknown key, and for a failed
        message, whose content is gone."""
        ...

    def pending_count(self) -> int:
        """Rows not yet sent nor failed (what a monitor watches)."""
        ...
