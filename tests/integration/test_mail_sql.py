"""The SQL outbox (``SqlAlchemyOutbox``) beyond the outbox contract (which
``tests/contract`` runs on it): made from its repository, the digest log's migration,
and two dispatchers over 1,000 due rows on PostgreSQL (R10)."""

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
from qleads.mail import Dispatcher, Renderer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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
