"""The contract suites (``qleads.testing.contract``) on SQLite and PostgreSQL — the
repository, the directory and the outbox — plus what only the SQL adapters promise: the
source tokens, driver errors translated into qleads errors, instants that always come
back aware UTC, the SQLite set-up, the statements a unit of work sends, and an outbox
message that joins its caller's transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from qleads.adapters.sql import (
    SqlAlchemyDirectory,
    SqlAlchemyLeadRepository,
    hash_token,
    make_engine,
    metadata,
)
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.adapters.sql.schema import lead_table, source_table
from qleads.errors import (
    ConfigurationError,
    InvalidInput,
    LeadNotFound,
    StaleUpdate,
    StorageError,
)
from qleads.lifecycle import Status
from qleads.model import (
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Lead,
    LeadSource,
    Notification,
    NotificationKind,
)
from qleads.ports import UnitOfWork
from qleads.tabs import Scope, Tab, query_for
from qleads.testing.contract import DirectoryContract, OutboxContract, RepositoryContract
from qleads.testing.contract.outbox import message
from qleads.testing.world import T0, make_lead

_TRUNCATE = ", ".join(t.name for t in metadata.sorted_tables)


def _sqlite_repository(path: Path) -> SqlAlchemyLeadRepository:
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    repository.upgrade_schema()
    return repository


@pytest.fixture(scope="module")
def postgres_repository(postgres_module_url: str) -> Iterator[SqlAlchemyLeadRepository]:
    repository = SqlAlchemyLeadRepository.from_url(postgres_module_url)
    repository.upgrade_schema()
    yield repository
    repository.close()


def _emptied(repository: SqlAlchemyLeadRepository) -> SqlAlchemyLeadRepository:
    with repository.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {_TRUNCATE} RESTART IDENTITY CASCADE")
    return repository


class TestSqliteRepository(RepositoryContract):
    """The contract on a SQLite file (WAL, foreign keys, BEGIN IMMEDIATE)."""

    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[SqlAlchemyLeadRepository]:
        repository = _sqlite_repository(tmp_path / "qleads.db")
        yield repository
        repository.close()


@pytest.mark.postgres
class TestPostgresRepository(RepositoryContract):
    """The contract on PostgreSQL through psycopg 3 (one database per module, emptied
    before each test)."""

    @pytest.fixture
    def repository(self, postgres_repository: SqlAlchemyLeadRepository) -> SqlAlchemyLeadRepository:
        return _emptied(postgres_repository)


class TestSqliteDirectory(DirectoryContract):
    """The directory contract on the tables of a migrated SQLite file."""

    @pytest.fixture
    def directory(self, tmp_path: Path) -> Iterator[SqlAlchemyDirectory]:
        repository = _sqlite_repository(tmp_path / "qleads.db")
        yield SqlAlchemyDirectory(repository.engine)
        repository.close()


@pytest.mark.postgres
class TestPostgresDirectory(DirectoryContract):
    """The directory contract on PostgreSQL (one database per module, emptied before
    each test; emptying it drops the engine's territory cache too)."""

    @pytest.fixture
    def directory(self, postgres_repository: SqlAlchemyLeadRepository) -> SqlAlchemyDirectory:
        return SqlAlchemyDirectory(_emptied(postgres_repository).engine)


class TestSqliteOutbox(OutboxContract):
    """The outbox contract on a migrated SQLite file."""

    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[SqlAlchemyLeadRepository]:
        repository = _sqlite_repository(tmp_path / "qleads.db")
        yield repository
        repository.close()

    @pytest.fixture
    def outbox(self, repository: SqlAlchemyLeadRepository) -> SqlAlchemyOutbox:
        return SqlAlchemyOutbox(repository)


@pytest.mark.postgres
class TestPostgresOutbox(OutboxContract):
    """The outbox contract on PostgreSQL (one database per module, emptied before each
    test)."""

    @pytest.fixture
    def repository(self, postgres_repository: SqlAlchemyLeadRepository) -> SqlAlchemyLeadRepository:
        return _emptied(postgres_repository)

    @pytest.fixture
    def outbox(self, repository: SqlAlchemyLeadRepository) -> SqlAlchemyOutbox:
        return SqlAlchemyOutbox(repository)


# --- what only the SQL adapter promises ----------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def repository(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SqlAlchemyLeadRepository]:
    if request.param == "sqlite":
        repository = _sqlite_repository(tmp_path / "qleads.db")
        yield repository
        repository.close()
    else:
        yield _emptied(request.getfixturevalue("postgres_repository"))


@pytest.fixture
def directory(repository: SqlAlchemyLeadRepository) -> SqlAlchemyDirectory:
    return SqlAlchemyDirectory(repository.engine)


class TestSqliteSetUp:
    def test_wal_foreign_keys_and_busy_timeout(self, tmp_path: Path) -> None:
        """Concurrent writers wait instead of failing (R3, R11): WAL, foreign keys and a
        busy timeout are set on every connection."""
        repository = _sqlite_repository(tmp_path / "wal.db")
        with repository.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
        repository.close()

    def test_a_writer_takes_the_write_lock_at_begin(self, tmp_path: Path) -> None:
        """BEGIN IMMEDIATE: while one unit writes, a plain sqlite3 writer is refused
        at once (with no busy timeout) — the lock is taken up front, not on upgrade."""
        path = tmp_path / "lock.db"
        repository = _sqlite_repository(path)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with repository.unit_of_work() as uow:
                uow.add(make_lead("locked"))
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
            repository.close()

    def test_readers_do_not_take_the_write_lock(self, tmp_path: Path) -> None:
        """Reading units (tab pages, R8) run beside a writer instead of queueing."""
        path = tmp_path / "read.db"
        repository = _sqlite_repository(path)
        with repository.unit_of_work() as uow:
            uow.add(make_lead("r"))
            uow.commit()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with repository.unit_of_work() as uow:
                assert uow.get_by_source("r") is not None
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
        finally:
            other.close()
            repository.close()

    def test_a_locked_database_is_a_storage_error(self, tmp_path: Path) -> None:
        """R15: a lock held past the busy timeout is a StorageError, not a driver error."""
        path = tmp_path / "busy.db"
        _sqlite_repository(path).close()
        repository = SqlAlchemyLeadRepository.from_url(
            f"sqlite:///{path}", connect_args={"timeout": 0.05}
        )
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with repository.unit_of_work() as uow, pytest.raises(StorageError) as raised:
                uow.add(make_lead("busy"))
            assert raised.value.code == "storage_error"
            assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
        finally:
            other.close()
            repository.close()

    def test_a_stored_document_that_is_not_json_is_a_storage_error(self, tmp_path: Path) -> None:
        """R15: a row whose document was damaged by hand is a StorageError naming the
        cause, not a JSON decoder's exception."""
        repository = _sqlite_repository(tmp_path / "damaged.db")
        try:
            with repository.unit_of_work() as uow:
                lead = uow.add(make_lead("damaged"))
                uow.commit()
            with repository.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE qleads_lead SET document = '{\"contact\": '")
            with repository.unit_of_work() as uow, pytest.raises(StorageError, match="not JSON"):
                uow.get(lead.id)
        finally:
            repository.close()


_COVERED_TABS = [(Tab.ALL, "received"), (Tab.MINE, "received"), (Tab.CLOSED, "closed")]


class TestSqliteTabPlans:
    @pytest.mark.parametrize(("tab", "index"), _COVERED_TABS)
    def test_a_reps_whole_or_closed_tab_reads_one_index_alone(
        self, tmp_path: Path, tab: Tab, index: str
    ) -> None:
        """R8, migrations 0006 and 0008: a rep's "all", "mine" and "closed" pages are
        read from the covering index of territory and arrival (for "closed", its partial
        twin of closed leads), never from the table, whose rows a page would find on as
        many pages as it has rows (bench/HISTORY.md)."""
        repository = _sqlite_repository(tmp_path / "plan.db")
        scope = Scope(territory_ids=frozenset({"t-1", "t-2", "t-3"}))
        statement, params = repository.tab_statement(query_for(scope, tab))
        with repository.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(params)).all()
        repository.close()
        reads = [row[-1] for row in plan if " qleads_lead " in f"{row[-1]} "]
        assert len(reads) == 3, plan  # one range per territory
        assert all(
            f"USING COVERING INDEX ix_qleads_lead_territory_{index}_rows (territory_id=?)" in r
            for r in reads
        ), plan

    @pytest.mark.parametrize(("tab", "index"), _COVERED_TABS)
    def test_a_tab_of_one_territory_is_one_ordered_range(
        self, tmp_path: Path, tab: Tab, index: str
    ) -> None:
        """R8: a rep of one territory has his "all", "mine" and "closed" pages read as
        one range of that covering index, in the page's order and cut there, as a
        hand-written query would: nothing merged, nothing sorted."""
        repository = _sqlite_repository(tmp_path / "plan.db")
        scope = Scope(territory_ids=frozenset({"t-1"}))
        statement, params = repository.tab_statement(query_for(scope, tab))
        with repository.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(params)).all()
        repository.close()
        steps = [row[-1] for row in plan]
        assert steps[0].startswith(
            f"SEARCH qleads_lead USING COVERING INDEX ix_qleads_lead_territory_{index}_rows "
            "(territory_id=?)"
        ), plan
        rest = [step for step in steps[1:] if " qleads_lead " in f"{step} " or "B-TREE" in step]
        assert not rest, plan


@pytest.mark.postgres
class TestPostgresTabPlans:
    @pytest.mark.parametrize(("tab", "index"), _COVERED_TABS)
    def test_a_reps_whole_or_closed_tab_reads_one_index_alone(
        self, postgres_repository: SqlAlchemyLeadRepository, tab: Tab, index: str
    ) -> None:
        """R8, migrations 0007 and 0008: a rep's "all", "mine" and "closed" pages can be
        answered from the included index of territory and arrival (for "closed", its
        partial twin of closed leads) and the key of ``qleads_lead_handled`` alone, never
        from the table, whose rows a page would find on as many pages as it has rows
        (bench/HISTORY.md). Sequential and bitmap scans are switched off so that the plan
        shows what the indexes can serve, whatever the planner makes of an empty table;
        docs/postgresql.md shows its choice at a million leads."""
        repository = _emptied(postgres_repository)
        scope = Scope(territory_ids=frozenset({"t-1", "t-2", "t-3"}))
        statement, params = repository.tab_statement(query_for(scope, tab))
        with repository.engine.connect() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, tuple(params))]
            conn.rollback()
        leads = [line for line in plan if " on qleads_lead " in f"{line} "]
        assert len(leads) == 1, plan  # one LATERAL range per unnested territory
        assert (
            f"Index Only Scan Backward using ix_qleads_lead_territory_{index}_included"
            in (leads[0])
        ), plan
        handled = [line for line in plan if " on qleads_lead_handled " in line]
        assert len(handled) == 1, plan
        assert "Index Only Scan using pk_qleads_lead_handled" in handled[0], plan

    def test_the_widest_row_its_columns_allow_fits_the_included_index(
        self, postgres_repository: SqlAlchemyLeadRepository
    ) -> None:
        """PostgreSQL refuses index rows over 2,704 bytes, and a refused row would fail
        the write that made it (an intake, a claim). The included index carries every
        column of a tab row but ``previous_holders``, which has no bound; the others are
        bounded by their types. At their widest — four-byte characters filling every
        text column, the longest status and deadline kind qleads writes, and previous
        holders of 8 kB — a lead is stored, changed and shown on a rep's page."""
        repository = _emptied(postgres_repository)
        chars = random.Random(7)

        def wide(length: int) -> str:  # CJK extension B: four bytes each in UTF-8
            return "".join(chr(chars.randrange(0x20000, 0x2A6DF)) for _ in range(length))

        territory, holder, name, city = wide(100), wide(100), wide(200), wide(200)
        previous = sorted(wide(100) for _ in range(20))
        status = max((s.value for s in Status), key=len)
        kind = max((k.value for k in DeadlineKind), key=len)
        with repository.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO qleads_lead (source_id, fingerprint, received_at, territory_id, "
                "status, status_at, holder_id, hold_until, due_at, deadline_kind, deadline_at, "
                "previous_holders, version, document, name, postal_code, city) VALUES ('wide', "
                "'f', now(), %s, %s, now(), %s, now(), now(), %s, now(), %s, 2147483647, '{}', "
                "%s, %s, %s)",
                (territory, status, holder, kind, json.dumps(previous), name, wide(20), city),
            )
            lead_id = conn.exec_driver_sql("SELECT id FROM qleads_lead").scalar_one()
            for installer_id in previous:
                conn.exec_driver_sql(
                    "INSERT INTO qleads_lead_handled (lead_id, installer_id) VALUES (%s, %s)",
                    (lead_id, installer_id),
                )
            conn.exec_driver_sql("UPDATE qleads_lead SET status = 'unsuccessful'")
        with repository.unit_of_work() as uow:
            page = uow.find(query_for(Scope(territory_ids=frozenset({territory})), Tab.ALL))
        [row] = page.leads
        assert (row.name, row.city, row.holder_id) == (name, city, holder)
        assert row.status is Status.UNSUCCESSFUL
        assert row.previous_holders == frozenset(previous)


class TestEngines:
    @pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle://x"])
    def test_unsupported_urls_are_configuration_errors(self, url: str) -> None:
        """R15: a database qleads cannot run on is refused up front."""
        with pytest.raises(ConfigurationError):
            make_engine(url)

    def test_plain_postgresql_urls_use_psycopg_3(self) -> None:
        engine = make_engine("postgresql://u@127.0.0.1/db")
        assert engine.dialect.driver == "psycopg"
        engine.dispose()


class TestInstants:
    def test_naive_datetimes_are_refused(self, repository: SqlAlchemyLeadRepository) -> None:
        """R9: every instant is stored in UTC; a naive one has no meaning and is refused
        with InvalidInput rather than stored as a guess."""
        naive = make_lead("naive", received_at=dt.datetime(2026, 1, 1, 12, 0))
        with repository.unit_of_work() as uow, pytest.raises(InvalidInput):
            uow.add(naive)

    def test_other_offsets_are_stored_as_utc(self, repository: SqlAlchemyLeadRepository) -> None:
        berlin = dt.timezone(dt.timedelta(hours=2))
        received = dt.datetime(2026, 7, 1, 12, 0, tzinfo=berlin)
        with repository.unit_of_work() as uow:
            lead = uow.add(make_lead("offset", received_at=received))
            uow.commit()
        with repository.unit_of_work() as uow:
            back = uow.get(lead.id)
        assert back.received_at == received
        assert back.received_at.tzinfo is dt.UTC
        assert back.received_at.hour == 10


def _event(lead_id: int, version: int, kind: EventKind) -> HistoryEvent:
    """A lead's event as the desk writes it: received from the source, or claimed by
    i-anna."""
    received = kind is EventKind.RECEIVED
    return HistoryEvent(
        lead_id=lead_id,
        version=version,
        kind=kind,
        actor_id="src" if received else "i-anna",
        from_status=None if received else Status.NEW,
        to_status=Status.NEW if received else Status.CLAIMED,
        effective_at=T0,
        recorded_at=T0,
    )


def _lead_with_event(
    repository: SqlAlchemyLeadRepository, source_id: str, version: int, kind: EventKind
) -> tuple[Lead, HistoryEvent]:
    """A stored lead and a stored event of it (each in a unit of its own)."""
    with repository.unit_of_work() as uow:
        lead = uow.add(make_lead(source_id))
        uow.commit()
    event = _event(lead.id, version, kind)
    with repository.unit_of_work() as uow:
        uow.append([event])
        uow.commit()
    return lead, event


def _append_then(uow: UnitOfWork, events: list[HistoryEvent], then: Callable[[], object]) -> None:
    """Append, then commit or read: SQLite refuses a bad event in ``append`` itself,
    PostgreSQL when the held-back insert is sent."""
    uow.append(events)
    then()


class TestStorageDetails:
    def test_unknown_lead_update_is_not_found(self, repository: SqlAlchemyLeadRepository) -> None:
        ghost = attrs.evolve(make_lead("ghost"), id=999, version=2)
        with repository.unit_of_work() as uow, pytest.raises(LeadNotFound):
            uow.update(ghost, expected_version=1)

    def test_a_second_event_for_one_version_is_stale(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R13: one event per lead version; a second writer of that version lost."""
        lead, event = _lead_with_event(repository, "ev", 2, EventKind.CLAIMED)
        # PostgreSQL holds the insert back until the history is read or the commit; the
        # refusal comes from whichever sends it, and the unit stores nothing.
        with repository.unit_of_work() as uow, pytest.raises(StaleUpdate):
            _append_then(uow, [event], uow.commit)
        with repository.unit_of_work() as uow, pytest.raises(StaleUpdate):
            _append_then(uow, [event], lambda: uow.history(lead.id))
        with repository.unit_of_work() as uow:
            assert [e.version for e in uow.history(lead.id)] == [2]

    def test_history_of_an_unknown_lead_is_refused(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        event = _event(4711, 1, EventKind.RECEIVED)
        with repository.unit_of_work() as uow, pytest.raises(LeadNotFound):
            _append_then(uow, [event], uow.commit)

    def test_listing_columns_follow_the_document(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R8 rows: name, postal code and city are kept beside the document for
        listings, and the handled table mirrors the R2c marker."""
        with repository.unit_of_work() as uow:
            lead = uow.add(make_lead("cols", previous_holders=frozenset({"i-anna"})))
            uow.commit()
        with repository.unit_of_work() as uow:
            current = uow.get(lead.id)
            uow.update(
                attrs.evolve(
                    current,
                    previous_holders=frozenset({"i-ben", "i-carl"}),
                    version=current.version + 1,
                ),
                expected_version=current.version,
            )
            uow.commit()
        with repository.engine.connect() as conn:
            row = conn.execute(
                sa.select(lead_table.c.name, lead_table.c.postal_code, lead_table.c.city)
            ).one()
            handled = conn.exec_driver_sql(
                "SELECT installer_id FROM qleads_lead_handled ORDER BY installer_id"
            ).all()
        assert tuple(row) == ("Erika Mustermann", "04107", "Leipzig")
        assert [h[0] for h in handled] == ["i-ben", "i-carl"]


def _claimed(lead: Lead) -> Lead:
    return attrs.evolve(lead, status=Status.CLAIMED, holder_id="i-anna", version=lead.version + 1)


def _outbox_rows(repository: SqlAlchemyLeadRepository) -> int:
    with repository.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM qleads_outbox").scalar_one())


class TestHeldUpdates:
    """PostgreSQL holds a unit's conditional update of a lead it read back until the
    unit's next statement or its commit, and then sends it with the held inserts and
    the counters as one statement (``_Statements.folded``); SQLite sends it at once.
    Either way the outcome is the contract's."""

    def test_a_refused_event_after_an_update_stores_nothing(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R13: the update would win, but its event's version exists: StaleUpdate,
        raised by ``append`` (SQLite) or by ``commit`` (PostgreSQL), and the lead stays
        as it was."""
        lead, event = _lead_with_event(repository, "refused", 1, EventKind.RECEIVED)

        def claim_with_a_known_event() -> None:
            with repository.unit_of_work(writing=True) as uow:
                uow.update(_claimed(uow.get(lead.id)), expected_version=1)
                _append_then(uow, [event], uow.commit)

        with pytest.raises(StaleUpdate):
            claim_with_a_known_event()
        with repository.unit_of_work() as uow:
            assert uow.get(lead.id) == lead
            assert [e.version for e in uow.history(lead.id)] == [1]

    def test_an_update_with_many_notices_is_sent_in_parts(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R10: beyond 64 held rows the update goes alone and the rows follow in the
        commit's message; the unit is stored whole, and a lost race stores nothing."""
        with repository.unit_of_work() as uow:
            first, second = uow.add(make_lead("many-1")), uow.add(make_lead("many-2"))
            uow.commit()
        notices = [
            Notification.for_lead(NotificationKind.NEW_LEAD, first, f"i-{n:03}", T0)
            for n in range(70)
        ]
        with repository.unit_of_work(writing=True) as uow:
            uow.update(_claimed(uow.get(first.id)), expected_version=1)
            uow.enqueue(notices)
            uow.commit()
        assert _outbox_rows(repository) == 70

        def lose_with_many_notices() -> None:
            with repository.unit_of_work() as late:
                seen = late.get(second.id)
                with repository.unit_of_work(writing=True) as uow:
                    uow.update(_claimed(uow.get(second.id)), expected_version=1)
                    uow.commit()
                late.update(_claimed(seen), expected_version=1)
                late.enqueue(
                    [
                        Notification.for_lead(NotificationKind.NEW_LEAD, second, f"i-{n:03}", T0)
                        for n in range(70)
                    ]
                )
                late.commit()

        with pytest.raises(StaleUpdate):
            lose_with_many_notices()
        assert _outbox_rows(repository) == 70
        with repository.unit_of_work() as uow:
            assert uow.get(first.id).version == uow.get(second.id).version == 2


@contextlib.contextmanager
def _wire(uow: UnitOfWork) -> Iterator[list[str]]:
    """What a PostgreSQL unit of work sends to the server inside the block: libpq's
    trace of its connection, one entry per message (``Parse "" "BEGIN"``, ``Sync``, …),
    filled in when the block ends."""
    from psycopg import pq

    driver = uow._connection.pooled.driver_connection  # type: ignore[attr-defined]
    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        fd = os.dup(trace.fileno())
        driver.pgconn.trace(fd)
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            driver.pgconn.untrace()
            os.close(fd)
        trace.seek(0)
        for line in trace:
            direction, _length, message, *rest = line.rstrip("\n").split("\t")
            if direction == "F":
                sent.append(" ".join([message, *rest]).strip())


def _round_trips(sent: list[str]) -> int:
    """Each ``Sync`` (extended protocol) and each ``Query`` (simple protocol) waits for
    the server's answer."""
    return sum(1 for m in sent if m == "Sync" or m.startswith("Query"))


def _transaction_statements(sent: list[str]) -> list[str]:
    return [m for m in sent for word in ("BEGIN", "COMMIT", "ROLLBACK") if f'"{word}"' in m]


@pytest.mark.postgres
class TestPostgresRoundTrips:
    """On PostgreSQL a unit of work runs in autocommit and sends ``BEGIN`` only before a
    write that cannot wait or a read that locks (``SqlAlchemyUnitOfWork._begin``)."""

    @pytest.fixture
    def repository(self, postgres_repository: SqlAlchemyLeadRepository) -> SqlAlchemyLeadRepository:
        return _emptied(postgres_repository)

    def test_a_claim_is_a_read_and_one_statement(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R3: a claim is the read, then the conditional update, its event and
        the counters as one statement (atomic alone): two round trips, no ``BEGIN`` and
        no ``COMMIT``; and what it stored is the whole claim."""
        with repository.unit_of_work() as uow:
            lead = uow.add(make_lead("one-statement"))
            uow.commit()
        with repository.unit_of_work(writing=True) as uow, _wire(uow) as sent:
            claimed = _claimed(uow.get(lead.id))
            uow.update(claimed, expected_version=1)
            uow.append([_event(lead.id, 2, EventKind.CLAIMED)])
            uow.commit()
        assert _round_trips(sent) == 2, sent
        assert _transaction_statements(sent) == []
        with repository.unit_of_work() as uow:
            assert uow.get(lead.id) == claimed
            assert [e.kind for e in uow.history(lead.id)] == [EventKind.CLAIMED]
            tabs = [query_for(Scope(None), tab) for tab in Tab]
            counted = uow.counts(tabs)
        repository.recount()
        with repository.unit_of_work() as uow:
            assert uow.counts(tabs) == counted

    def test_a_unit_that_only_reads_sends_only_its_reads(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R8: a tab page and its counts, one round trip each, in no transaction."""
        with repository.unit_of_work() as uow:
            uow.add(make_lead("read-only"))
            uow.commit()
        tab = query_for(Scope(None), Tab.AVAILABLE)
        with repository.unit_of_work() as uow, _wire(uow) as sent:
            assert uow.find(tab).total == 1
            assert uow.counts([tab]) == [1]
            uow.commit()
        assert _round_trips(sent) == 2, sent
        assert _transaction_statements(sent) == []

    def test_a_locking_read_begins_the_transaction(
        self, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R11: ``due`` locks what it returns until the unit ends, so a second sweeper
        skips it; read outside a transaction, the lock would end with the statement."""
        with repository.unit_of_work() as uow:
            uow.add(make_lead("due", deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, T0)))
            uow.commit()
        with repository.unit_of_work(writing=True) as first, _wire(first) as sent:
            assert [lead.source_id for lead in first.due(T0, 10)] == ["due"]
            with repository.unit_of_work(writing=True) as second:
                assert second.due(T0, 10) == []
            first.commit()
        assert '"BEGIN"' in sent[0], sent  # before the locking SELECT
        with repository.unit_of_work(writing=True) as again:
            assert [lead.source_id for lead in again.due(T0, 10)] == ["due"]

    def test_the_connection_goes_back_to_the_pool_as_it_came(
        self, postgres_module_url: str
    ) -> None:
        """A unit that raised inside its transaction leaves the connection neither in
        autocommit nor in that transaction: the next SQLAlchemy user of the pooled
        connection still gets transactions (here: a rollback that undoes its update)."""
        engine = make_engine(postgres_module_url, pool_size=1, max_overflow=0)
        repository = _emptied(SqlAlchemyLeadRepository(engine))
        with repository.unit_of_work() as uow:
            lead = uow.add(make_lead("pooled"))
            uow.commit()

        def fail_before_the_commit() -> None:
            with repository.unit_of_work(writing=True) as uow:
                uow.update(_claimed(uow.get(lead.id)), expected_version=1)
                uow.history(lead.id)  # sends the update: the transaction is open
                raise RuntimeError("the portal failed before the commit")

        try:
            with pytest.raises(RuntimeError):
                fail_before_the_commit()
            with repository.engine.connect() as conn:
                assert conn.connection.driver_connection.autocommit is False
                conn.exec_driver_sql(
                    "UPDATE qleads_lead SET version = 7 WHERE id = %(id)s", {"id": lead.id}
                )
                conn.rollback()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == lead
        finally:
            repository.close()


class TestSourceTokens:
    @pytest.fixture
    def people(self, directory: SqlAlchemyDirectory) -> SqlAlchemyDirectory:
        directory.add_source(LeadSource("solarrechner", "Solarrechner"), token="s3cret-token")
        return directory

    def test_source_by_token_stores_only_the_hash(
        self, people: SqlAlchemyDirectory, repository: SqlAlchemyLeadRepository
    ) -> None:
        """R12: the intake API authenticates a source by token; the token itself is
        never stored."""
        assert people.source_by_token("s3cret-token") == LeadSource("solarrechner", "Solarrechner")
        assert people.source_by_token("wrong") is None
        with repository.engine.connect() as conn:
            stored = conn.execute(sa.select(source_table.c.token_hash)).scalar()
        assert stored == hash_token("s3cret-token") != "s3cret-token"
        people.set_source_token("solarrechner", "rotated")
        assert people.source_by_token("s3cret-token") is None
        assert people.source_by_token("rotated") is not None
        people.set_source_token("solarrechner", None)
        assert people.source_by_token("rotated") is None

    def test_a_token_for_an_unknown_source_is_invalid_input(
        self, people: SqlAlchemyDirectory
    ) -> None:
        """R15: a portal's form errors come back as InvalidInput, never a driver error
        (the directory contract checks the same for every other write)."""
        with pytest.raises(InvalidInput, match="no lead source"):
            people.set_source_token("nobody", "t")
        assert people.source_by_token("t") is None


class TestSqlOutboxTransactions:
    """What only the SQL outbox can promise: the message joins its caller's transaction,
    and the database itself refuses a done row that still holds content. Each test has
    a database of its own: one of them drops the outbox table."""

    @pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
    def outbox(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlAlchemyOutbox]:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'outbox.db'}"
        else:
            url = request.getfixturevalue("postgres_url")
        engine = make_engine(url)
        metadata.create_all(engine)
        yield SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine))
        engine.dispose()

    def test_a_message_enqueued_in_a_rolled_back_transaction_is_not_stored(
        self, outbox: SqlAlchemyOutbox
    ) -> None:
        with outbox.engine.connect() as conn:
            conn.execution_options(qleads_write=True)
            with conn.begin() as transaction:
                assert outbox.enqueue_message(message(), connection=conn) is True
                transaction.rollback()
        assert outbox.entries() == []
        with outbox.engine.connect() as conn:
            conn.execution_options(qleads_write=True)
            with conn.begin():
                outbox.enqueue_message(message(), connection=conn)
        assert [e.key for e in outbox.entries()] == ["password-reset:7:a1b2"]

    def test_a_driver_error_in_the_callers_transaction_is_a_storage_error(
        self, outbox: SqlAlchemyOutbox
    ) -> None:
        with outbox.engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE qleads_outbox")
            conn.commit()
            with pytest.raises(StorageError):
                outbox.enqueue_message(message(), connection=conn)

    @pytest.mark.parametrize("state", ["sent", "failed"])
    def test_the_database_refuses_a_done_message_that_keeps_its_content(
        self, outbox: SqlAlchemyOutbox, state: str
    ) -> None:
        outbox.enqueue_message(message())
        with pytest.raises(sa.exc.IntegrityError), outbox.engine.begin() as conn:
            conn.execute(sa.text("UPDATE qleads_outbox SET state = :state"), {"state": state})

    def test_the_database_refuses_a_message_row_that_names_a_lead(
        self, outbox: SqlAlchemyOutbox
    ) -> None:
        outbox.enqueue_message(message())
        with pytest.raises(sa.exc.IntegrityError), outbox.engine.begin() as conn:
            conn.execute(sa.text("UPDATE qleads_outbox SET lead_id = 1"))
