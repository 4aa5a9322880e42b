"""The HTTP benchmark stays runnable: ``bench/http.py --smoke`` starts the portal and the
hand-written Flask app under gunicorn on a tiny PostgreSQL data set and plays a few
installers against both for a few seconds.

No timing is asserted (the figures are reported in bench/RESULTS.md, not tested): only
that every figure is written and that both apps answered every endpoint as they should.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bench_support import POSTGRES_URL, REQUIRE_POSTGRES, ROOT, postgres_reachable

ENDPOINTS = ("start", "tab", "detail", "claim", "record")


@pytest.mark.slow
@pytest.mark.postgres
def test_smoke_run_measures_both_apps_on_every_endpoint(tmp_path: Path) -> None:
    if not postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail(f"QLEADS_REQUIRE_POSTGRES=1 but no PostgreSQL at {POSTGRES_URL}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}")
    out = tmp_path / "http.json"
    command = [
        sys.executable, str(ROOT / "bench" / "http.py"), "--smoke", "--json", str(out),
        "--workdir", str(tmp_path), "--tag", uuid.uuid4().hex[:8],
        "--postgres-url", POSTGRES_URL,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads(out.read_text(encoding="utf-8"))
    for endpoint in ENDPOINTS:
        for key in ("rps_ratio", "p95_ratio", "p50_ratio"):
            assert f"http_{endpoint}_{key}" in metrics
        for app in ("qleads", "raw"):
            for key in ("rps", "p50_ms", "p95_ms"):
                assert f"http_{endpoint}_{key}_{app}" in metrics
            # Both apps answered: pages with 200, claim and record with their redirect.
            assert metrics[f"http_{endpoint}_ok_{app}"] > 0, (endpoint, app)
            assert metrics[f"http_{endpoint}_failed_{app}"] == 0, (endpoint, app)
