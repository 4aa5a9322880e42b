"""Property (R8): the maintained tab counters always equal a count of the leads.

``qleads_lead_count`` is written by the unit of work just before ``COMMIT`` on
PostgreSQL and by triggers on SQLite (migration 0004). Whatever
mix of intakes, updates (of leads the unit read and of leads it did not), stale updates,
duplicate intakes, rollbacks and abandoned units runs, after it the counters equal
``COUNT(*)`` of the lead table per (territory, status, held) cell — on SQLite under
hypothesis, on PostgreSQL for a fixed random run and under concurrent writers that
share cells (no deadlock, nothing lost).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qleads.adapters.sql import SqlAlchemyLeadRepository
from qleads.errors import IntakeConflict, StaleUpdate
from qleads.lifecycle import Status
from qleads.model import Lead
from qleads.testing.profiles import examples
from qleads.testing.world import make_lead

TERRITORIES = (None, "t-leipzig", "t-dresden")
HOLDERS = (None, "i-anna", "i-ben")
STATUSES = tuple(Status)


def _reset(repository: SqlAlchemyLeadRepository) -> None:
    with repository.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE qleads_lead RESTART IDENTITY CASCADE")
        else:
            conn.exec_driver_sql("DELETE FROM qleads_lead_handled")
            conn.exec_driver_sql("DELETE FROM qleads_lead")


def _counters(repository: SqlAlchemyLeadRepository) -> dict[tuple[str, str, int], int]:
    with repository.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT territory_id, status, held, n FROM qleads_lead_count WHERE n <> 0"
        ).all()
    return {(r[0], r[1], int(r[2])): int(r[3]) for r in rows}


def _counted(repository: SqlAlchemyLeadRepository) -> dict[tuple[str, str, int], int]:
    with repository.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT COALESCE(territory_id, ''), status, "
            "CASE WHEN holder_id IS NULL THEN 0 ELSE 1 END, count(*) "
            "FROM qleads_lead GROUP BY 1, 2, 3"
        ).all()
    return {(r[0], r[1], int(r[2])): int(r[3]) for r in rows}


def _moved(lead: Lead, territory: str | None, status: Status, holder: str | None) -> Lead:
    return attrs.evolve(
        lead, territory_id=territory, status=status, holder_id=holder, version=lead.version + 1
    )


#: One operation: (kind, lead index, territory, status, holder, end of the unit).
operations = st.lists(
    st.tuples(
        st.sampled_from(("add", "move", "blind_move", "stale", "duplicate")),
        st.integers(0, 30),
        st.sampled_from(TERRITORIES),
        st.sampled_from(STATUSES),
        st.sampled_from(HOLDERS),
        st.sampled_from(("commit", "commit", "rollback", "abandon", "rollback_then_commit")),
    ),
    max_size=30,
)


def _run(repository: SqlAlchemyLeadRepository, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    """Each operation in a unit of work of its own, ended as the operation says."""
    _reset(repository)
    with repository.unit_of_work() as uow:
        seed = uow.add(make_lead("c-seed"))
        uow.commit()
    known: list[tuple[int, int]] = [(seed.id, seed.version)]  # (id, committed version)
    for serial, (kind, index, territory, status, holder, end) in enumerate(ops):
        with repository.unit_of_work() as uow:
            change: tuple[int, int] | None = None
            if kind == "add" or not known:
                lead = uow.add(
                    make_lead(
                        f"c-{serial}", territory_id=territory, status=status, holder_id=holder
                    )
                )
                change = (lead.id, lead.version)
            elif kind == "duplicate":
                with pytest.raises(IntakeConflict):
                    uow.add(make_lead("c-seed"))
            else:
                lead_id, version = known[index % len(known)]
                if kind == "move":
                    lead = uow.get(lead_id)
                    uow.update(_moved(lead, territory, status, holder), expected_version=version)
                    change = (lead_id, version + 1)
                else:
                    # Read in another unit: this one updates a lead it never read.
                    with repository.unit_of_work() as other:
                        stored = other.get(lead_id)
                    moved = _moved(stored, territory, status, holder)
                    if kind == "stale":
                        with pytest.raises(StaleUpdate):
                            uow.update(
                                attrs.evolve(moved, version=version),
                                expected_version=version - 1,
                            )
                    else:
                        uow.update(moved, expected_version=version)
                        change = (lead_id, version + 1)
            if end == "rollback":
                uow.rollback()
                change = None
            elif end == "rollback_then_commit":
                uow.rollback()
                uow.commit()
                change = None
            elif end == "commit":
                uow.commit()
            else:
                change = None  # leaving the block without commit rolls back
        if change is not None:
            if kind == "add" or not known:
                known.append(change)
            else:
                known[index % len(known)] = change
    assert _counters(repository) == _counted(repository)


@pytest.fixture(scope="module")
def sqlite_repository(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SqlAlchemyLeadRepository]:
    path: Path = tmp_path_factory.mktemp("counts") / "counts.db"
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    repository.upgrade_schema()
    yield repository
    repository.close()


@pytest.fixture(scope="module")
def postgres_repository(postgres_module_url: str) -> Iterator[SqlAlchemyLeadRepository]:
    repository = SqlAlchemyLeadRepository.from_url(
        postgres_module_url, pool_size=10, max_overflow=10
    )
    repository.upgrade_schema()
    yield repository
    repository.close()


class TestCountersEqualTheLeads:
    @settings(
        max_examples=examples(0.8), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(ops=operations)
    def test_on_sqlite(self, sqlite_repository: SqlAlchemyLeadRepository, ops: list) -> None:  # type: ignore[type-arg]
        """R8: after any mix of writes, rollbacks and stale updates, the counters are
        the counts (SQLite)."""
        _run(sqlite_repository, ops)

    @pytest.mark.postgres
    def test_on_postgres(self, postgres_repository: SqlAlchemyLeadRepository) -> None:
        """R8: the same on PostgreSQL, for a fixed random run of 300 operations."""
        rng = random.Random(3)
        ops = [
            (
                rng.choice(("add", "move", "blind_move", "stale", "duplicate")),
                rng.randrange(31),
                rng.choice(TERRITORIES),
                rng.choice(STATUSES),
                rng.choice(HOLDERS),
                rng.choice(("commit", "commit", "rollback", "abandon", "rollback_then_commit")),
            )
            for _ in range(300)
        ]
        _run(postgres_repository, ops)

    def test_sqlite_triggers_count_writes_made_around_qleads(
        self, sqlite_repository: SqlAlchemyLeadRepository
    ) -> None:
        """R8: on SQLite the triggers of migration 0004 keep the counters, so hand-written
        inserts and updates leave them right as well."""
        _reset(sqlite_repository)
        _run(sqlite_repository, [("add", 0, "t-leipzig", Status.NEW, None, "commit")])
        with sqlite_repository.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE qleads_lead SET status = 'order_placed', holder_id = 'x'")
            conn.exec_driver_sql(
                "INSERT INTO qleads_lead (source_id, fingerprint, received_at, territory_id, "
                "status, status_at, version, document, name, postal_code, city) "
                "SELECT 'by-hand', fingerprint, received_at, NULL, 'claimed', status_at, 1, "
                "document, name, postal_code, city FROM qleads_lead LIMIT 1"
            )
            conn.exec_driver_sql(
                "UPDATE qleads_lead SET territory_id = 't-dresden', holder_id = 'i-anna' "
                "WHERE source_id = 'by-hand'"
            )
        counters = _counters(sqlite_repository)
        assert counters == _counted(sqlite_repository)
        assert counters[("t-dresden", "claimed", 1)] == 1
        assert ("t-leipzig", "new", 0) not in counters
        assert ("t-leipzig", "order_placed", 1) in counters

    @pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
    )
    def test_recount_rebuilds_them(self, backend: str, request: pytest.FixtureRequest) -> None:
        """R8: counters that went wrong (on PostgreSQL: leads written around the unit of
        work; anywhere: the counter table edited by hand) are made right by ``recount``."""
        repository: SqlAlchemyLeadRepository = request.getfixturevalue(f"{backend}_repository")
        _reset(repository)
        _run(repository, [("add", 0, "t-leipzig", Status.NEW, None, "commit")])
        with repository.engine.begin() as conn:
            if backend == "postgres":
                conn.exec_driver_sql(
                    "UPDATE qleads_lead SET status = 'order_placed', holder_id = 'x'"
                )
            else:
                conn.exec_driver_sql("UPDATE qleads_lead_count SET n = n + 5")
        assert _counters(repository) != _counted(repository)
        repository.recount()
        assert _counters(repository) == _counted(repository)


@pytest.mark.postgres
class TestConcurrentWritersShareCounters:
    THREADS = 8
    ROUNDS = 40

    def test_no_deadlock_and_nothing_lost(
        self, postgres_repository: SqlAlchemyLeadRepository
    ) -> None:
        """R3/R11: eight writers move batches of leads between the same few cells at
        once (each unit several leads, in random order, as a sweep batch does): every
        unit commits — counter rows are locked in one global order after the lead rows
        — and the counters equal the counts."""
        _reset(postgres_repository)
        with postgres_repository.unit_of_work() as uow:
            ids = [
                uow.add(make_lead(f"w-{n}", territory_id=TERRITORIES[n % 3])).id
                for n in range(self.THREADS * 6)
            ]
            uow.commit()
        errors: list[BaseException] = []
        barrier = threading.Barrier(self.THREADS)

        def writer(k: int) -> None:
            rng = random.Random(k)
            mine = ids[k * 6 : (k + 1) * 6]
            try:
                barrier.wait()
                for _ in range(self.ROUNDS):
                    with postgres_repository.unit_of_work() as uow:
                        for lead_id in rng.sample(mine, 3):
                            lead = uow.get(lead_id)
                            moved = _moved(
                                lead,
                                rng.choice(TERRITORIES),
                                rng.choice(STATUSES),
                                rng.choice(HOLDERS),
                            )
                            uow.update(moved, expected_version=lead.version)
                        uow.commit()
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert _counters(postgres_repository) == _counted(postgres_repository)
        assert sum(_counters(postgres_repository).values()) == len(ids)
