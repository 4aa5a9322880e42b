"""The benchmark stays runnable: ``bench/run.py --smoke`` on a tiny data set.

No timing is asserted here (the figures are reported in bench/RESULTS.md, not tested);
this only checks that every measurement ran and produced a positive number, on
SQLite always and on PostgreSQL when the server is reachable (R3 claims, R8 tabs, R11
sweeps, R1 intake, R9 business days).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bench_support import POSTGRES_URL, REQUIRE_POSTGRES, ROOT, postgres_reachable

_NAMED = (
    "deadline_speedup",
    "claim_ratio_{db}",
    "claim_ratio_4t_{db}",
    "tab_page_ratio_{db}",
    "tab_counts_ratio_{db}",
    "filter_page_ratio_{db}",
    "search_page_ratio_{db}",
    "filter_page_p50_ms_{db}_1k_qleads",
    "search_page_p95_ms_{db}_1k_raw",
    "tab_page_growth_{db}",
    "sweep_growth_{db}",
    "tab_page_growth_{db}_sequential",
    "sweep_growth_{db}_sequential",
    "growth_sweep_20_s_{db}_500_qleads",
    "growth_tab_page_p50_ms_{db}_1k_raw",
    "intake_ratio_{db}",
    "claims_per_s_1t_{db}_1k_qleads",
    "claims_per_s_1t_{db}_1k_raw",
    "claims_per_s_4t_{db}_1k_qleads",
    "tab_page_p50_ms_{db}_1k_qleads",
    "tab_page_p95_ms_{db}_1k_raw",
    "tab_counts_installer_p50_ms_{db}_1k_qleads",
    "tab_counts_rep_p50_ms_{db}_1k_raw",
    "sweep_20_s_{db}_500_qleads",
    "sweep_20_s_{db}_1k_raw",
    "intake_per_s_{db}_1k_qleads",
    "load_s_{db}_1k",
    "scorecard_team_ms_{db}_1k_qleads",
    "scorecard_team_ms_{db}_1k_raw",
    "sweep_ratio_{db}",
    "tab_page_mixed_ratio_{db}",
    "sweep_100k_rss_mb_{db}",
    "sweep_100k_s_{db}",
)


@pytest.mark.slow
class TestBenchmarkSmoke:
    def test_smoke_run_writes_every_metric(self, tmp_path: Path) -> None:
        """One command measures qleads beside raw SQL and writes a flat JSON object
        of metric name → positive number."""
        out = tmp_path / "bench.json"
        reachable = postgres_reachable()
        if REQUIRE_POSTGRES and not reachable:
            pytest.fail(
                f"QLEADS_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {POSTGRES_URL}"
            )
        command = [
            sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out),
            "--workdir", str(tmp_path), "--tag", uuid.uuid4().hex[:8],
        ]  # fmt: skip
        command += ["--postgres-url", POSTGRES_URL] if reachable else ["--no-postgres"]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        metrics = json.loads(out.read_text(encoding="utf-8"))
        dbs = ["sqlite", "postgres"] if reachable else ["sqlite"]
        expected = {name.format(db=db) for name in _NAMED for db in dbs}
        assert expected <= metrics.keys(), sorted(expected - metrics.keys())
        for name, value in metrics.items():
            assert isinstance(value, int | float), name
            assert math.isfinite(value), (name, value)
            # A sweep's memory growth may round to nothing; every other figure is positive.
            assert value > 0 or (name.startswith("sweep_100k_rss_mb_") and value == 0), (
                name,
                value,
            )
