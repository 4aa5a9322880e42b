"""The memory a long sweep needs: ``LeadDesk.sweep`` over N due deadlines in a process
of its own, its peak resident set growth reported (``sweep_100k_rss_mb_<db>``).

    python bench/sweep_memory.py URL [--batch-size 500]

Run by ``bench/run.py`` (part ``memory``) after it has armed N deadlines on the largest
data set; prints one JSON object: ``fired``, ``seconds``, ``batches``, ``rss_growth_mb``
(peak RSS after the sweep minus the RSS before it, the process warmed up by a sweep of
nothing first, so that imports, the engine's pool and the caches are not counted) and
``rss_sampled_mb`` (the largest RSS seen after a batch, minus the same baseline).

A separate process, because the peak RSS of the benchmark's own process is set by the
data loads long before; here the only work after the baseline is the sweep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

from qleads import LeadDesk  # noqa: E402
from qleads.adapters.clock import FrozenClock  # noqa: E402
from qleads.adapters.sql import (  # noqa: E402
    SqlAlchemyDirectory,
    SqlAlchemyLeadRepository,
    make_engine,
)
from qleads.desk import SweepReport  # noqa: E402
from qleads.model import Policy  # noqa: E402


def _rss_mb() -> float:
    """The resident set now, from ``/proc/self/statm`` (pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    keep = Policy(
        retention_closed_months=1200,
        retention_unclaimed_months=1200,
        retention_access_log_months=1200,
    )
    desk = LeadDesk(
        SqlAlchemyLeadRepository(engine),
        SqlAlchemyDirectory(engine),
        FrozenClock(data.NOW),
        keep,
    )
    # Warm up: imports, the pool, the territory cache, the statement caches.
    desk.sweep(data.NOW - dt.timedelta(days=36500))
    gc.collect()
    baseline, peak_before = _rss_mb(), _peak_mb()
    sampled = baseline
    batches = 0

    def progress(_report: SweepReport) -> None:
        nonlocal sampled, batches
        batches += 1
        sampled = max(sampled, _rss_mb())

    started = time.perf_counter()
    report = desk.sweep(data.NOW, batch_size=args.batch_size, progress=progress)
    seconds = time.perf_counter() - started
    peak_after = _peak_mb()
    engine.dispose()
    # A new lifetime peak was set by the sweep: its height over the sweep's start. If
    # the warm-up's peak was never passed, the largest RSS seen after a batch says it.
    growth = peak_after - baseline if peak_after > peak_before else sampled - baseline
    print(
        json.dumps(
            {
                "fired": report.total,
                "seconds": seconds,
                "batches": batches,
                "rss_growth_mb": max(growth, 0.0),
                "rss_sampled_mb": max(sampled - baseline, 0.0),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
