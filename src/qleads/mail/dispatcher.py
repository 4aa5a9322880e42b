"""Delivery of the outbox (R10): lease due rows, render, send, mark.

The dispatcher is what turns "stored in the same transaction as the change" into "mailed
exactly once". Each row is leased before it is sent, so parallel dispatchers never send
the same row; a dispatcher that dies leaves a lease that runs out and is taken over.
Every mail carries a ``Message-ID`` derived from the notification key alone, so a
re-send after a crash between the server's 250 and the "sent" mark is the same message.

Transient failures (server unreachable, timeouts, 4xx) back off exponentially, up to
``max_attempts``; permanent ones (5xx) fail the row after one attempt and block nothing
else. New-lead notices for installers who chose the daily digest are not mailed one by
one: they are marked sent as :data:`~qleads.mail.outbox.DIGESTED` and the digest lists
the leads (:mod:`qleads.mail.digest`).

An embedder's :class:`~qleads.mail.outbox.OutboxMessage` goes the same way, composed
from its stored content instead of rendered from a lead; one whose ``expires_at`` has
come is marked :data:`OBSOLETE` instead of sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable

import attrs

from qleads.errors import LeadNotFound
from qleads.lifecycle import Status
from qleads.mail.errors import MailError, PermanentMailError, TransientMailError
from qleads.mail.outbox import DIGESTED, Outbox, OutboxEntry, OutboxMessage
from qleads.mail.ports import Mailer
from qleads.mail.render import Recipient, RenderedMail, Renderer, compose, message_id_for
from qleads.model import Installer, Lead, Notification, NotificationKind
from qleads.ports import Clock, Directory, LeadRepository

__all__ = ["OBSOLETE", "DispatchReport", "Dispatcher", "find_recipient", "is_obsolete"]

#: One line per batch, one per failed delivery: row keys and reply codes, never an
#: address, a name or a server's reply text (which may quote an address).
log = logging.getLogger(__name__)

#: The ``message_id`` recorded for a notice that the lead outran before it could go out
#: (:func:`is_obsolete`), or a message past its ``expires_at``: it is marked sent with
#: this instead of being mailed.
OBSOLETE = "obsolete"


def is_obsolete(notification: Notification, lead: Lead) -> bool:
    """Whether mailing ``notification`` now would tell its recipient something the lead
    has since made wrong (R2, R10, R16). Decided when the row is dispatched, on the lead
    as it is then:

    * *new lead available*: the lead is no longer ``new`` — claimed or assigned, nobody
      else can take it any more;
    * *assigned*: the recipient no longer holds the lead, or it is closed — reassigned,
      released or finished before the mail went out. The mail names the customer, and
      R16 lets only the holder learn who that is;
    * *assignment reminder*: the recipient no longer holds it, or it is no longer
      ``assigned`` — a work status was recorded, so "no status recorded yet" is wrong;
    * *follow-up due*: the recipient no longer holds it, or it is no longer in
      ``follow_up`` with the due date the reminder was for.

    A *claim expired* notice to the former holder and an *escalation* to the rep stay
    true whatever happens next (his claim did run out; the assignment was left untouched
    past the reminder), and the rep may read every lead of his territory: both go out.
    """
    kind = notification.kind
    if kind is NotificationKind.NEW_LEAD:
        return lead.status is not Status.NEW
    holds = lead.holder_id == notification.recipient_id
    if kind is NotificationKind.ASSIGNED:
        return not holds or lead.status.is_terminal
    if kind is NotificationKind.ASSIGNMENT_REMINDER:
        return not holds or lead.status is not Status.ASSIGNED
    if kind is NotificationKind.FOLLOW_UP_DUE:
        due = notification.deadline_at
        return (
            not holds
            or lead.status is not Status.FOLLOW_UP
            or (due is not None and lead.due_at != due)
        )
    return False


@attrs.frozen
class DispatchReport:
    """What one dispatch round did. ``digested`` and ``skipped`` rows are done without
    a mail of their own."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    digested: int = 0
    skipped: int = 0
    #: Rows leased from a dispatcher whose lease had run out.
    taken_over: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.digested + self.skipped

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            sent=self.sent + other.sent,
            retried=self.retried + other.retried,
            failed=self.failed + other.failed,
            digested=self.digested + other.digested,
            skipped=self.skipped + other.skipped,
            taken_over=self.taken_over + other.taken_over,
        )


def find_recipient(directory: Directory, person_id: str) -> Recipient | None:
    """Whoever a notification is addressed to: installer, rep or admin."""
    return directory.installer(person_id) or directory.rep(person_id) or directory.admin(person_id)


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Sends what the outbox holds. Safe to run in several threads or processes at once
    over the same outbox; each instance has its own lease ``owner`` name.

    ``leads`` is where the lead of a notification is read from (for its key data).
    """

    def __init__(
        self,
        outbox: Outbox,
        mailer: Mailer,
        renderer: Renderer,
        directory: Directory,
        clock: Clock,
        *,
        leads: LeadRepository,
        max_attempts: int = 8,
        base_backoff: dt.timedelta = dt.timedelta(minutes=1),
        max_backoff: dt.timedelta = dt.timedelta(hours=6),
        lease_for: dt.timedelta = dt.timedelta(minutes=5),
        message_id_domain: str = "qleads",
        sender: str | None = None,
        owner: str | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.outbox = outbox
        self.mailer = mailer
        self.renderer = renderer
        self.directory = directory
        self.clock = clock
        self.leads = leads
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.lease_for = lease_for
        self.message_id_domain = message_id_domain
        self.sender = sender
        self.owner = owner if owner is not None else _default_owner()

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base … capped."""
        wait = self.base_backoff * (1 << min(max(attempts - 1, 0), 30))
        return min(wait, self.max_backoff)

    def dispatch_once(
        self, limit: int = 100, stop: Callable[[], bool] | None = None
    ) -> DispatchReport:
        """Lease up to ``limit`` due rows and deliver them. A server that cannot be
        reached fails the whole batch for a later retry at once, instead of waiting for
        a timeout per row.

        ``stop`` is asked before each row: once it answers true (a worker shutting
        down), the row in hand is finished and the rows not yet tried are given back
        (:meth:`~qleads.mail.outbox.Outbox.release`), due at once for another dispatcher.
        """
        now = self.clock.now()
        entries = self.outbox.lease(now, limit, self.owner, self.lease_for)
        report = DispatchReport(taken_over=sum(1 for e in entries if e.taken_over))
        reads = _RoundReads(self.directory, self.leads)
        for index, entry in enumerate(entries):
            if stop is not None and stop():
                given_back = self.outbox.release([e.key for e in entries[index:]], self.owner)
                log.info("mail batch stopped: %d leased rows given back", given_back)
                break
            try:
                report += self._deliver(entry, now, reads)
            except TransientMailError as exc:
                if not exc.unreachable:
                    report += self._transient(entry, exc, now)
                    continue
                log.warning(
                    "mail server unreachable: %d rows of the batch wait for a retry",
                    len(entries) - index,
                )
                for rest in entries[index:]:
                    report += self._transient(rest, exc, now)
                break
        if entries:
            log.info(
                "mail batch: %d leased, %d sent, %d retried, %d failed, %d digested, "
                "%d skipped, %d taken over",
                len(entries),
                report.sent,
                report.retried,
                report.failed,
                report.digested,
                report.skipped,
                report.taken_over,
            )
        return report

    def dispatch_all(
        self,
        limit: int = 100,
        progress: Callable[[DispatchReport], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DispatchReport:
        """Rounds of :meth:`dispatch_once` until nothing due is left (rows that were
        retried wait for their next attempt and end the run), or ``stop`` answers
        true."""
        total = DispatchReport()
        while True:
            report = self.dispatch_once(limit, stop)
            total += report
            if progress is not None and report.handled:
                progress(total)
            if report.handled < limit or report.retried or (stop is not None and stop()):
                return total

    # --- one row ----------------------------------------------------------------------

    def _deliver(self, entry: OutboxEntry, now: dt.datetime, reads: _RoundReads) -> DispatchReport:
        if entry.attempts > self.max_attempts:
            # Leased again after dispatchers died on it: give up instead of circling.
            log.warning("delivery of %s failed for good: leased too often", entry.key)
            self.outbox.mark_failed(entry.key, f"gave up after {entry.attempts - 1} attempts")
            return DispatchReport(failed=1)
        if entry.message is not None:
            return self._deliver_message(entry.message, now)
        notification = entry.notification
        assert notification is not None  # an entry holds one or the other
        recipient = reads.recipient(notification.recipient_id)
        if recipient is None or not recipient.email:
            log.warning("delivery of %s failed for good: no recipient address", entry.key)
            self.outbox.mark_failed(
                entry.key, f"no recipient address for {notification.recipient_id!r}"
            )
            return DispatchReport(failed=1)
        if (
            notification.kind is NotificationKind.NEW_LEAD
            and isinstance(recipient, Installer)
            and recipient.digest_hour is not None
        ):
            self.outbox.mark_sent(entry.key, DIGESTED, now)
            return DispatchReport(digested=1)
        lead = reads.lead(notification.lead_id)
        if lead is None:
            log.warning("delivery of %s failed for good: lead not found", entry.key)
            self.outbox.mark_failed(entry.key, f"lead {notification.lead_id} not found")
            return DispatchReport(failed=1)
        if is_obsolete(notification, lead):
            self.outbox.mark_sent(entry.key, OBSOLETE, now)
            return DispatchReport(skipped=1)
        mail = self.renderer.render(notification, lead, recipient)
        return self._send(notification.key, mail, recipient.name, recipient.email, now)

    def _deliver_message(self, message: OutboxMessage, now: dt.datetime) -> DispatchReport:
        content = message.content
        if content is None:  # a database edited by hand: pending rows keep their content
            log.warning("delivery of %s failed for good: no content", message.key)
            self.outbox.mark_failed(message.key, "the message has no content")
            return DispatchReport(failed=1)
        if message.expires_at is not None and message.expires_at <= now:
            self.outbox.mark_sent(message.key, OBSOLETE, now)
            return DispatchReport(skipped=1)
        return self._send(message.key, content, message.to_name, message.to_address, now)

    def _send(
        self,
        key: str,
        mail: RenderedMail,
        to_name: str,
        to_address: str,
        now: dt.datetime,
    ) -> DispatchReport:
        """Compose, send and mark one row; a permanent failure fails it, a transient one
        is raised to :meth:`dispatch_once`."""
        message_id = message_id_for(key, self.message_id_domain)
        try:
            message = compose(
                mail,
                to_name=to_name,
                to_address=to_address,
                message_id=message_id,
                date=now,
                sender=self.sender,
            )
            self.mailer.send(message)
        except PermanentMailError as exc:
            log.warning("delivery of %s failed for good (reply %s)", key, exc.reply_code)
            self.outbox.mark_failed(key, _describe(exc))
            return DispatchReport(failed=1)
        self.outbox.mark_sent(key, message_id, now)
        return DispatchReport(sent=1)

    def _transient(
        self, entry: OutboxEntry, exc: TransientMailError, now: dt.datetime
    ) -> DispatchReport:
        error = _describe(exc)
        if entry.attempts >= self.max_attempts:
            log.warning(
                "delivery of %s failed for good after %d attempts (reply %s)",
                entry.key,
                entry.attempts,
                exc.reply_code,
            )
            self.outbox.mark_failed(entry.key, f"{error} (after {entry.attempts} attempts)")
            return DispatchReport(failed=1)
        log.info(
            "delivery of %s failed (attempt %d, reply %s); retried later",
            entry.key,
            entry.attempts,
            exc.reply_code,
        )
        self.outbox.mark_retry(entry.key, error, now + self.backoff(entry.attempts))
        return DispatchReport(retried=1)


class _RoundReads:
    """The leads and recipients one dispatch round has read, each read once however many
    rows name it: a new-lead notice to 25 installers is 25 rows about one lead. Nothing
    is kept past the round, so a lead taken meanwhile is seen by the next one."""

    def __init__(self, directory: Directory, leads: LeadRepository) -> None:
        self._directory = directory
        self._repository = leads
        self._recipients: dict[str, Recipient | None] = {}
        self._leads: dict[int, Lead | None] = {}

    def recipient(self, person_id: str) -> Recipient | None:
        if person_id not in self._recipients:
            self._recipients[person_id] = find_recipient(self._directory, person_id)
        return self._recipients[person_id]

    def lead(self, lead_id: int) -> Lead | None:
        if lead_id not in self._leads:
            self._leads[lead_id] = self._read_lead(lead_id)
        return self._leads[lead_id]

    def _read_lead(self, lead_id: int) -> Lead | None:
        try:
            with self._repository.unit_of_work() as uow:
                return uow.get(lead_id)
        except LeadNotFound:
            return None


def _describe(exc: MailError) -> str:
    code = f"{exc.reply_code} " if exc.reply_code is not None else ""
    return f"{code}{exc.message}"[:1000]
