"""The migrations shipped in the package and ``qleads db upgrade URL``: an empty database
upgraded to head has exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qleads.adapters.sql import make_engine, metadata
from qleads.adapters.sql.migrations import (
    Upgrade,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from qleads.adapters.sql.schema import ALEMBIC_VERSION_TABLE, DIALECT_INDEXES
from qleads.cli import DATABASE_URL_ENV, main


def _differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the code."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "version_table": ALEMBIC_VERSION_TABLE,
                    "include_object": lambda obj, name, type_, reflected, other: (
                        not (type_ == "table" and name == ALEMBIC_VERSION_TABLE)
                        and DIALECT_INDEXES.get(name, conn.dialect.name) == conn.dialect.name
                    ),
                },
            )
            diffs: list[object] = list(compare_metadata(context, metadata))
    finally:
        engine.dispose()
    if url.startswith("sqlite"):
        # SQLite has no IDENTITY: INTEGER PRIMARY KEY is its rowid alias and numbers rows
        # itself, so the Identity() the metadata declares for PostgreSQL cannot show up.
        diffs = [d for d in diffs if not _is_sqlite_identity(d)]
    return diffs


def _check_constraints(url: str) -> dict[str, set[str]]:
    """The named check constraints of every qleads table, by table. Alembic's comparison
    leaves them out, so the metadata check compares their names here. 0001 and 0002
    passed full names through the naming convention, which doubled their prefix: such a
    name counts as the one the metadata declares."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        found = {}
        for table in metadata.sorted_tables:
            doubled = f"ck_{table.name}_ck_{table.name}_"
            found[table.name] = {
                str(c["name"]).replace(doubled, f"ck_{table.name}_")
                for c in inspector.get_check_constraints(table.name)
            }
        return found
    finally:
        engine.dispose()


def _declared_check_constraints() -> dict[str, set[str]]:
    return {
        table.name: {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        for table in metadata.sorted_tables
    }


def _is_sqlite_identity(diff: object) -> bool:
    changes = diff if isinstance(diff, list) else [diff]
    return all(
        isinstance(c, tuple) and c[0] == "modify_default" and isinstance(c[-1], sa.Identity)
        for c in changes
    )


def _lead_indexes(engine: sa.Engine) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes("qleads_lead")}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _downgrade(engine: sa.Engine, revision: str) -> None:
    """Alembic's downgrade on a write connection of ``engine`` (qleads ships none)."""
    with engine.connect() as conn:
        conn.execution_options(qleads_write=True)
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


class TestUpgrade:
    def test_empty_database_matches_the_metadata(self, empty_url: str) -> None:
        """An empty database upgraded to head has exactly the declared tables, columns,
        types, defaults, indexes and constraints."""
        assert upgrade(empty_url) == Upgrade(None, head_revision())
        assert _differences(empty_url) == []
        assert {t.name for t in metadata.sorted_tables} | {ALEMBIC_VERSION_TABLE} == _tables(
            empty_url
        )
        assert _check_constraints(empty_url) == _declared_check_constraints()

    def test_upgrading_twice_changes_nothing(self, empty_url: str) -> None:
        upgrade(empty_url)
        again = upgrade(empty_url)
        assert again == Upgrade(head_revision(), head_revision())
        assert not again.changed
        assert current_revision(empty_url) == head_revision()

    def test_an_untouched_database_has_no_revision(self, empty_url: str) -> None:
        assert current_revision(empty_url) is None

    def test_downgrade_removes_only_qleads_tables(self, empty_url: str) -> None:
        """The portal's own tables in the same database are not qleads' business."""
        engine = make_engine(empty_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE portal_user (id INTEGER PRIMARY KEY)")
        upgrade(engine)
        _downgrade(engine, "base")
        engine.dispose()
        assert _tables(empty_url) == {"portal_user", ALEMBIC_VERSION_TABLE}
        assert current_revision(empty_url) is None

    @pytest.mark.postgres
    def test_concurrent_upgrades_on_postgres_both_succeed(self, postgres_url: str) -> None:
        """Several app instances may run ``qleads db upgrade`` at deploy time at once."""
        results: list[str | None] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(upgrade(postgres_url).after)
            except BaseException as e:  # collected and asserted below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert results == [head_revision()] * 3
        assert _differences(postgres_url) == []

    @pytest.mark.postgres
    def test_concurrent_deployments_on_postgres_all_succeed(self, postgres_url: str) -> None:
        """Three hosts run the console command at once: the advisory lock lets one
        create the schema, the others find it current."""
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "qleads.cli", "db", "upgrade", postgres_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
        assert sum("upgraded" in out for _, out, _ in outcomes) == 1
        assert _differences(postgres_url) == []

    def test_sqlite_leads_of_a_0003_database_are_counted_after_the_upgrade(
        self, tmp_path: Path
    ) -> None:
        """R8: leads a 0003 database got around the unit of work are counted by 0004's
        recount, and from then on its triggers count every write; 0006's covering index
        replaces 0005's, and 0008 adds its partial twin of closed leads. Downgrading to
        0003 drops the triggers and those indexes."""
        url = f"sqlite:///{tmp_path / 'old.db'}"
        assert upgrade(url, "0003").after == "0003"
        engine = make_engine(url)
        insert = (
            "INSERT INTO qleads_lead (source_id, fingerprint, received_at, territory_id, "
            "status, status_at, holder_id, version, document, name, postal_code, city) "
            "VALUES (?, 'f', '2026-01-05 09:00:00.000000', ?, ?, "
            "'2026-01-05 09:00:00.000000', ?, 1, '{}', 'n', '04109', 'Leipzig')"
        )
        rows = [("a", "t-1", "new", None), ("b", "t-1", "claimed", "i-1"), ("c", None, "new", None)]

        def counters() -> dict[tuple[str, str, int], int]:
            with engine.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT territory_id, status, held, n FROM qleads_lead_count WHERE n <> 0"
                )
                return {(t, s, h): n for t, s, h, n in found}

        with engine.begin() as conn:
            for row in rows:
                conn.exec_driver_sql(insert, row)
        assert counters() == {}  # 0003 counted only what existed when it ran
        assert upgrade(url).after == head_revision()
        expected = {("t-1", "new", 0): 1, ("t-1", "claimed", 1): 1, ("", "new", 0): 1}
        assert counters() == expected
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE qleads_lead SET territory_id = 't-2' WHERE source_id = 'c'"
            )
            conn.exec_driver_sql(insert, ("d", "t-2", "new", None))
        assert counters() == {("t-1", "new", 0): 1, ("t-1", "claimed", 1): 1, ("t-2", "new", 0): 2}
        indexes = _lead_indexes(engine)
        assert "ix_qleads_lead_territory_received_rows" in indexes  # 0006 replaced 0005's
        assert "ix_qleads_lead_territory_received" not in indexes
        assert "ix_qleads_lead_territory_closed_rows" in indexes  # 0008
        _downgrade(engine, "0003")
        with engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).scalars()
            assert set(triggers) == {"qleads_lead_count_deleted"}
        indexes = _lead_indexes(engine)
        assert not {i for i in indexes if i.startswith("ix_qleads_lead_territory_")} - {
            "ix_qleads_lead_territory_status_received"  # 0001's
        }
        engine.dispose()

    @pytest.mark.postgres
    def test_postgres_0007_and_0008_include_the_rows_in_the_territory_indexes(
        self, postgres_url: str
    ) -> None:
        """R8: 0007 swaps 0005's index for one that includes every column of a tab row
        but ``previous_holders``, 0008 adds its partial twin of closed leads; the leads
        are kept, and the downgrade swaps back."""
        assert upgrade(postgres_url, "0006").after == "0006"
        engine = make_engine(postgres_url)

        def definitions() -> dict[str, str]:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'qleads_lead' "
                    "AND indexname LIKE 'ix_qleads_lead_territory_%%'"
                )
                return {str(name): str(definition) for name, definition in rows}

        assert set(definitions()) == {
            "ix_qleads_lead_territory_received",
            "ix_qleads_lead_territory_status_received",
        }
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO qleads_lead (source_id, fingerprint, received_at, territory_id, "
                "status, status_at, version, document, name, postal_code, city) VALUES "
                "('a', 'f', now(), 't-1', 'new', now(), 1, '{}', 'n', '04109', 'Leipzig')"
            )
        assert upgrade(postgres_url).after == head_revision()
        found = definitions()
        assert set(found) == {
            "ix_qleads_lead_territory_received_included",
            "ix_qleads_lead_territory_closed_included",
            "ix_qleads_lead_territory_status_received",
        }
        included = (
            "(territory_id, received_at, id) INCLUDE (status, status_at, holder_id, "
            "hold_until, due_at, deadline_kind, deadline_at, version, name, postal_code, city)"
        )
        assert found["ix_qleads_lead_territory_received_included"].endswith(included)
        closed = found["ix_qleads_lead_territory_closed_included"]
        assert f"{included} WHERE " in closed, closed
        assert "'order_placed'" in closed, closed
        assert "'unsuccessful'" in closed, closed
        _downgrade(engine, "0006")
        assert set(definitions()) == {
            "ix_qleads_lead_territory_received",
            "ix_qleads_lead_territory_status_received",
        }
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM qleads_lead").scalar_one() == 1
        engine.dispose()


class TestOutboxMessages:
    def test_0009_keeps_the_notifications_and_takes_messages(self, empty_url: str) -> None:
        """R10: a 0008 outbox with a notification row upgrades to head (on SQLite by
        rebuilding the table) without losing it, matches the metadata, and stores an
        embedder's message; the downgrade deletes the messages and keeps the rest."""
        from qleads.adapters.sql import SqlAlchemyLeadRepository
        from qleads.adapters.sql.outbox import SqlAlchemyOutbox
        from qleads.mail import OutboxMessage, RenderedMail

        assert upgrade(empty_url, "0008").after == "0008"
        engine = make_engine(empty_url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO qleads_outbox (key, kind, lead_id, recipient_id, created_at, "
                    "next_attempt_at) VALUES ('1:1:new_lead:anna', 'new_lead', 1, 'anna', "
                    ":at, :at)"
                ),
                {"at": "2026-01-05 09:00:00.000000+00:00"},
            )
        assert upgrade(engine).after == head_revision()
        assert _differences(empty_url) == []
        assert _check_constraints(empty_url) == _declared_check_constraints()
        outbox = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine))
        at = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
        outbox.enqueue_message(
            OutboxMessage("welcome:1", "anna@example.org", RenderedMail("Hallo", "Text"), at)
        )
        assert [(e.key, e.kind) for e in outbox.entries()] == [
            ("1:1:new_lead:anna", "new_lead"),
            ("welcome:1", "message"),
        ]
        _downgrade(engine, "0008")
        with engine.connect() as conn:
            keys = conn.exec_driver_sql("SELECT key FROM qleads_outbox").scalars().all()
            columns = {c["name"]: c for c in sa.inspect(conn).get_columns("qleads_outbox")}
        assert keys == ["1:1:new_lead:anna"]
        assert not columns.keys() & {"to_address", "subject", "body_text", "body_html"}
        assert not columns["lead_id"]["nullable"]
        assert not columns["recipient_id"]["nullable"]
        assert upgrade(engine).after == head_revision()  # and up again
        engine.dispose()


class TestCommandLine:
    def test_db_upgrade_creates_and_reports_one_line(
        self, empty_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["db", "upgrade", empty_url]) == 0
        out = capsys.readouterr().out
        assert out.count("\n") == 1
        assert "upgraded" in out
        assert head_revision() in out
        assert _differences(empty_url) == []
        assert main(["db", "upgrade", empty_url]) == 0
        assert "up to date" in capsys.readouterr().out

    def test_url_from_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = f"sqlite:///{tmp_path / 'env.db'}"
        monkeypatch.setenv(DATABASE_URL_ENV, url)
        assert main(["db", "upgrade"]) == 0
        assert current_revision(url) == head_revision()

    def test_the_password_is_not_printed(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["db", "upgrade", "postgresql://qleads:hunter2@127.0.0.1:1/none"]) == 1
        captured = capsys.readouterr()
        assert "hunter2" not in captured.out + captured.err

    def test_no_url_is_a_usage_error(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
        assert main(["db", "upgrade"]) == 2
        assert DATABASE_URL_ENV in capsys.readouterr().err

    @pytest.mark.parametrize("url", ["mysql://u@h/db", "::not a url::"])
    def test_an_unsupported_url_is_a_usage_error(
        self, url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["db", "upgrade", url]) == 2
        assert capsys.readouterr().err.startswith("qleads: ")

    def test_an_unreachable_database_is_a_failure(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["db", "upgrade", "postgresql://postgres@127.0.0.1:1/none"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("qleads: ")
        assert err.count("\n") == 1

    @pytest.mark.parametrize(
        ("argv", "code"), [([], 2), (["db"], 2), (["bogus"], 2), (["--help"], 0)]
    )
    def test_usage(self, argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(argv) == code
        capsys.readouterr()
