"""The LeadDesk state machine on the SQLAlchemy adapter: SQLite and PostgreSQL.

Every example starts from an empty, migrated database: on SQLite a copy of a file that was
migrated once, on PostgreSQL one database per module, emptied between examples.
QLEADS_STATEFUL_SQL_EXAMPLES sets the number of examples (25 by default).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from qleads.adapters.sql import SqlAlchemyLeadRepository, metadata
from qleads.ports import LeadRepository
from qleads.testing.stateful import make_machine

SETTINGS = settings(
    max_examples=int(os.environ.get("QLEADS_STATEFUL_SQL_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _close(repository: LeadRepository) -> None:
    assert isinstance(repository, SqlAlchemyLeadRepository)
    repository.close()


def test_desk_keeps_every_invariant_on_sqlite(tmp_path: Path) -> None:
    """R2–R8, R11, R13 on a SQLite file: the same invariants as in memory."""
    template = tmp_path / "template.db"
    migrated = SqlAlchemyLeadRepository.from_url(f"sqlite:///{template}")
    migrated.upgrade_schema()
    migrated.close()  # checkpoints the WAL: the copy must hold the whole schema
    numbers = itertools.count()

    def fresh() -> LeadRepository:
        path = tmp_path / f"example-{next(numbers)}.db"
        shutil.copyfile(template, path)
        return SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")

    run_state_machine_as_test(make_machine(fresh, dispose=_close), settings=SETTINGS)


@pytest.fixture
def postgres_repository(postgres_url: str) -> Iterator[SqlAlchemyLeadRepository]:
    repository = SqlAlchemyLeadRepository.from_url(postgres_url)
    repository.upgrade_schema()
    yield repository
    repository.close()


@pytest.mark.postgres
def test_desk_keeps_every_invariant_on_postgres(
    postgres_repository: SqlAlchemyLeadRepository,
) -> None:
    """R2–R8, R11, R13 on PostgreSQL: the same invariants as in memory."""
    tables = ", ".join(t.name for t in metadata.sorted_tables)

    def emptied() -> LeadRepository:
        with postgres_repository.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        return postgres_repository

    run_state_machine_as_test(make_machine(emptied), settings=SETTINGS)
