"""What checking a pooled PostgreSQL connection before use costs a unit of work.

    python bench/checkout.py [--batches 30] [--per-batch 100] [--json PATH] [--postgres-url URL]

Three engines on one fresh database take turns in batches: without any check, with
qleads' own check (``qleads.adapters.sql.liveness``: a ``poll()`` of the socket at checkout)
and with SQLAlchemy's ``pool_pre_ping`` (a ``SELECT 1`` at checkout). Each batch times a
unit of work that reads one lead, and a claim through ``LeadDesk`` (R3), one thread.
Prints a table of medians (and minima), in µs per call, and writes a flat JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

from qleads.adapters.clock import SystemClock  # noqa: E402
from qleads.adapters.sql import (  # noqa: E402
    SqlAlchemyDirectory,
    SqlAlchemyLeadRepository,
    liveness,
    make_engine,
)
from qleads.calendar import Calendar  # noqa: E402
from qleads.desk import LeadDesk  # noqa: E402
from qleads.model import Installer, LeadSource, SalesRep, Territory  # noqa: E402

DEFAULT_POSTGRES_URL = os.environ.get(
    "QLEADS_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CHECKS = ("none", "qleads", "pool_pre_ping")


def _engine(url: str, check: str) -> sa.Engine:
    engine = make_engine(url, pool_pre_ping=check == "pool_pre_ping")
    if check != "qleads":
        sa.event.remove(engine, "checkout", liveness.check_before_use)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--json", type=Path, help="write the metrics here")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()

    admin_url = sa.make_url(args.postgres_url).set(drivername="postgresql")
    name = f"qleads_bench_checkout_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(admin_url.render_as_string(hide_password=False), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(args.postgres_url).set(database=name)
    try:
        metrics = _measure(url, args.batches, args.per_batch)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(f"{args.batches} batches of {args.per_batch}, taking turns; µs per call, median (min)")
    print(f"{'check':15} {'unit, one read':>18} {'claim':>18}")
    for check in CHECKS:
        read, claim = (metrics[f"{what}_us_{check}"] for what in ("read", "claim"))
        read_min, claim_min = (metrics[f"{what}_us_min_{check}"] for what in ("read", "claim"))
        print(f"{check:15} {read:10.0f} ({read_min:5.0f}) {claim:10.0f} ({claim_min:5.0f})")
    if args.json is not None:
        args.json.write_text(json.dumps(metrics, indent=2, sort_keys=True))


def _measure(url: sa.URL, batches: int, per_batch: int) -> dict[str, float]:
    setup = make_engine(url)
    repository = SqlAlchemyLeadRepository(setup)
    repository.upgrade_schema()
    directory = SqlAlchemyDirectory(setup)
    directory.add_rep(SalesRep("rep", "Rita", "rita@example.org"))
    directory.add_territory(Territory("leipzig", "Leipzig", "DE", frozenset({"04"}), "rep"))
    anna = directory.add_installer(
        Installer("anna", "Anna", "anna@example.org", "rep", calendar=Calendar("DE", "SN"))
    )
    source = directory.add_source(LeadSource("calc", "Solarrechner"))
    intake = LeadDesk(repository, directory, SystemClock())
    rng = random.Random(7)
    received = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ids = {
        check: [
            intake.intake(source, data.document(rng, f"{check}-{n}", "04107", received)).lead.id
            for n in range(batches * per_batch)
        ]
        for check in CHECKS
    }
    setup.dispose()

    plain = url.render_as_string(hide_password=False)
    engines = {check: _engine(plain, check) for check in CHECKS}
    repositories = {check: SqlAlchemyLeadRepository(e) for check, e in engines.items()}
    desks = {
        check: LeadDesk(repositories[check], SqlAlchemyDirectory(e), SystemClock())
        for check, e in engines.items()
    }
    times: dict[str, list[float]] = {f"{w}_{c}": [] for w in ("read", "claim") for c in CHECKS}
    for batch in range(batches):
        for check in CHECKS if batch % 2 == 0 else CHECKS[::-1]:
            chosen = ids[check][batch * per_batch : (batch + 1) * per_batch]
            repository, desk = repositories[check], desks[check]
            started = time.perf_counter()
            for lead_id in chosen:
                with repository.unit_of_work() as uow:
                    uow.get(lead_id)
            times[f"read_{check}"].append((time.perf_counter() - started) / per_batch * 1e6)
            started = time.perf_counter()
            for lead_id in chosen:
                desk.claim(anna, lead_id)
            times[f"claim_{check}"].append((time.perf_counter() - started) / per_batch * 1e6)
    for engine in engines.values():
        engine.dispose()
    metrics: dict[str, float] = {}
    for key, values in times.items():
        what, check = key.split("_", 1)
        metrics[f"{what}_us_{check}"] = statistics.median(values)
        metrics[f"{what}_us_min_{check}"] = min(values)
    return metrics


if __name__ == "__main__":
    main()
