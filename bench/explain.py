"""Capture PostgreSQL's plan of every tab query qleads runs (R8).

    python bench/explain.py [--leads 1000000] [--url URL] [--write docs/postgresql.md]

Builds the benchmark data set (``bench/data.py``) in a fresh database ``qleads_explain``
(or uses ``--url`` of one that is loaded already), opens every tab as an installer and as
a sales rep (the scopes ``LeadDesk`` builds), takes the SQL and parameters the adapter
sends from ``SqlAlchemyLeadRepository.tab_statement`` / ``counts_statement`` (exactly
qleads' statements: the unit of work runs that text on the DB-API cursor), and runs each under
``EXPLAIN (ANALYZE, BUFFERS)``. The plans are printed, and with ``--write`` they replace
the block between ``<!-- explain:start -->`` and ``<!-- explain:end -->`` of that file.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import run  # noqa: E402

from qleads.adapters.sql import (  # noqa: E402
    SqlAlchemyDirectory,
    SqlAlchemyLeadRepository,
    make_engine,
)
from qleads.tabs import INSTALLER_TABS, Scope, query_for  # noqa: E402

START, END = "<!-- explain:start -->", "<!-- explain:end -->"


def explain(engine: sa.Engine, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        sql = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        # Warm the cache, then report the second run.
        conn.exec_driver_sql(sql, tuple(params)).all()
        rows = conn.exec_driver_sql(sql, tuple(params)).all()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def _compact(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()


def plans(url: str) -> list[tuple[str, str, str]]:
    """(heading, SQL, plan) for every tab of an installer and of a rep, plus the counts.

    The statements come from the repository itself (``tab_statement`` /
    ``counts_statement``: exactly the text and parameters its unit of work sends, which
    talks to the DB-API cursor and so passes no SQLAlchemy event)."""
    engine = make_engine(url)
    repository = SqlAlchemyLeadRepository(engine)
    directory = SqlAlchemyDirectory(engine)
    net = data.network(200, 5000)
    with engine.connect() as conn:
        # A busy installer: the one holding the most leads.
        busiest = conn.exec_driver_sql(
            "SELECT holder_id FROM qleads_lead WHERE holder_id IS NOT NULL "
            "GROUP BY holder_id ORDER BY count(*) DESC, holder_id LIMIT 1"
        ).scalar_one()
    rep_id = net.rep_of_installer[busiest]
    territories = directory.territory_ids_of(rep_id)
    scopes = (
        ("installer", busiest, Scope(territory_ids=territories, installer_id=busiest)),
        ("rep", rep_id, Scope(territory_ids=territories)),
    )
    out: list[tuple[str, str, str]] = []
    for kind, actor_id, scope in scopes:
        for tab in INSTALLER_TABS:
            page = repository.tab_statement(query_for(scope, tab))
            out.append(
                (f"{kind} `{actor_id}` · tab `{tab.value}` (page 1, 50 rows)", *_pair(engine, page))
            )
        counts = repository.counts_statement([query_for(scope, t) for t in INSTALLER_TABS])
        out.append(
            (
                f"{kind} `{actor_id}` · the counts of all tabs (one statement)",
                *_pair(engine, counts),
            )
        )
    engine.dispose()
    return out


def _pair(engine: sa.Engine, captured: tuple[str, Any]) -> tuple[str, str]:
    statement, params = captured
    return _compact(statement), explain(engine, statement, params)


def markdown(found: list[tuple[str, str, str]], leads: int) -> str:
    lines = [
        START,
        f"Captured by `python bench/explain.py` on {leads:,} leads (the benchmark data set: "
        "200 reps, 5,000 installers, 285 territories) with PostgreSQL "
        f"{_server_version()}. Each plan is the second of two runs (warm cache).",
        "",
    ]
    for heading, statement, plan in found:
        lines += [f"#### {heading}", "", "```sql", statement, "```", "", "```text", plan, "```", ""]
    lines.append(END)
    return "\n".join(lines)


_VERSION: list[str] = []


def _server_version() -> str:
    return _VERSION[0] if _VERSION else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--url", help="an already loaded database (skips loading)")
    parser.add_argument("--postgres-url", default=run.DEFAULT_POSTGRES_URL)
    parser.add_argument("--write", type=Path, help="replace the explain block of this file")
    parser.add_argument("--keep", action="store_true", help="keep the database qleads_explain")
    args = parser.parse_args()
    url = args.url
    leads = args.leads
    if url is None:
        url = f"{args.postgres_url.rsplit('/', 1)[0]}/qleads_explain"
        with run._pg_admin(args.postgres_url) as admin:
            admin.execute('DROP DATABASE IF EXISTS "qleads_explain" WITH (FORCE)')
            admin.execute('CREATE DATABASE "qleads_explain"')
        started = time.perf_counter()
        report = data.load_postgres(make_engine(url), data.network(200, 5000), leads)
        print(
            f"loaded {report.leads} leads in {time.perf_counter() - started:.0f}s", file=sys.stderr
        )
    else:
        with make_engine(url).connect() as conn:
            leads = conn.exec_driver_sql("SELECT count(*) FROM qleads_lead").scalar_one()
    try:
        with run._pg_admin(url) as conn:
            _VERSION.append(conn.execute("SHOW server_version").fetchone()[0].split()[0])
        text = markdown(plans(url), leads)
    finally:
        if args.url is None and not args.keep:
            with run._pg_admin(args.postgres_url) as admin:
                admin.execute('DROP DATABASE IF EXISTS "qleads_explain" WITH (FORCE)')
    print(text)
    if args.write is not None:
        doc = args.write.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"{args.write} has no {START} … {END} block")
        head, rest = doc.split(START, 1)
        tail = rest.split(END, 1)[1]
        args.write.write_text(head + text + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
