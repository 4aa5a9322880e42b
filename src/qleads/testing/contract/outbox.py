"""The outbox contract: what every :class:`~qleads.mail.Outbox` (and the
:class:`~qleads.mail.DigestLog` beside it) must do, on the rows of both kinds.

The desk writes lead notifications in its units of work; an embedder enqueues its own
:class:`~qleads.mail.OutboxMessage` rows (a reset link). The outbox hands both to
dispatchers with a lease, so that several share the work without sending a row twice,
and one whose dispatcher died is taken over; it keeps retries, failures and the failed
list for the admin (R10). A message's subject and body are wiped once it is done, and
one past its ``expires_at`` is not sent. The suite drives the port directly and through
the :class:`~qleads.mail.Dispatcher`, threads included.

Subclass :class:`OutboxContract` and provide a ``repository`` fixture (a fresh, empty
repository whose units of work write the notifications) and an ``outbox`` fixture (the
outbox made from it)::

    class TestMyOutbox(OutboxContract):
        @pytest.fixture
        def repository(self) -> LeadRepository:
            return MyRepository(...)

        @pytest.fixture
        def outbox(self, repository: MyRepository) -> MyOutbox:
            return MyOutbox(repository)

The suite reads every row with its state through the outbox's ``entries()`` and the
committed notifications through the repository's ``notifications()``, as the shipped
adapters have them; override the ``entries`` or ``notifications`` fixture if yours
name them differently. Needs the ``mail`` extra, like the port.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
import pytest

from qleads.adapters.clock import FrozenClock
from qleads.errors import InvalidInput
from qleads.mail import (
    MESSAGE_KIND,
    OBSOLETE,
    DeliveryState,
    DigestLog,
    Dispatcher,
    Outbox,
    OutboxEntry,
    OutboxMessage,
    PermanentMailError,
    RecordingMailer,
    RenderedMail,
    Renderer,
    TransientMailError,
    message_id_for,
)
from qleads.model import Notification, NotificationKind
from qleads.ports import LeadRepository
from qleads.testing.world import T0, World

__all__ = ["LINK", "OutboxContract", "OutboxUnderTest", "message"]

LINK = "https://portal.example.com/password/reset/geheimer-token-0123456789"


class OutboxUnderTest(Outbox, DigestLog, Protocol):
    """An outbox adapter: the port, and the digest log the shipped adapters keep beside
    it."""


@attrs.define
class Store:
    """The adapter under test: the repository whose units of work write notifications,
    the outbox that delivers them and holds the messages, how to read its rows, and a
    :class:`~qleads.testing.world.World` on the repository whose desk writes
    notifications and whose clock the dispatchers run on."""

    repository: LeadRepository
    outbox: OutboxUnderTest
    entries: Callable[[], Sequence[OutboxEntry]]
    notifications: Callable[[], Sequence[Notification]]
    world: World

    @property
    def clock(self) -> FrozenClock:
        return self.world.clock

    def dispatcher(self, mailer: RecordingMailer, **options: object) -> Dispatcher:
        return Dispatcher(
            self.outbox,
            mailer,
            Renderer("https://portal.example.com"),
            self.world.directory,
            self.clock,
            leads=self.repository,
            sender="leads@example.com",
            **options,  # type: ignore[arg-type]
        )

    def notify(self, key: str, at: dt.datetime) -> None:
        """A lead notification row, as the desk's unit of work writes it."""
        with self.repository.unit_of_work(writing=True) as uow:
            uow.enqueue([Notification(key, NotificationKind.NEW_LEAD, 1, "anna", at)])
            uow.commit()

    def row(self, key: str) -> OutboxEntry:
        [entry] = [e for e in self.entries() if e.key == key]
        return entry

    def content(self, key: str) -> RenderedMail | None:
        """The subject and body the message row ``key`` still holds."""
        stored = self.row(key).message
        assert stored is not None, f"{key} is not a message row"
        return stored.content


def message(key: str = "password-reset:7:a1b2", **changes: object) -> OutboxMessage:
    """A password-reset mail for Anna Solar, created at :data:`~qleads.testing.world.T0`,
    with ``changes``."""
    values: dict[str, object] = {
        "key": key,
        "to_address": "anna@example.org",
        "to_name": "Anna Solar",
        "content": RenderedMail(
            subject="Lead Management: Passwort zurücksetzen",
            text=f"Guten Tag Anna Solar,\n\n{LINK}\n",
        ),
        "created_at": T0,
    }
    values.update(changes)
    return OutboxMessage(**values)  # type: ignore[arg-type]


class _HasEntries(Protocol):
    def entries(self) -> Sequence[OutboxEntry]: ...


class _HasNotifications(Protocol):
    def notifications(self) -> Sequence[Notification]: ...


class OutboxContract:
    """Abstract: subclass it and override the ``repository`` and ``outbox`` fixtures
    (and ``entries`` or ``notifications`` if your adapters name them differently)."""

    @pytest.fixture
    def repository(self) -> LeadRepository:
        pytest.fail(
            "subclass OutboxContract and provide a 'repository' fixture returning a "
            "fresh, empty LeadRepository"
        )

    @pytest.fixture
    def outbox(self, repository: LeadRepository) -> OutboxUnderTest:
        pytest.fail(
            "subclass OutboxContract and provide an 'outbox' fixture returning the "
            "outbox of the 'repository' fixture"
        )

    @pytest.fixture
    def entries(self, outbox: OutboxUnderTest) -> Callable[[], Sequence[OutboxEntry]]:
        if getattr(outbox, "entries", None) is None:
            pytest.fail(
                f"{type(outbox).__name__} has no entries(): override the 'entries' "
                "fixture to read every outbox row with its state"
            )
        has: _HasEntries = outbox  # type: ignore[assignment]
        return has.entries

    @pytest.fixture
    def notifications(self, repository: LeadRepository) -> Callable[[], Sequence[Notification]]:
        if getattr(repository, "notifications", None) is None:
            pytest.fail(
                f"{type(repository).__name__} has no notifications(): override the "
                "'notifications' fixture to read its committed notifications"
            )
        has: _HasNotifications = repository  # type: ignore[assignment]
        return has.notifications

    @pytest.fixture
    def store(
        self,
        repository: LeadRepository,
        outbox: OutboxUnderTest,
        entries: Callable[[], Sequence[OutboxEntry]],
        notifications: Callable[[], Sequence[Notification]],
    ) -> Store:
        return Store(repository, outbox, entries, notifications, World(repository))

    class TestEnqueue:
        def test_a_message_is_stored_once_per_key(self, store: Store) -> None:
            """R10: a stable key per message; the second enqueue stores nothing and keeps
            the first content."""
            assert store.outbox.enqueue_message(message()) is True
            other = RenderedMail(subject="Anders", text="Anderer Text")
            assert store.outbox.enqueue_message(message(content=other)) is False
            [entry] = store.entries()
            assert entry.message == message()
            assert entry.notification is None
            assert (entry.state, entry.attempts, entry.next_attempt_at) == (
                DeliveryState.PENDING,
                0,
                T0,
            )
            assert (entry.kind, entry.recipient) == (MESSAGE_KIND, "anna@example.org")
            assert store.outbox.pending_count() == 1

        def test_every_field_comes_back_as_it_was_stored(self, store: Store) -> None:
            stored = message(
                to_name="Jörg Ölmann 😀",
                content=RenderedMail(
                    subject="Grüße — ½ 😀",
                    text="Zeile 1\r\nZeile 2\n\n" + "ü" * 5000,
                    html="<p>Grüße</p>",
                ),
                expires_at=T0 + dt.timedelta(minutes=60),
            )
            store.outbox.enqueue_message(stored)
            [leased] = store.outbox.lease(T0, 10, "d1", dt.timedelta(minutes=5))
            assert leased.message == stored

        def test_a_message_without_content_is_refused_and_nothing_stored(
            self, store: Store
        ) -> None:
            with pytest.raises(InvalidInput) as refused:
                store.outbox.enqueue_message(message(content=None))
            assert refused.value.field == "content"
            assert store.entries() == []

        def test_the_lead_notifications_do_not_see_the_messages(self, store: Store) -> None:
            store.notify("1:1:new_lead:anna", T0)
            store.outbox.enqueue_message(message())
            notifications = store.notifications()
            assert [n.key for n in notifications] == ["1:1:new_lead:anna"]

    class TestLease:
        def test_messages_and_notifications_are_leased_together_in_due_order(
            self, store: Store
        ) -> None:
            store.notify("1:1:new_lead:anna", T0 + dt.timedelta(seconds=2))
            store.outbox.enqueue_message(message("first", created_at=T0 + dt.timedelta(seconds=1)))
            store.outbox.enqueue_message(message("last", created_at=T0 + dt.timedelta(seconds=3)))
            store.outbox.enqueue_message(message("later", created_at=T0 + dt.timedelta(hours=1)))
            leased = store.outbox.lease(
                T0 + dt.timedelta(minutes=1), 10, "d1", dt.timedelta(minutes=5)
            )
            assert [e.key for e in leased] == ["first", "1:1:new_lead:anna", "last"]
            assert [e.kind for e in leased] == [MESSAGE_KIND, "new_lead", MESSAGE_KIND]
            again = store.outbox.lease(
                T0 + dt.timedelta(minutes=2), 10, "d2", dt.timedelta(minutes=5)
            )
            assert again == []  # leased to d1 until its lease runs out
            taken = store.outbox.lease(
                T0 + dt.timedelta(minutes=7), 10, "d2", dt.timedelta(minutes=5)
            )
            assert [(e.key, e.attempts, e.taken_over) for e in taken] == [
                ("first", 2, True),
                ("1:1:new_lead:anna", 2, True),
                ("last", 2, True),
            ]

    class TestWiping:
        """The content of a message may be a secret (a reset link): once the row is done,
        only who got what when is kept."""

        def test_sending_wipes_the_content_and_keeps_the_record(self, store: Store) -> None:
            store.outbox.enqueue_message(message())
            store.outbox.lease(T0, 10, "d1", dt.timedelta(minutes=5))
            store.outbox.mark_sent("password-reset:7:a1b2", "<id@qleads>", T0)
            entry = store.row("password-reset:7:a1b2")
            assert entry.message == attrs.evolve(message(), content=None)
            assert (entry.state, entry.message_id, entry.sent_at) == (
                DeliveryState.SENT,
                "<id@qleads>",
                T0,
            )
            assert LINK not in repr(store.entries())

        def test_a_retry_keeps_the_content_a_final_failure_wipes_it(self, store: Store) -> None:
            store.outbox.enqueue_message(message())
            store.outbox.lease(T0, 10, "d1", dt.timedelta(minutes=5))
            store.outbox.mark_retry(
                "password-reset:7:a1b2", "421 busy", T0 + dt.timedelta(minutes=1)
            )
            pending = store.row("password-reset:7:a1b2")
            assert pending.message == message()
            store.outbox.mark_failed("password-reset:7:a1b2", "550 no such user")
            [failed] = store.outbox.failed()
            assert failed.key == "password-reset:7:a1b2"
            assert failed.message is not None
            assert failed.message.content is None
            assert failed.recipient == "anna@example.org"
            assert failed.last_error == "550 no such user"

        def test_a_failed_message_cannot_be_retried_its_content_is_gone(self, store: Store) -> None:
            """R10's admin retry works for notifications, which are rendered afresh; a
            failed message has nothing left to send, and the admin is told so."""
            store.outbox.enqueue_message(message())
            store.outbox.mark_failed("password-reset:7:a1b2", "550 no such user")
            with pytest.raises(InvalidInput) as refused:
                store.outbox.retry("password-reset:7:a1b2")
            assert refused.value.field == "key"
            assert "compose" in str(refused.value)
            assert [e.state for e in store.outbox.failed()] == [DeliveryState.FAILED]
            with pytest.raises(InvalidInput):
                store.outbox.retry("no-such-key")

    class TestDispatch:
        def test_a_message_is_mailed_once_with_its_message_id_from_the_key(
            self, store: Store
        ) -> None:
            store.outbox.enqueue_message(message())
            mailer = RecordingMailer()
            report = store.dispatcher(mailer).dispatch_all()
            assert (report.sent, report.handled) == (1, 1)
            assert store.dispatcher(mailer).dispatch_all().handled == 0
            [sent] = mailer.sent
            assert sent["Message-ID"] == message_id_for("password-reset:7:a1b2", "qleads")
            assert sent["To"] == "Anna Solar <anna@example.org>"
            assert sent["From"] == "leads@example.com"
            assert sent["Subject"] == "Lead Management: Passwort zurücksetzen"
            assert sent.get_content_type() == "text/plain"
            assert LINK in sent.get_content()
            assert store.content("password-reset:7:a1b2") is None

        def test_an_html_body_goes_out_as_the_alternative_part(self, store: Store) -> None:
            content = RenderedMail(subject="Hallo", text="Text", html="<p>HTML</p>")
            store.outbox.enqueue_message(message(content=content))
            mailer = RecordingMailer()
            store.dispatcher(mailer).dispatch_all()
            [sent] = mailer.sent
            assert [p.get_content_type() for p in sent.walk()] == [
                "multipart/alternative",
                "text/plain",
                "text/html",
            ]

        def test_the_callers_subject_and_name_cannot_add_a_header(self, store: Store) -> None:
            """The same neutralising as lead data (R10): line breaks and RFC 2047 encoded
            words in the caller's subject or name stay text."""
            store.outbox.enqueue_message(
                message(
                    to_name="Anna\r\nBcc: victim@evil.example",
                    content=RenderedMail(
                        subject="=?utf-8?q?Hallo=0D=0ABcc:_victim@evil.example?=\r\nX-Evil: 1",
                        text="Text",
                    ),
                )
            )
            mailer = RecordingMailer()
            assert store.dispatcher(mailer).dispatch_all().sent == 1
            [sent] = mailer.sent
            assert sorted(sent.keys()) == sorted(
                [
                    "To",
                    "From",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "Auto-Submitted",
                    "MIME-Version",
                    "Content-Type",
                    "Content-Transfer-Encoding",
                ]
            )
            assert "\n" not in sent["Subject"]
            assert "=?" not in str(sent["Subject"])
            assert [a.addr_spec for a in sent["To"].addresses] == ["anna@example.org"]

        def test_a_message_past_its_expiry_is_marked_obsolete_not_sent(self, store: Store) -> None:
            store.outbox.enqueue_message(message(expires_at=T0 + dt.timedelta(minutes=60)))
            store.clock.advance(dt.timedelta(minutes=60))
            mailer = RecordingMailer()
            report = store.dispatcher(mailer).dispatch_all()
            assert (report.skipped, report.sent, mailer.sent) == (1, 0, [])
            entry = store.row("password-reset:7:a1b2")
            assert entry.message_id == OBSOLETE
            assert store.content("password-reset:7:a1b2") is None

        def test_a_server_that_is_down_retries_with_backoff_then_fails_and_wipes(
            self, store: Store
        ) -> None:
            """R10: transient failures back off and keep the message; the last attempt
            fails it for good, which wipes it like a send."""
            store.outbox.enqueue_message(message())
            mailer = RecordingMailer()
            mailer.fail_all(TransientMailError("connection refused", unreachable=True))
            dispatcher = store.dispatcher(mailer, max_attempts=2)
            assert dispatcher.dispatch_all().retried == 1
            entry = store.row("password-reset:7:a1b2")
            assert entry.state is DeliveryState.PENDING
            assert entry.next_attempt_at == T0 + dt.timedelta(minutes=1)
            assert store.content("password-reset:7:a1b2") is not None
            store.clock.advance(dt.timedelta(minutes=1))
            assert dispatcher.dispatch_all().failed == 1
            [failed] = store.outbox.failed()
            assert failed.message is not None
            assert failed.message.content is None
            assert "after 2 attempts" in (failed.last_error or "")

        def test_a_refused_mailbox_fails_the_message_at_once(self, store: Store) -> None:
            store.outbox.enqueue_message(message())
            store.outbox.enqueue_message(message("welcome:8", to_address="bob@example.org"))
            mailer = RecordingMailer()
            mailer.fail_for("anna@example.org", PermanentMailError("no such user", reply_code=550))
            report = store.dispatcher(mailer).dispatch_all()
            assert (report.sent, report.failed) == (1, 1)
            assert [e.key for e in store.outbox.failed()] == ["password-reset:7:a1b2"]

        def test_a_dispatcher_that_died_leaves_the_message_to_the_next_one(
            self, store: Store
        ) -> None:
            """R10: leased, then the dispatcher died before sending; its lease runs out,
            the next one takes the message over and sends it once."""
            store.outbox.enqueue_message(message())
            store.outbox.lease(T0, 10, "dead", dt.timedelta(minutes=5))
            mailer = RecordingMailer()
            assert store.dispatcher(mailer).dispatch_all().handled == 0
            store.clock.advance(dt.timedelta(minutes=6))
            report = store.dispatcher(mailer).dispatch_all()
            assert (report.sent, report.taken_over) == (1, 1)
            assert len(mailer.sent) == 1

        def test_parallel_dispatchers_send_each_message_exactly_once(self, store: Store) -> None:
            """R10 under real concurrency: four dispatchers in threads over 60 messages."""
            for n in range(60):
                store.outbox.enqueue_message(
                    message(f"welcome:{n}", to_address=f"u{n}@example.org")
                )
            mailer = RecordingMailer()
            barrier = threading.Barrier(4)
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    barrier.wait()
                    store.dispatcher(mailer).dispatch_all(limit=5)
                except BaseException as exc:  # collected and asserted below
                    errors.append(exc)

            threads = [threading.Thread(target=run) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert errors == []
            counts = Counter(m["To"].addresses[0].addr_spec for m in mailer.sent)
            assert len(counts) == 60
            assert set(counts.values()) == {1}
            assert store.outbox.pending_count() == 0

    class TestNotificationRows:
        """The rows the desk's units of work write (R10): two new-lead notices per
        intake in Leipzig, one for Anna and one for Ben."""

        def test_rows_written_by_the_desk_are_delivered_once(self, store: Store) -> None:
            """R10: what the desk enqueued is leased, sent and marked; a second round has
            nothing left."""
            store.world.intake("s-1")
            mailer = RecordingMailer()
            dispatcher = store.dispatcher(mailer)
            assert store.outbox.pending_count() == 2
            assert dispatcher.dispatch_all().sent == 2
            assert dispatcher.dispatch_all().handled == 0
            assert store.outbox.pending_count() == 0
            assert {e.state for e in store.entries()} == {DeliveryState.SENT}
            assert len({m["Message-ID"] for m in mailer.sent}) == 2

        def test_concurrent_leases_are_disjoint_and_expired_ones_taken_over(
            self, store: Store
        ) -> None:
            """R10: two leases never share a row; a lease that ran out is taken over once."""
            for i in range(3):
                store.world.intake(f"s-{i}")
            outbox, now = store.outbox, store.clock.now()
            first = outbox.lease(now, 4, "one", dt.timedelta(minutes=5))
            second = outbox.lease(now, 4, "two", dt.timedelta(minutes=5))
            assert len(first) == 4
            assert len(second) == 2
            assert not {e.key for e in first} & {e.key for e in second}
            later = now + dt.timedelta(minutes=6)
            taken = outbox.lease(later, 10, "three", dt.timedelta(minutes=5))
            assert len(taken) == 6
            assert all(e.taken_over and e.attempts == 2 for e in taken)
            assert outbox.lease(later, 10, "four", dt.timedelta(minutes=5)) == []

        def test_released_rows_are_due_again_for_anyone(self, store: Store) -> None:
            """R10: a stopping worker gives back the rows it leased but did not try;
            another takes them at once, their attempts as before. Rows of another owner
            and rows no longer pending stay as they are."""
            store.world.intake("s-1")
            outbox, now = store.outbox, store.clock.now()
            [a, b] = outbox.lease(now, 2, "stopping", dt.timedelta(minutes=5))
            outbox.mark_sent(a.key, "<a@qleads>", now)
            assert outbox.release([a.key, b.key], "somebody-else") == 0
            assert outbox.release([a.key, b.key], "stopping") == 1
            assert store.row(a.key).state is DeliveryState.SENT
            [again] = outbox.lease(now, 5, "next", dt.timedelta(minutes=5))
            assert (again.key, again.attempts, again.taken_over) == (b.key, 1, False)
            assert outbox.release([], "next") == 0

        def test_a_stopped_batch_finishes_its_row_and_gives_the_rest_back(
            self, store: Store
        ) -> None:
            """R10: a worker asked to stop mid-batch sends the mail in hand, gives the
            leased rows it did not try back, and another dispatcher sends them at once:
            every row is mailed exactly once."""
            for i in range(2):
                store.world.intake(f"s-{i}")
            stopping = threading.Event()

            class StopsAfterOne(RecordingMailer):
                def send(self, message: object) -> None:
                    super().send(message)  # type: ignore[arg-type]
                    stopping.set()

            first = StopsAfterOne()
            report = store.dispatcher(first).dispatch_all(10, stop=stopping.is_set)
            assert (report.sent, len(first.sent)) == (1, 1)
            assert store.outbox.pending_count() == 3
            assert all(e.lease_owner is None for e in store.entries() if e.state.value == "pending")
            second = RecordingMailer()
            assert store.dispatcher(second).dispatch_all(10).sent == 3
            assert {e.attempts for e in store.entries()} == {1}
            ids = [m["Message-ID"] for m in first.sent + second.sent]
            assert len(ids) == len(set(ids)) == 4

        def test_failed_rows_are_listed_and_can_be_retried(self, store: Store) -> None:
            """R10: permanent failures are kept for admins, who can send them again."""
            store.world.intake("s-1")
            outbox, now = store.outbox, store.clock.now()
            [a, _b] = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
            outbox.mark_failed(a.key, "550 no such user")
            assert [e.key for e in outbox.failed()] == [a.key]
            assert outbox.failed()[0].last_error == "550 no such user"
            assert outbox.pending_count() == 1
            outbox.retry(a.key)
            assert outbox.failed() == []
            assert outbox.pending_count() == 2
            [again] = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
            assert (again.key, again.attempts) == (a.key, 1)
            with pytest.raises(InvalidInput):
                outbox.retry("no-such-key")

        def test_retry_waits_for_its_time(self, store: Store) -> None:
            """R10: a row marked for retry is not leased before ``next_attempt_at``."""
            store.world.intake("s-1")
            outbox, now = store.outbox, store.clock.now()
            rows = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
            for row in rows:
                outbox.mark_retry(row.key, "421 busy", now + dt.timedelta(minutes=2))
            assert outbox.lease(now + dt.timedelta(minutes=1), 5, "me", dt.timedelta(5)) == []
            assert len(outbox.lease(now + dt.timedelta(minutes=2), 5, "me", dt.timedelta(1))) == 2

        def test_a_sent_row_stays_sent(self, store: Store) -> None:
            """R10: a dispatcher that took a row over sent it; the late verdict of the
            one it took it from (a retry, a failure) changes nothing."""
            store.world.intake("s-1")
            outbox, now = store.outbox, store.clock.now()
            [row, _other] = outbox.lease(now, 2, "slow", dt.timedelta(minutes=5))
            outbox.mark_sent(row.key, "<sent@qleads>", now + dt.timedelta(minutes=6))
            outbox.mark_retry(row.key, "421 busy", now + dt.timedelta(minutes=7))
            outbox.mark_failed(row.key, "550 too late")
            sent = store.row(row.key)
            assert (sent.state, sent.message_id) == (DeliveryState.SENT, "<sent@qleads>")
            assert outbox.failed() == []
            assert outbox.pending_count() == 1

    class TestDigestLog:
        def test_the_digest_log_reserves_once_per_day(self, store: Store) -> None:
            """R10 digest: one reservation per installer and local day; a lapsed one is
            taken over; a sent one is final."""
            log = store.outbox
            now = dt.datetime(2026, 11, 13, 7, 0, tzinfo=dt.UTC)
            day = dt.date(2026, 11, 13)
            later = now + dt.timedelta(minutes=10)
            assert log.reserve_digest("anna", day, now, later)
            assert not log.reserve_digest("anna", day, now, later)
            assert log.reserve_digest(
                "anna", day, later + dt.timedelta(seconds=1), later + dt.timedelta(minutes=20)
            )
            log.digest_sent("anna", day, message_id="<x@y>", lead_count=3, now=later)
            assert not log.reserve_digest("anna", day, now + dt.timedelta(hours=5), later)
            assert log.last_digest("anna") == later
            assert log.last_digest("bob") is None
            assert log.reserve_digest("anna", day + dt.timedelta(days=1), now, later)

        def test_a_reservation_given_back_can_be_taken_at_once(self, store: Store) -> None:
            """R10 digest: a failed send gives the day back; the next run takes it before
            the lease would have run out, and a closed day stays closed."""
            log = store.outbox
            now = dt.datetime(2026, 11, 13, 7, 0, tzinfo=dt.UTC)
            day = dt.date(2026, 11, 13)
            later = now + dt.timedelta(minutes=10)
            assert log.reserve_digest("anna", day, now, later)
            log.digest_retry("anna", day, "421 busy")
            assert log.reserve_digest("anna", day, now + dt.timedelta(minutes=1), later)
            log.digest_sent("anna", day, message_id=None, lead_count=0, now=later)
            log.digest_retry("anna", day, "too late")
            assert not log.reserve_digest("anna", day, later + dt.timedelta(hours=1), later)
            assert log.last_digest("anna") == later
