"""The plans SQLite makes of the tab pages (R8) once ``ANALYZE`` has run: a pool's page
reads its territories' ranges of the territory indexes, never every unheld lead of every
territory through the holder index, which the statistics call selective (a holder has
few leads) although almost every pool lead has no holder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qleads.adapters.sql import SqlAlchemyLeadRepository
from qleads.tabs import Scope, Tab, query_for


def _plan(path: Path, statement: str, params: object) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
    finally:
        conn.close()


#: ``sqlite_stat1`` of the lead table after ``ANALYZE`` of the benchmark's 10k data set.
STATISTICS = {
    "ix_qleads_lead_territory_closed_rows": "7996 29 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "ix_qleads_lead_territory_received_rows": "10000 36 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "ix_qleads_lead_deadline": "511 3 1",
    "ix_qleads_lead_received": "10000 1 1",
    "ix_qleads_lead_territory_status_received": "10000 36 7 1 1",
    "ix_qleads_lead_holder_status_received": "10000 3 2 1 1",
    "sqlite_autoindex_qleads_lead_1": "10000 1",
}


def test_a_pool_page_reads_the_territory_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    repository.upgrade_schema()
    repository.close()
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.executemany(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('qleads_lead', ?, ?)",
        STATISTICS.items(),
    )
    conn.commit()
    conn.close()
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    try:
        for scope in (
            Scope(frozenset({"t-leipzig", "t-dresden"}), installer_id="i-anna"),
            Scope(frozenset({"t-leipzig"})),
        ):
            statement, params = repository.tab_statement(query_for(scope, Tab.AVAILABLE))
            ranges = [
                step
                for step in _plan(path, statement, params)
                if "qleads_lead " in step and " INDEX " in step
            ]
            assert ranges, statement
            assert all("INDEX ix_qleads_lead_territory_" in step for step in ranges), ranges
    finally:
        repository.close()


def test_an_installers_tab_bar_reads_his_range_of_the_holder_index_once(tmp_path: Path) -> None:
    """R8: the counts of an installer's seven tabs take his own leads from one range of
    the holder index, read from the index alone, and the pool's from the counters: the
    pool's unheld leads cannot be among his, so no lead row is looked up to exclude them."""
    path = tmp_path / "plans.db"
    repository = SqlAlchemyLeadRepository.from_url(f"sqlite:///{path}")
    repository.upgrade_schema()
    try:
        scope = Scope(frozenset({"t-leipzig", "t-dresden"}), installer_id="i-anna")
        statement, params = repository.counts_statement([query_for(scope, tab) for tab in Tab])
        leads = [step for step in _plan(path, statement, params) if "qleads_lead " in step]
        assert leads == [
            "SEARCH qleads_lead USING COVERING INDEX ix_qleads_lead_holder_status_received "
            "(holder_id=?)"
        ], leads
    finally:
        repository.close()
