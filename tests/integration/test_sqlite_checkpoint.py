"""The WAL checkpoint thread of SQLite engines (qleads.adapters.sql.wal).

Observed from outside: the database file grows once the thread has copied the log into
it, although no commit reached the commit-time backstop.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine, stop_checkpoints
from qleads.adapters.sql.wal import BACKSTOP_PAGES, WalCheckpointer
from qleads.errors import ConfigurationError


def _threads(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"qleads-checkpoint {path}"]


def _fill(engine: sa.Engine, rows: int) -> None:
    """About ``rows`` / 4 pages of new data, in one commit."""
    with engine.connect() as conn:
        conn.execution_options(qleads_write=True)
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, t TEXT)")
        conn.exec_driver_sql(
            "INSERT INTO filler (t) VALUES (?)", [("x" * 900,) for _ in range(rows)]
        )
        conn.commit()


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_thread_copies_the_log_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{path}", checkpoint_interval=0.2)
    try:
        assert len(_threads(path)) == 1
        with engine.connect() as conn:
            (backstop,) = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").one()
        assert backstop == BACKSTOP_PAGES
        _fill(engine, 2000)  # ~500 pages: below the backstop, so no commit checkpoints
        before = os.path.getsize(path)
        assert os.path.getsize(f"{path}-wal") > 400 * 4096
        assert _wait_for(lambda: os.path.getsize(path) > before + 400 * 4096)
        # And the data reads back through the engine, whatever the log holds.
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 2000
    finally:
        stop_checkpoints(engine)
        engine.dispose()
    assert _wait_for(lambda: not _threads(path))


def test_none_leaves_checkpoints_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    engine = make_engine(f"sqlite:///{path}", checkpoint_interval=None)
    try:
        assert _threads(path) == []
        with engine.connect() as conn:
            (pages,) = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").one()
        assert pages == 1000  # SQLite's default
    finally:
        engine.dispose()


def test_no_thread_for_a_memory_database() -> None:
    before = {t.name for t in threading.enumerate()}
    engine = make_engine("sqlite://")
    engine.dispose()
    assert {t.name for t in threading.enumerate()} - before == set()


@pytest.mark.parametrize("interval", [0, -1.0])
def test_interval_must_be_positive(tmp_path: Path, interval: float) -> None:
    with pytest.raises(ConfigurationError, match="checkpoint interval must be positive"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", checkpoint_interval=interval)
    assert _threads(tmp_path / "x.db") == []


def test_repository_close_stops_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    assert len(_threads(path)) == 1
    repository.close()
    assert _wait_for(lambda: not _threads(path))


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    """Before the application's first connection there is nothing to checkpoint, and
    the thread must not leave an empty database behind."""
    path = tmp_path / "later.db"
    checkpointer = WalCheckpointer(str(path), 0.1)
    with pytest.raises(sqlite3.OperationalError):
        checkpointer.checkpoint()
    assert not path.exists()
    checkpointer.start()
    time.sleep(0.35)  # a few rounds, each failing quietly
    assert checkpointer.running
    checkpointer.stop()
    assert not checkpointer.running
    assert not path.exists()
