"""The LeadDesk state machine on the SQLAlchemy adapter: SQLite and PostgreSQL.

Every example starts from an empty, migrated database: on SQLite a copy of a file that was
migrated once, on PostgreSQL one database for the run, emptied between examples. Each
machine runs as its Hypothesis ``.TestCase`` with a quarter of the profile's examples
(``ci``: 25), since every step is a round of units of work on the database.
"""

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
from qleads.testing.stateful_limits import make_limited_machine

SETTINGS = settings(
    max_examples=examples(0.25),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class _Databases:
    """What the fixtures below set up for the machines of this module: Hypothesis makes
    each example's machine itself, so the machines find their database here."""

    template: Path | None = None
    postgres: SqlAlchemyLeadRepository | None = None
    copies = itertools.count()


def _close(repository: LeadRepository) -> None:
    assert isinstance(repository, SqlAlchemyLeadRepository)
    repository.close()


def _copy_of_the_template() -> LeadRepository:
    template = _Databases.template
    assert template is not None, "the sqlite_template fixture did not run"
    path = template.with_name(f"example-{next(_Databases.copies)}.db")
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
    """A SQLite file migrated once; each example copies it."""
    template = tmp_path / "template.db"
    migrated = SqlAlchemyLeadRepository.from_url(f"sqlite:///{template}")
    migrated.upgrade_schema()
    migrated.close()  # checkpoints the WAL: the copy must hold the whole schema
    _Databases.template = template
    yield
    _Databases.template = None


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[None]:
    """A migrated PostgreSQL database for the run; each example empties it."""
    repository = SqlAlchemyLeadRepository.from_url(postgres_url)
    repository.upgrade_schema()
    _Databases.postgres = repository
    yield
    _Databases.postgres = None
    repository.close()


TestDeskOnSqliteKeepsEveryInvariant = make_machine(_copy_of_the_template, dispose=_close).TestCase
TestDeskOnSqliteKeepsEveryInvariant.settings = SETTINGS
TestDeskOnSqliteKeepsEveryInvariant.__doc__ = """R2–R8, R11, R13 on a SQLite file: the
same invariants as in memory."""
pytest.mark.slow(pytest.mark.usefixtures("sqlite_template")(TestDeskOnSqliteKeepsEveryInvariant))

TestDeskOnPostgresKeepsEveryInvariant = make_machine(_emptied_postgres).TestCase
TestDeskOnPostgresKeepsEveryInvariant.settings = SETTINGS
TestDeskOnPostgresKeepsEveryInvariant.__doc__ = """R2–R8, R11, R13 on PostgreSQL: the same
invariants as in memory."""
pytest.mark.slow(
    pytest.mark.postgres(
        pytest.mark.usefixtures("postgres_database")(TestDeskOnPostgresKeepsEveryInvariant)
    )
)

TestClaimLimitsOnSqlite = make_limited_machine(_copy_of_the_template, dispose=_close).TestCase
#: The claim-limit machines add rules to the ones above, which drive the shared steps.
LIMITS_SETTINGS = settings(SETTINGS, max_examples=examples(0.15))

TestClaimLimitsOnSqlite.settings = LIMITS_SETTINGS
TestClaimLimitsOnSqlite.__doc__ = """Claim limits on a SQLite file: a paused installer
never gains a claim, the limits hold."""
pytest.mark.slow(pytest.mark.usefixtures("sqlite_template")(TestClaimLimitsOnSqlite))

TestClaimLimitsOnPostgres = make_limited_machine(_emptied_postgres).TestCase
TestClaimLimitsOnPostgres.settings = LIMITS_SETTINGS
TestClaimLimitsOnPostgres.__doc__ = """Claim limits on PostgreSQL: a paused installer
never gains a claim, the limits hold."""
pytest.mark.slow(
    pytest.mark.postgres(pytest.mark.usefixtures("postgres_database")(TestClaimLimitsOnPostgres))
)
