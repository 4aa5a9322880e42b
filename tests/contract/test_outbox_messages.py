"""The outbox's second kind of row, an embedder's :class:`~qleads.mail.OutboxMessage`,
on every outbox adapter (memory, SQLite, PostgreSQL): the same promises as a lead
notification (R10) — stored once per key, leased to one dispatcher at a time, retried,
failed and listed, Message-ID from the key — plus its own: its subject and body are
wiped once it is done, and one past its ``expires_at`` is not sent.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from qleads.adapters.clock import FrozenClock
from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine, metadata
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.errors import InvalidInput, StorageError
from qleads.mail import (
    MESSAGE_KIND,
    OBSOLETE,
    DeliveryState,
    Dispatcher,
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

T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC)
LINK = "https://portal.example.com/password/reset/geheimer-token-0123456789"


@attrs.define
class Store:
    """One adapter under test: the repository whose units of work write notifications
    and the outbox that delivers them and holds the messages."""

    repository: LeadRepository
    outbox: InMemoryOutbox | SqlAlchemyOutbox
    clock: FrozenClock

    def dispatcher(self, mailer: RecordingMailer, **options: object) -> Dispatcher:
        return Dispatcher(
            self.outbox,
            mailer,
            Renderer("https://portal.example.com"),
            InMemoryDirectory(),
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


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    clock = FrozenClock(T0)
    if request.param == "memory":
        memory = InMemoryLeadRepository()
        yield Store(memory, InMemoryOutbox(memory), clock)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    metadata.create_all(engine)
    repository = SqlAlchemyLeadRepository(engine)
    yield Store(repository, SqlAlchemyOutbox(repository), clock)
    engine.dispose()


def message(key: str = "password-reset:7:a1b2", **changes: object) -> OutboxMessage:
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


def row(store: Store, key: str) -> object:
    [entry] = [e for e in store.outbox.entries() if e.key == key]
    return entry


class TestEnqueue:
    def test_a_message_is_stored_once_per_key(self, store: Store) -> None:
        """R10: a stable key per message; the second enqueue stores nothing and keeps
        the first content."""
        assert store.outbox.enqueue_message(message()) is True
        other = RenderedMail(subject="Anders", text="Anderer Text")
        assert store.outbox.enqueue_message(message(content=other)) is False
        [entry] = store.outbox.entries()
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

    def test_a_message_without_content_is_refused_and_nothing_stored(self, store: Store) -> None:
        with pytest.raises(InvalidInput) as refused:
            store.outbox.enqueue_message(message(content=None))
        assert refused.value.field == "content"
        assert store.outbox.entries() == []

    def test_the_lead_notifications_do_not_see_the_messages(self, store: Store) -> None:
        store.notify("1:1:new_lead:anna", T0)
        store.outbox.enqueue_message(message())
        notifications = store.repository.notifications()  # type: ignore[attr-defined]
        assert [n.key for n in notifications] == ["1:1:new_lead:anna"]


class TestLease:
    def test_messages_and_notifications_are_leased_together_in_due_order(
        self, store: Store
    ) -> None:
        store.notify("1:1:new_lead:anna", T0 + dt.timedelta(seconds=2))
        store.outbox.enqueue_message(message("first", created_at=T0 + dt.timedelta(seconds=1)))
        store.outbox.enqueue_message(message("last", created_at=T0 + dt.timedelta(seconds=3)))
        store.outbox.enqueue_message(message("later", created_at=T0 + dt.timedelta(hours=1)))
        leased = store.outbox.lease(T0 + dt.timedelta(minutes=1), 10, "d1", dt.timedelta(minutes=5))
        assert [e.key for e in leased] == ["first", "1:1:new_lead:anna", "last"]
        assert [e.kind for e in leased] == [MESSAGE_KIND, "new_lead", MESSAGE_KIND]
        again = store.outbox.lease(T0 + dt.timedelta(minutes=2), 10, "d2", dt.timedelta(minutes=5))
        assert again == []  # leased to d1 until its lease runs out
        taken = store.outbox.lease(T0 + dt.timedelta(minutes=7), 10, "d2", dt.timedelta(minutes=5))
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
        entry = row(store, "password-reset:7:a1b2")
        assert entry.message == attrs.evolve(message(), content=None)  # type: ignore[attr-defined]
        assert (entry.state, entry.message_id, entry.sent_at) == (  # type: ignore[attr-defined]
            DeliveryState.SENT,
            "<id@qleads>",
            T0,
        )
        assert LINK not in repr(store.outbox.entries())

    def test_a_retry_keeps_the_content_a_final_failure_wipes_it(self, store: Store) -> None:
        store.outbox.enqueue_message(message())
        store.outbox.lease(T0, 10, "d1", dt.timedelta(minutes=5))
        store.outbox.mark_retry("password-reset:7:a1b2", "421 busy", T0 + dt.timedelta(minutes=1))
        pending = row(store, "password-reset:7:a1b2")
        assert pending.message == message()  # type: ignore[attr-defined]
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
    def test_a_message_is_mailed_once_with_its_message_id_from_the_key(self, store: Store) -> None:
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
        assert row(store, "password-reset:7:a1b2").message.content is None  # type: ignore[attr-defined]

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
        entry = row(store, "password-reset:7:a1b2")
        assert entry.message_id == OBSOLETE  # type: ignore[attr-defined]
        assert entry.message.content is None  # type: ignore[attr-defined]

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
        entry = row(store, "password-reset:7:a1b2")
        assert entry.state is DeliveryState.PENDING  # type: ignore[attr-defined]
        assert entry.next_attempt_at == T0 + dt.timedelta(minutes=1)  # type: ignore[attr-defined]
        assert entry.message.content is not None  # type: ignore[attr-defined]
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

    def test_a_dispatcher_that_died_leaves_the_message_to_the_next_one(self, store: Store) -> None:
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
            store.outbox.enqueue_message(message(f"welcome:{n}", to_address=f"u{n}@example.org"))
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    metadata.create_all(engine)
    repository = SqlAlchemyLeadRepository(engine)
    yield Store(repository, SqlAlchemyOutbox(repository), FrozenClock(T0))
    engine.dispose()


class TestSqlTransactions:
    """What only the SQL outbox can promise: the message joins its caller's transaction,
    and the database itself refuses a done row that still holds content."""

    def engine(self, store: Store) -> sa.Engine:
        assert isinstance(store.outbox, SqlAlchemyOutbox)
        return store.outbox.engine

    def test_a_message_enqueued_in_a_rolled_back_transaction_is_not_stored(
        self, sql_store: Store
    ) -> None:
        outbox = sql_store.outbox
        assert isinstance(outbox, SqlAlchemyOutbox)
        engine = self.engine(sql_store)
        with engine.connect() as conn:
            conn.execution_options(qleads_write=True)
            with conn.begin() as transaction:
                assert outbox.enqueue_message(message(), connection=conn) is True
                transaction.rollback()
        assert outbox.entries() == []
        with engine.connect() as conn:
            conn.execution_options(qleads_write=True)
            with conn.begin():
                outbox.enqueue_message(message(), connection=conn)
        assert [e.key for e in outbox.entries()] == ["password-reset:7:a1b2"]

    def test_a_driver_error_in_the_callers_transaction_is_a_storage_error(
        self, sql_store: Store
    ) -> None:
        outbox = sql_store.outbox
        assert isinstance(outbox, SqlAlchemyOutbox)
        engine = self.engine(sql_store)
        with engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE qleads_outbox")
            conn.commit()
            with pytest.raises(StorageError):
                outbox.enqueue_message(message(), connection=conn)

    @pytest.mark.parametrize("state", ["sent", "failed"])
    def test_the_database_refuses_a_done_message_that_keeps_its_content(
        self, sql_store: Store, state: str
    ) -> None:
        sql_store.outbox.enqueue_message(message())
        with (
            pytest.raises(sa.exc.IntegrityError),
            self.engine(sql_store).begin() as conn,
        ):
            conn.execute(sa.text("UPDATE qleads_outbox SET state = :state"), {"state": state})

    def test_the_database_refuses_a_message_row_that_names_a_lead(self, sql_store: Store) -> None:
        sql_store.outbox.enqueue_message(message())
        with (
            pytest.raises(sa.exc.IntegrityError),
            self.engine(sql_store).begin() as conn,
        ):
            conn.execute(sa.text("UPDATE qleads_outbox SET lead_id = 1"))
