"""The outbox delivery state for :class:`~qleads.adapters.memory.InMemoryLeadRepository`.

The repository keeps the committed notifications (R10); this adapter keeps what happened
to each of them, behind its own lock, with the same lease semantics as the SQL adapter:
concurrent :meth:`InMemoryOutbox.lease` calls get disjoint rows, an expired lease is
taken over. It holds the embedder's :class:`~qleads.mail.outbox.OutboxMessage` rows
itself, and wipes their content when they are done, as the SQL adapter does. It also
keeps the daily digest log (one digest per installer and local day).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

import attrs

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.errors import InvalidInput
from qleads.mail.outbox import (
    DeliveryState,
    OutboxEntry,
    OutboxMessage,
    require_content,
    wiped_message_error,
)
from qleads.personal_data import ERASED_ADDRESS, ERASED_MAIL_ERROR, ErasureRequest

__all__ = ["InMemoryOutbox"]


@attrs.frozen
class _DigestRecord:
    state: str
    lease_until: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = None
    lead_count: int = 0
    last_error: str | None = None


def _wiped(entry: OutboxEntry) -> OutboxEntry:
    """``entry`` without its message's subject and body (a secret, perhaps), once done."""
    if entry.message is None or entry.message.content is None:
        return entry
    return attrs.evolve(entry, message=attrs.evolve(entry.message, content=None))


class InMemoryOutbox:
    """Implements :class:`~qleads.mail.outbox.Outbox` and
    :class:`~qleads.mail.ports.DigestLog` in memory; thread-safe."""

    def __init__(self, repository: InMemoryLeadRepository) -> None:
        self._repository = repository
        self._lock = threading.Lock()
        self._entries: dict[str, OutboxEntry] = {}
        self._digests: dict[tuple[str, dt.date], _DigestRecord] = {}
        repository.personal_data.hooks.append(self._erase)

    def _erase(self, request: ErasureRequest) -> None:
        """R14: cancel the pending mails of erased leads and those naming the person,
        and drop the person's address and name from every message row."""
        values = [value.lower() for value in request.values]
        ids = set(request.lead_ids)

        def names(text: str | None) -> bool:
            lowered = (text or "").lower()
            return any(value in lowered for value in values)

        with self._lock:
            self._sync()
            for key, entry in list(self._entries.items()):
                message = entry.message
                content = None if message is None else message.content
                hit = (entry.notification is not None and entry.notification.lead_id in ids) or (
                    content is not None
                    and (names(content.subject) or names(content.text) or names(content.html))
                )
                if message is not None and (names(message.to_address) or names(message.to_name)):
                    hit = True
                    message = attrs.evolve(message, to_address=ERASED_ADDRESS, to_name="")
                    entry = attrs.evolve(entry, message=message)
                if hit and entry.state is DeliveryState.PENDING:
                    entry = attrs.evolve(
                        _wiped(entry),
                        state=DeliveryState.FAILED,
                        last_error=ERASED_MAIL_ERROR,
                        lease_owner=None,
                        lease_until=None,
                    )
                if names(entry.last_error):
                    entry = attrs.evolve(entry, last_error=ERASED_MAIL_ERROR)
                self._entries[key] = entry

    def _sync(self) -> None:
        """Pick up notifications committed since the last call (lock held)."""
        for notification in self._repository.notifications():
            if notification.key not in self._entries:
                self._entries[notification.key] = OutboxEntry(
                    notification, next_attempt_at=notification.created_at
                )

    def _entry(self, key: str) -> OutboxEntry:
        """The row of ``key`` (lock held). Syncing copies every notification, so only a
        key not seen yet pays for it: a round of marks stays linear."""
        entry = self._entries.get(key)
        if entry is None:
            self._sync()
            entry = self._entries.get(key)
        if entry is None:
            raise InvalidInput("key", f"no outbox row {key!r}")
        return entry

    # --- Outbox -------------------------------------------------------------------------

    def enqueue_message(self, message: OutboxMessage) -> bool:
        require_content(message)
        with self._lock:
            self._sync()
            if message.key in self._entries:
                return False
            self._entries[message.key] = OutboxEntry(
                message=message, next_attempt_at=message.created_at
            )
            return True

    def lease(
        self, now: dt.datetime, limit: int, owner: str, lease_for: dt.timedelta
    ) -> list[OutboxEntry]:
        with self._lock:
            self._sync()
            due = [
                e
                for e in self._entries.values()
                if e.state is DeliveryState.PENDING
                and (e.next_attempt_at is None or e.next_attempt_at <= now)
                and (e.lease_until is None or e.lease_until < now)
            ]
            due.sort(key=lambda e: (e.next_attempt_at or now, e.created_at))
            leased = []
            for entry in due[: max(limit, 0)]:
                taken = attrs.evolve(
                    entry,
                    attempts=entry.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + lease_for,
                    taken_over=entry.lease_owner is not None,
                )
                self._entries[entry.key] = taken
                leased.append(taken)
            return leased

    def mark_sent(self, key: str, message_id: str, now: dt.datetime) -> None:
        with self._lock:
            entry = self._entry(key)
            self._entries[key] = attrs.evolve(
                _wiped(entry),
                state=DeliveryState.SENT,
                sent_at=now,
                message_id=message_id,
                lease_owner=None,
                lease_until=None,
            )

    def release(self, keys: Sequence[str], owner: str) -> int:
        with self._lock:
            given_back = 0
            for key in keys:
                entry = self._entries.get(key)
                if (
                    entry is None
                    or entry.state is not DeliveryState.PENDING
                    or entry.lease_owner != owner
                ):
                    continue
                self._entries[key] = attrs.evolve(
                    entry,
                    attempts=max(entry.attempts - 1, 0),
                    lease_owner=None,
                    lease_until=None,
                )
                given_back += 1
            return given_back

    def mark_retry(self, key: str, error: str, next_attempt_at: dt.datetime) -> None:
        with self._lock:
            entry = self._entry(key)
            if entry.state is not DeliveryState.PENDING:
                return
            self._entries[key] = attrs.evolve(
                entry,
                last_error=error,
                next_attempt_at=next_attempt_at,
                lease_owner=None,
                lease_until=None,
            )

    def mark_failed(self, key: str, error: str) -> None:
        with self._lock:
            entry = self._entry(key)
            if entry.state is DeliveryState.SENT:
                return
            self._entries[key] = attrs.evolve(
                _wiped(entry),
                state=DeliveryState.FAILED,
                last_error=error,
                lease_owner=None,
                lease_until=None,
            )

    def failed(self) -> list[OutboxEntry]:
        with self._lock:
            self._sync()
            rows = [e for e in self._entries.values() if e.state is DeliveryState.FAILED]
        return sorted(rows, key=lambda e: e.created_at)

    def retry(self, key: str) -> None:
        with self._lock:
            entry = self._entry(key)
            if entry.state is not DeliveryState.FAILED:
                return
            if entry.message is not None:
                raise wiped_message_error(key)
            self._entries[key] = attrs.evolve(
                entry,
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=entry.created_at,
                lease_owner=None,
                lease_until=None,
            )

    def pending_count(self) -> int:
        with self._lock:
            self._sync()
            return sum(1 for e in self._entries.values() if e.state is DeliveryState.PENDING)

    def entries(self) -> list[OutboxEntry]:
        """Every row with its state (for tests and an admin view)."""
        with self._lock:
            self._sync()
            return list(self._entries.values())

    # --- DigestLog ----------------------------------------------------------------------

    def reserve_digest(
        self, installer_id: str, day: dt.date, now: dt.datetime, lease_until: dt.datetime
    ) -> bool:
        with self._lock:
            record = self._digests.get((installer_id, day))
            if record is not None and (
                record.state == "sent"
                or (record.lease_until is not None and record.lease_until >= now)
            ):
                return False
            self._digests[(installer_id, day)] = _DigestRecord(
                state="pending", lease_until=lease_until
            )
            return True

    def digest_sent(
        self,
        installer_id: str,
        day: dt.date,
        *,
        message_id: str | None,
        lead_count: int,
        now: dt.datetime,
    ) -> None:
        with self._lock:
            self._digests[(installer_id, day)] = _DigestRecord(
                state="sent", sent_at=now, message_id=message_id, lead_count=lead_count
            )

    def digest_retry(self, installer_id: str, day: dt.date, error: str) -> None:
        with self._lock:
            record = self._digests.get((installer_id, day))
            if record is None or record.state == "sent":
                return
            self._digests[(installer_id, day)] = _DigestRecord(state="pending", last_error=error)

    def last_digest(self, installer_id: str) -> dt.datetime | None:
        with self._lock:
            times = [
                r.sent_at
                for (who, _day), r in self._digests.items()
                if who == installer_id and r.sent_at is not None
            ]
        return max(times, default=None)
