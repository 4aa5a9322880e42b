"""The SQL outbox (``SqlAlchemyOutbox``) on SQLite and PostgreSQL: leases, retries,
failures and the digest log, and two dispatchers over 1,000 due rows (R10)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from mail_support import BASE_URL, SmtpServer, World, document
from sqlalchemy.engine import Engine

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.adapters.smtp import SmtpMailer
from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine, metadata
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.errors import InvalidInput
from qleads.mail import DeliveryState, Dispatcher, RecordingMailer, Renderer


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qleads.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def repository(engine: Engine) -> SqlAlchemyLeadRepository:
    return SqlAlchemyLeadRepository(engine)


@pytest.fixture
def outbox(repository: SqlAlchemyLeadRepository) -> SqlAlchemyOutbox:
    return SqlAlchemyOutbox(repository)


def dispatcher(world: World, repository, outbox, mailer, **kwargs) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        outbox,
        mailer,
        Renderer(BASE_URL),
        world.directory,
        world.clock,
        leads=repository,
        **kwargs,
    )


class TestSqlOutbox:
    def test_rows_written_by_the_desk_are_delivered_once(self, repository, outbox) -> None:
        """R10: what the desk enqueued is leased, sent and marked; a second round has
        nothing left."""
        world = World.build(repository)
        world.desk.intake(world.source, document("s-1"))
        mailer = RecordingMailer()
        d = dispatcher(world, repository, outbox, mailer)
        assert outbox.pending_count() == 2
        assert d.dispatch_all().sent == 2
        assert d.dispatch_all().handled == 0
        assert outbox.pending_count() == 0
        assert {e.state for e in outbox.entries()} == {DeliveryState.SENT}
        assert len({m["Message-ID"] for m in mailer.sent}) == 2

    def test_concurrent_leases_are_disjoint_and_expired_ones_taken_over(
        self, repository, outbox
    ) -> None:
        """R10: two leases never share a row; a lease that ran out is taken over once."""
        world = World.build(repository)
        for i in range(3):
            world.desk.intake(world.source, document(f"s-{i}"))
        now = world.clock.now()
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

    def test_failed_rows_are_listed_and_can_be_retried(self, repository, outbox) -> None:
        """R10: permanent failures are kept for admins, who can send them again."""
        world = World.build(repository)
        world.desk.intake(world.source, document("s-1"))
        now = world.clock.now()
        [a, _b] = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
        outbox.mark_failed(a.key, "550 no such user")
        assert [e.key for e in outbox.failed()] == [a.key]
        assert outbox.failed()[0].last_error == "550 no such user"
        outbox.retry(a.key)
        assert outbox.failed() == []
        [again] = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
        assert (again.key, again.attempts) == (a.key, 1)
        with pytest.raises(InvalidInput):
            outbox.retry("no-such-key")

    def test_retry_waits_for_its_time(self, repository, outbox) -> None:
        """R10: a row marked for retry is not leased before ``next_attempt_at``."""
        world = World.build(repository)
        world.desk.intake(world.source, document("s-1"))
        now = world.clock.now()
        rows = outbox.lease(now, 2, "me", dt.timedelta(minutes=5))
        for row in rows:
            outbox.mark_retry(row.key, "421 busy", now + dt.timedelta(minutes=2))
        assert outbox.lease(now + dt.timedelta(minutes=1), 5, "me", dt.timedelta(minutes=5)) == []
        assert len(outbox.lease(now + dt.timedelta(minutes=2), 5, "me", dt.timedelta(1))) == 2

    def test_digest_log_reserves_once_per_day(self, outbox) -> None:
        """R10 digest: one reservation per installer and local day; a lapsed one is
        taken over; a sent one is final."""
        now = dt.datetime(2026, 11, 13, 7, 0, tzinfo=dt.UTC)
        day = dt.date(2026, 11, 13)
        later = now + dt.timedelta(minutes=10)
        assert outbox.reserve_digest("anna", day, now, later)
        assert not outbox.reserve_digest("anna", day, now, later)
        assert outbox.reserve_digest(
            "anna", day, later + dt.timedelta(seconds=1), later + dt.timedelta(minutes=20)
        )
        outbox.digest_sent("anna", day, message_id="<x@y>", lead_count=3, now=later)
        assert not outbox.reserve_digest("anna", day, now + dt.timedelta(hours=5), later)
        assert outbox.last_digest("anna") == later
        assert outbox.last_digest("bob") is None
        assert outbox.reserve_digest("anna", day + dt.timedelta(days=1), now, later)


@pytest.mark.postgres
@pytest.mark.slow
class TestOneShape:
    def test_each_outbox_is_made_from_its_repository(self, repository) -> None:
        """R10: ``InMemoryOutbox(repository)`` and ``SqlAlchemyOutbox(repository)``:
        the outbox is made from the repository whose units of work fill it."""
        memory = InMemoryLeadRepository()
        for leads, make in ((memory, InMemoryOutbox), (repository, SqlAlchemyOutbox)):
            world = World.build(leads)
            world.desk.intake(world.source, document("s-1"))
            assert make(leads).pending_count() == 2

    def test_the_engine_still_works_for_one_release_with_a_warning(
        self, engine, repository
    ) -> None:
        """The 0.1 call ``SqlAlchemyOutbox(engine)`` keeps working in 0.2, and says it
        goes."""
        world = World.build(repository)
        world.desk.intake(world.source, document("s-1"))
        with pytest.warns(DeprecationWarning, match="takes the SqlAlchemyLeadRepository"):
            old = SqlAlchemyOutbox(engine)
        assert old.pending_count() == SqlAlchemyOutbox(repository).pending_count() == 2


class TestTwoDispatchersOnPostgres:
    def test_1000_due_rows_each_sent_exactly_once(self, postgres_url: str) -> None:
        """R10: two dispatchers leasing with FOR UPDATE SKIP LOCKED over 1,000 due rows
        deliver every row exactly once between them."""
        engine = make_engine(postgres_url, pool_size=10)
        metadata.create_all(engine)
        repository = SqlAlchemyLeadRepository(engine)
        outbox = SqlAlchemyOutbox(repository)
        world = World.build(repository)
        for i in range(500):  # two installers each: 1,000 rows
            world.desk.intake(world.source, document(f"s-{i}"))
        assert outbox.pending_count() == 1000
        server = SmtpServer()
        server.start()
        try:
            reports = []
            barrier = threading.Barrier(2)

            def run(name: str) -> None:
                with SmtpMailer("127.0.0.1", server.port, timeout=10) as mailer:
                    d = dispatcher(world, repository, outbox, mailer, owner=name)
                    barrier.wait()
                    reports.append(d.dispatch_all(limit=25))

            threads = [threading.Thread(target=run, args=(n,)) for n in ("d1", "d2")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            envelopes = server.wait_for(1000)
        finally:
            server.stop()
            engine.dispose()
        assert sum(r.sent for r in reports) == 1000
        assert all(r.sent > 0 for r in reports), "both dispatchers did a share"
        ids = Counter(e.message["Message-ID"] for e in envelopes)
        assert len(envelopes) == 1000
        assert set(ids.values()) == {1}


class TestMigration:
    def test_migrations_create_the_digest_log(self, tmp_path) -> None:
        """The digest log is part of the migrated schema (0002_mail_digest)."""
        from qleads.adapters.sql.migrations import current_revision, head_revision, upgrade

        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        try:
            upgrade(engine)
            assert current_revision(engine) == head_revision()
            outbox = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine))
            now = dt.datetime(2026, 11, 13, 7, 0, tzinfo=dt.UTC)
            assert outbox.reserve_digest("anna", now.date(), now, now + dt.timedelta(1))
            assert outbox.pending_count() == 0
        finally:
            engine.dispose()
