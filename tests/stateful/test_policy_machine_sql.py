"""The LeadDesk state machine with a policy of its own (the ladder, decline reasons,
duplicates: qleads.testing.stateful_policy.POLICY_WITH_A_LADDER) on SQLite and PostgreSQL:
the same invariants as in memory."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from qleads.adapters.sql import SqlAlchemyLeadRepository, metadata
from qleads.ports import LeadRepository
from qleads.testing.profiles import examples
from qleads.testing.stateful import make_machine
from qleads.testing.stateful_policy import POLICY_WITH_A_LADDER

# Fewer than the main machine's 25 on each database: the ladder's steps are
# its steps plus the ladder, and each example is a round of units of work per step.
SETTINGS = settings(
    max_examples=examples(0.15),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class _Databases:
    template: Path | None = None
    postgres: SqlAlchemyLeadRepository | None = None
    copies = itertools.count()


def _close(repository: LeadRepository) -> None:
    assert isinstance(repository, SqlAlchemyLeadRepository)
    repository.close()


def _copy_of_the_template() -> LeadRepository:
    template = _Databases.template
    assert template is not None, "the sqlite_template fixture did not run"
    path = template.with_name(f"policy-{next(_Databases.copies)}.db")
    shutil.copyfile(template, path)
    return SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")


def _emptied_postgres() -> LeadRepository:
    repository = _Databases.postgres
    assert repository is not None, "the postgres_database fixture did not run"
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with repository.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return repository


@pytest.fixture
def sqlite_template(tmp_path: Path) -> Iterator[None]:
    template = tmp_path / "template.db"
    migrated = SqlAlchemyLeadRepository.from_url(f"sqlite:///{template}")
    migrated.upgrade_schema()
    migrated.close()
    _Databases.template = template
    yield
    _Databases.template = None


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[None]:
    repository = SqlAlchemyLeadRepository.from_url(postgres_url)
    repository.upgrade_schema()
    _Databases.postgres = repository
    yield
    _Databases.postgres = None
    repository.close()


TestLadderOnSqliteKeepsEveryInvariant = make_machine(
    _copy_of_the_template, dispose=_close, policy=POLICY_WITH_A_LADDER
).TestCase
TestLadderOnSqliteKeepsEveryInvariant.settings = SETTINGS
pytest.mark.slow(pytest.mark.usefixtures("sqlite_template")(TestLadderOnSqliteKeepsEveryInvariant))

TestLadderOnPostgresKeepsEveryInvariant = make_machine(
    _emptied_postgres, policy=POLICY_WITH_A_LADDER
).TestCase
TestLadderOnPostgresKeepsEveryInvariant.settings = SETTINGS
pytest.mark.slow(
    pytest.mark.postgres(
        pytest.mark.usefixtures("postgres_database")(TestLadderOnPostgresKeepsEveryInvariant)
    )
)
