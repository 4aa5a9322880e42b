"""Duplicate detection at scale: a submission's match keys are found by index, not by
reading the leads.

    python bench/duplicates.py [--leads 10000 100000 1000000] [--url URL] [--lookups 300]

For each size, a fresh PostgreSQL database ``qleads_bench_dup`` (or ``--url``) is
migrated and filled with that many leads, each with its three match keys (e-mail, phone,
address) spread over a year of arrivals: the rows are written by ``generate_series``, not
by intake, because only the match keys matter here. Then it

* prints PostgreSQL's plan of the adapter's own lookup
  (``DuplicateStatements.matching``: three keys and the 90-day window), which must be an
  index scan of ``ix_qleads_match_key_key_received`` — one range per key;
* times ``UnitOfWork.matching`` through ``SqlAlchemyLeadRepository`` (the path intake
  takes), and beside it the same question asked without the key table: the e-mail read
  out of every lead's document (what a scan costs).

The lookup's time stays flat from 10k to 1M leads; the scan's grows with the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine  # noqa: E402
from qleads.adapters.sql.duplicate_sql import DuplicateStatements  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qleads_bench_dup"


def _key(kind: str, n: int) -> str:
    return hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()


def _fresh(url: str) -> None:
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def load(engine: sa.Engine, leads: int) -> float:
    """``leads`` leads over the last 365 days, three keys each; seconds taken."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO qleads_lead (source_id, fingerprint, received_at, status, status_at, "
            "previous_holders, version, document, name, postal_code, city) "
            "SELECT 's-' || g, 'f', now() - (g %% 365) * interval '1 day', 'new', now(), '[]', "
            "1, jsonb_build_object('contact', jsonb_build_object('email', 'p' || g || "
            "'@example.org')), '', '', '' FROM generate_series(1, %s) AS g",
            (leads,),
        )
        for kind in ("email", "phone", "address"):
            conn.exec_driver_sql(
                "INSERT INTO qleads_match_key (lead_id, key, received_at) "
                "SELECT id, encode(sha256(convert_to(%s || ':' || substr(source_id, 3), "
                "'UTF8')), 'hex'), received_at FROM qleads_lead",
                (kind,),
            )
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def plan(engine: sa.Engine, keys: list[str], since: dt.datetime) -> str:
    statement = DuplicateStatements(postgres=True).matching(len(keys))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, (*keys, since)).all()
    return "\n".join(r[0] for r in rows)


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(url: str, leads: int, lookups: int) -> dict[str, float | str]:
    _fresh(url)
    repository = SqlAlchemyLeadRepository.from_url(url)
    repository.upgrade_schema()
    engine = repository.engine
    seconds = load(engine, leads)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    targets = [1 + (i * 7919) % leads for i in range(lookups)]
    shown = plan(engine, [_key(k, targets[0]) for k in ("email", "phone", "address")], since)
    indexed: list[float] = []
    for n in targets:
        keys = [_key(kind, n) for kind in ("email", "phone", "address")]
        started = time.perf_counter()
        with repository.unit_of_work() as uow:
            uow.matching(keys, since)
        indexed.append(time.perf_counter() - started)
    scanned: list[float] = []
    with engine.connect() as conn:
        for n in targets[: max(3, lookups // 30)]:
            started = time.perf_counter()
            conn.exec_driver_sql(
                "SELECT id FROM qleads_lead WHERE document->'contact'->>'email' = %s "
                "AND received_at >= %s",
                (f"p{n}@example.org", since),
            ).all()
            scanned.append(time.perf_counter() - started)
    repository.close()
    return {
        "leads": leads,
        "load_s": round(seconds, 1),
        "lookup_p50_ms": round(_p50_ms(indexed), 3),
        "scan_p50_ms": round(_p50_ms(scanned), 3),
        "plan": shown,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--lookups", type=int, default=300)
    args = parser.parse_args(argv)
    for size in args.leads:
        result = measure(args.url, size, args.lookups)
        print(f"## {size:,} leads (loaded in {result['load_s']} s)")
        print(
            f"match-key lookup p50: {result['lookup_p50_ms']} ms; "
            f"the same question by scanning documents p50: {result['scan_p50_ms']} ms"
        )
        print(result["plan"])
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
