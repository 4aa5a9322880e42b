"""Races on a real database (R3, R4, R11): many claimers, parallel sweeping processes,
and a status record racing the claim's own expiry — on a SQLite file and on PostgreSQL.

Every test drives :class:`~qleads.desk.LeadDesk` through the SQL adapters exactly as a
portal would; the database's conditional update is the only referee.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, metadata
from qleads.adapters.sql.schema import event_table, outbox_table
from qleads.calendar import Calendar
from qleads.desk import SweepReport
from qleads.errors import (
    ClaimExpired,
    LeadNoLongerAvailable,
    NotPermitted,
    QleadsError,
    StaleUpdate,
)
from qleads.lifecycle import Status
from qleads.model import (
    Deadline,
    DeadlineKind,
    EventKind,
    Installer,
    SalesRep,
    Territory,
)
from qleads.testing.world import Cast, World, make_document, make_lead

pytestmark = pytest.mark.slow

UTC = dt.UTC
#: Friday 2026-11-13 16:00 in Leipzig: claims placed now hold until Tuesday.
NOW = dt.datetime(2026, 11, 13, 15, 0, tzinfo=UTC)
CLAIMERS = 100
ROUNDS = 30
_TRUNCATE = ", ".join(t.name for t in metadata.sorted_tables)


_SAXONY = Calendar("DE", "SN")


def _racers(installers: int) -> Cast:
    """The rep of Leipzig with ``installers`` installers, who race for its leads."""
    return Cast(
        reps=(SalesRep("r-ost", "Rita Ost", "rita@example.org", calendar=_SAXONY),),
        territories=(Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-ost"),),
        installers=tuple(
            Installer(
                f"i-{n:03d}", f"Installer {n}", f"i{n}@example.org", "r-ost", calendar=_SAXONY
            )
            for n in range(installers)
        ),
    )


def _world(url: str, installers: int, **engine_kwargs: Any) -> World:
    """The racers' world on the database at ``url``, enrolled by the first process that
    gets there."""
    repository = SqlAlchemyLeadRepository.from_url(url, **engine_kwargs)
    repository.upgrade_schema()
    directory = SqlAlchemyDirectory(repository.engine)
    return World(
        repository,
        directory=directory,
        now=NOW,
        cast=_racers(installers),
        enrol=directory.rep("r-ost") is None,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'races.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _pool(url: str) -> dict[str, Any]:
    """A pool every thread can draw from. PostgreSQL's default max_connections is 100 and
    other suites share the server: 50 connections race, the rest queue for the pool."""
    if url.startswith("sqlite"):
        return {"pool_size": CLAIMERS, "max_overflow": 10, "pool_timeout": 120}
    return {"pool_size": 50, "max_overflow": 0, "pool_timeout": 120}


@pytest.fixture
def claim_world(database_url: str) -> Iterator[World]:
    world = _world(database_url, CLAIMERS, **_pool(database_url))
    yield world
    world.repository.close()


def _events(repository: SqlAlchemyLeadRepository, lead_id: int) -> list[EventKind]:
    with repository.unit_of_work() as uow:
        return [e.kind for e in uow.history(lead_id)]


class TestClaimRace:
    def test_exactly_one_of_a_hundred_claims_wins(self, claim_world: World) -> None:
        """R3: 100 installers claim the same lead at the same instant, 30 times over.
        Each round has exactly one winner; the 99 others get LeadNoLongerAvailable and
        nothing else (no deadlock, no "database is locked", no driver error); the
        history holds exactly one claim."""
        world = claim_world
        barrier = threading.Barrier(CLAIMERS, timeout=120)

        def claim(installer: Installer, lead_id: int) -> str:
            barrier.wait()
            try:
                world.desk.claim(installer, lead_id)
            except LeadNoLongerAvailable:
                return "lost"
            return "won"

        with ThreadPoolExecutor(max_workers=CLAIMERS) as pool:
            for round_ in range(ROUNDS):
                lead = world.desk.intake(world.source, make_document(f"race-{round_}")).lead
                futures = [pool.submit(claim, i, lead.id) for i in world.cast.installers]
                outcomes = [f.result(timeout=300) for f in futures]
                assert Counter(outcomes) == {"won": 1, "lost": CLAIMERS - 1}, round_
                winner = world.cast.installers[outcomes.index("won")]
                with world.repository.unit_of_work() as uow:
                    stored = uow.get(lead.id)
                assert stored.status is Status.CLAIMED
                assert stored.holder_id == winner.id
                assert stored.version == 2
                assert _events(world.repository, lead.id) == [EventKind.RECEIVED, EventKind.CLAIMED]


def _seed_due(repository: SqlAlchemyLeadRepository, count: int) -> None:
    """``count`` expired claims and ``count`` due assignment reminders."""
    holders = ["i-000", "i-001", "i-002"]
    past = NOW - dt.timedelta(hours=1)
    drafts = [
        make_lead(
            f"expired-{n}",
            received_at=past - dt.timedelta(days=5),
            status=Status.CLAIMED,
            holder_id=holders[n % 3],
            hold_until=past,
            deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, past - dt.timedelta(seconds=n)),
        )
        for n in range(count)
    ] + [
        make_lead(
            f"assigned-{n}",
            received_at=past - dt.timedelta(days=5),
            status=Status.ASSIGNED,
            holder_id=holders[n % 3],
            deadline=Deadline(DeadlineKind.ASSIGNMENT_REMINDER, past - dt.timedelta(seconds=n)),
        )
        for n in range(count)
    ]
    with repository.unit_of_work() as uow:
        for draft in drafts:
            uow.add(draft)
        uow.commit()


def _tally(repository: SqlAlchemyLeadRepository) -> dict[str, int]:
    """What the sweeps left behind: events by kind, outbox rows (and distinct keys),
    leads still due."""
    with repository.engine.connect() as conn:
        kinds: dict[str, int] = dict(
            conn.execute(
                sa.select(event_table.c.kind, sa.func.count()).group_by(event_table.c.kind)
            ).all()
        )
        rows, keys = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(outbox_table.c.key)))
        ).one()
        due = conn.exec_driver_sql(
            "SELECT count(*) FROM qleads_lead WHERE deadline_at IS NOT NULL"
        ).scalar()
        statuses: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT status, count(*) FROM qleads_lead GROUP BY status").all()
        )
    return {
        **{f"events_{k}": int(v) for k, v in kinds.items()},
        **{f"leads_{k}": int(v) for k, v in statuses.items()},
        "outbox_rows": int(rows),
        "outbox_keys": int(keys),
        "still_due": int(due or 0),
    }


def _sweep_in_process(url: str, barrier: Any, results: Any) -> None:
    """One sweeping worker (a separate process, like one cron job on one host)."""
    world = _world(url, 3, pool_size=2, max_overflow=2)
    try:
        barrier.wait(timeout=120)
        report = world.desk.sweep(NOW, batch_size=100)
        results.put(("ok", attrs.asdict(report)))
    except BaseException as e:  # reported to the parent, which fails the test
        results.put(("error", repr(e)))
    finally:
        world.repository.close()


class TestIntakeRace:
    SENDERS = 20

    def test_the_same_document_sent_at_once_makes_one_lead(self, database_url: str) -> None:
        """R1: the calculator retries and 20 copies of one document arrive at the same
        instant. Exactly one intake creates the lead; the others are answered as replays
        of it (the loser of the insert race included), with one "received" event and one
        set of new-lead notices."""
        world = _world(database_url, 5, **_pool(database_url))
        barrier = threading.Barrier(self.SENDERS, timeout=120)
        document = make_document("retried-0001")

        def send() -> tuple[int, bool]:
            barrier.wait()
            result = world.desk.intake(world.source, document)
            return result.lead.id, result.created

        try:
            with ThreadPoolExecutor(max_workers=self.SENDERS) as pool:
                results = [f.result() for f in [pool.submit(send) for _ in range(self.SENDERS)]]
            assert len({lead_id for lead_id, _ in results}) == 1
            assert sum(created for _, created in results) == 1
            lead_id = results[0][0]
            assert _events(world.repository, lead_id) == [EventKind.RECEIVED]
            notices = [n for n in world.repository.notifications() if n.lead_id == lead_id]
            assert sorted(n.recipient_id for n in notices) == [i.id for i in world.cast.installers]
        finally:
            world.repository.close()


class TestParallelSweeps:
    DUE = 1000
    WORKERS = 4

    def _reset(self, world: World) -> None:
        with world.repository.engine.begin() as conn:
            if world.repository.engine.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    "TRUNCATE qleads_lead, qleads_lead_handled, qleads_event, qleads_outbox "
                    "RESTART IDENTITY CASCADE"
                )
            else:
                for table in (
                    "qleads_outbox",
                    "qleads_event",
                    "qleads_lead_handled",
                    "qleads_lead",
                ):
                    conn.exec_driver_sql(f"DELETE FROM {table}")

    def test_four_processes_fire_each_deadline_once(self, database_url: str) -> None:
        """R11: four processes sweep 1,000 expired claims and 1,000 due reminders at
        once. Every deadline fires exactly once — counted in the reports, the history
        and the outbox — and the totals equal those of a single sweep."""
        world = _world(database_url, 3)
        try:
            _seed_due(world.repository, self.DUE)
            single = world.desk.sweep(NOW, batch_size=100)
            alone = _tally(world.repository)
            assert single == SweepReport(expired=self.DUE, reminded=self.DUE)
            assert world.desk.sweep(NOW).total == 0

            self._reset(world)
            _seed_due(world.repository, self.DUE)
            context = multiprocessing.get_context("spawn")
            barrier = context.Barrier(self.WORKERS)
            results = context.Queue()
            workers = [
                context.Process(target=_sweep_in_process, args=(database_url, barrier, results))
                for _ in range(self.WORKERS)
            ]
            for worker in workers:
                worker.start()
            outcomes = [results.get(timeout=300) for _ in workers]
            for worker in workers:
                worker.join(timeout=60)
            assert [status for status, _ in outcomes] == ["ok"] * self.WORKERS, outcomes
            reports = [SweepReport(**report) for _, report in outcomes]
            assert sum(r.expired for r in reports) == self.DUE
            assert sum(r.reminded for r in reports) == self.DUE
            assert sum(r.total for r in reports) == single.total
            together = _tally(world.repository)
            assert together == alone
            assert together["events_expired"] == self.DUE
            assert together["events_reminded"] == self.DUE
            assert together["outbox_rows"] == together["outbox_keys"]
            assert together["still_due"] == 0
        finally:
            world.repository.close()


class TestRecordRacingExpiry:
    ROUNDS = 20

    def test_one_consistent_outcome(self, database_url: str) -> None:
        """R4/R6: the holder records a work status a second before his hold ends, just
        as a sweep for the end of the hold runs. Exactly one of the two happens: either
        the record stands (and nothing expired) or the lead is back in the pool (and the
        record was refused with a qleads error)."""
        world = _world(database_url, 3, **_pool(database_url))
        anna = world.cast.installers[0]
        outcomes: Counter[str] = Counter()
        try:
            for round_ in range(self.ROUNDS):
                world.clock.set(NOW)
                lead = world.desk.intake(world.source, make_document(f"rx-{round_}")).lead
                hold = world.desk.claim(anna, lead.id).lead.hold_until
                assert hold is not None
                world.clock.set(hold - dt.timedelta(seconds=1))
                record_error, report = _race_record_and_sweep(world, anna, lead.id, hold)
                with world.repository.unit_of_work() as uow:
                    stored = uow.get(lead.id)
                    kinds = [e.kind for e in uow.history(lead.id)]
                assert stored.deadline is None
                if record_error:
                    assert isinstance(record_error[0], StaleUpdate | NotPermitted)
                    assert report.expired == 1
                    assert stored.status is Status.NEW
                    assert stored.holder_id is None
                    assert anna.id in stored.previous_holders
                    assert kinds[-1] is EventKind.EXPIRED
                    assert EventKind.RECORDED not in kinds
                    outcomes["expired"] += 1
                else:
                    assert report.expired == 0
                    assert stored.status is Status.FIRST_CONTACT
                    assert stored.holder_id == anna.id
                    assert kinds[-1] is EventKind.RECORDED
                    assert EventKind.EXPIRED not in kinds
                    outcomes["recorded"] += 1
        finally:
            world.repository.close()
        assert sum(outcomes.values()) == self.ROUNDS

    def test_a_late_record_never_keeps_the_claim(self, database_url: str) -> None:
        """R4: a record after the hold, racing the sweep, is always refused — with
        ClaimExpired if it read the lead before the sweep released it, as not his to
        change if after — and the lead always ends in the pool."""
        world = _world(database_url, 3, **_pool(database_url))
        anna = world.cast.installers[0]
        refusals: Counter[str] = Counter()
        try:
            for round_ in range(self.ROUNDS // 2):
                world.clock.set(NOW)
                lead = world.desk.intake(world.source, make_document(f"late-{round_}")).lead
                world.desk.claim(anna, lead.id)
                world.clock.set(NOW + dt.timedelta(days=7))
                record_error, report = _race_record_and_sweep(world, anna, lead.id)
                assert len(record_error) == 1
                assert isinstance(record_error[0], ClaimExpired | NotPermitted)
                refusals[type(record_error[0]).__name__] += 1
                assert report.expired == 1
                with world.repository.unit_of_work() as uow:
                    stored = uow.get(lead.id)
                    kinds = [e.kind for e in uow.history(lead.id)]
                assert (stored.status, stored.holder_id) == (Status.NEW, None)
                assert kinds[-1] is EventKind.EXPIRED
                assert EventKind.RECORDED not in kinds
        finally:
            world.repository.close()
        assert sum(refusals.values()) == self.ROUNDS // 2


def _race_record_and_sweep(
    world: World, holder: Installer, lead_id: int, sweep_at: dt.datetime | None = None
) -> tuple[list[QleadsError], SweepReport]:
    """Start ``record`` and ``sweep`` (as of ``sweep_at``, default the clock) at the
    same instant; the record's refusal (if any) and the sweep's report."""
    barrier = threading.Barrier(2, timeout=60)
    refused: list[QleadsError] = []
    reports: list[SweepReport] = []

    def record() -> None:
        barrier.wait()
        try:
            world.desk.record(holder, lead_id, Status.FIRST_CONTACT)
        except QleadsError as e:
            refused.append(e)

    def sweep() -> None:
        barrier.wait()
        reports.append(world.desk.sweep(sweep_at))

    _run_together(record, sweep)
    (report,) = reports
    return refused, report


def _run_together(*targets: Callable[[], None]) -> None:
    """Run the targets in threads and re-raise the first unexpected exception."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as e:  # re-raised in the test thread below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
