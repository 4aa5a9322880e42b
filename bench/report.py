"""Render a ``bench/run.py --json`` file as the Markdown tables of bench/RESULTS.md.

python bench/report.py bench/out/full.json             # the targets and every metric
python bench/report.py --summary bench/out/full.json   # one table: each work, qleads and raw
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

#: The benchmark's targets (op and bound) and the figures shown beside them (no op).
TARGETS = (
    ("claim_ratio_{db}", ">=", 0.8, "claims/s, 1 thread, qleads ÷ raw"),
    ("claim_ratio_4t_{db}", ">=", 0.8, "claims/s, 4 threads, qleads ÷ raw"),
    ("tab_page_ratio_{db}", "<=", 1.5, "full tab page p50, qleads ÷ raw"),
    ("tab_page_growth_{db}", "<=", 1.2, "full tab page p50, largest ÷ 10k, paired (qleads)"),
    ("tab_page_growth_{db}_raw", "", 0.0, "full tab page p50, largest ÷ 10k, paired (raw)"),
    ("tab_page_mixed_ratio_{db}", "<=", 1.2, "mixed tab page p50, qleads ÷ raw"),
    ("intake_ratio_{db}", ">=", 0.9, "intakes/s, qleads ÷ raw"),
    ("sweep_ratio_sqlite", "<=", 1.1, "1,000-deadline sweep, qleads ÷ raw"),
    ("sweep_ratio_postgres", "<=", 1.3, "1,000-deadline sweep, qleads ÷ raw"),
    ("sweep_100k_rss_mb_{db}", "<", 64.0, "sweep of 100,000 deadlines, peak RSS growth (MB)"),
    ("filter_page_ratio_{db}", "<=", 1.5, "filtered, sorted page p50, qleads ÷ raw"),
    ("search_page_ratio_{db}", "<=", 1.5, "surname search page p50, qleads ÷ raw"),
    ("tab_page_mixed_growth_{db}", "", 0.0, "mixed tab page p50, largest ÷ 10k (qleads)"),
    ("tab_page_mixed_growth_{db}_raw", "", 0.0, "mixed tab page p50, largest ÷ 10k (raw)"),
    ("sweep_growth_{db}", "<=", 1.2, "1,000-deadline sweep, largest ÷ 10k, paired (qleads)"),
    ("sweep_growth_{db}_raw", "", 0.0, "1,000-deadline sweep, largest ÷ 10k, paired (raw)"),
    (
        "tab_page_growth_{db}_sequential",
        "",
        0.0,
        "full tab page p50, largest ÷ 10k, sequential (qleads)",
    ),
    (
        "sweep_growth_{db}_sequential",
        "",
        0.0,
        "1,000-deadline sweep, largest ÷ 10k, sequential (qleads)",
    ),
)


#: Deadlines: ``Calendar.add_business_days`` at least this many times the pendulum loop.
DEADLINE_SPEEDUP = 10.0


def met(value: float, op: str, bound: float) -> bool:
    if op == "<":
        return value < bound
    return value >= bound if op == ">=" else value <= bound


def render(metrics: dict[str, float]) -> str:
    dbs = [db for db in ("sqlite", "postgres") if f"claim_ratio_{db}" in metrics]
    lines = ["| target | database | value | bound | met |", "|---|---|---:|---:|---|"]
    for db in dbs:
        for key, op, bound, text in TARGETS:
            if "{db}" not in key and not key.endswith(f"_{db}"):
                continue  # a target of the other database
            if key.format(db=db) not in metrics:
                continue  # a run without that size
            value = metrics[key.format(db=db)]
            if not op:
                lines.append(f"| {text} | {db} | {value:.2f} | – | – |")
                continue
            ok = met(value, op, bound)
            lines.append(
                f"| {text} | {db} | {value:.2f} | {op} {bound} | {'yes' if ok else 'no'} |"
            )
    speed = metrics["deadline_speedup"]
    lines.append(
        f"| `Calendar.add_business_days` ÷ pendulum loop | – | {speed:.1f} | "
        f">= {DEADLINE_SPEEDUP:g} | {'yes' if speed >= DEADLINE_SPEEDUP else 'no'} |"
    )
    lines += ["", "| metric | qleads | raw SQL | qleads ÷ raw |", "|---|---:|---:|---:|"]
    for key in sorted(k for k in metrics if k.endswith("_qleads")):
        base = key.removesuffix("_qleads")
        q, r = metrics[key], metrics.get(f"{base}_raw", 0.0)
        unit = "ms" if "_ms_" in base else "s" if "sweep_" in base else "1/s"
        lines.append(f"| `{base}` ({unit}) | {q:,.2f} | {r:,.2f} | {q / r if r else 0:.2f} |")
    rows = sorted(k for k in metrics if k.startswith("tab_page_rows_"))
    if rows:
        lines += [
            "",
            "| data set | rows per qleads tab page, full samples | mixed samples |",
            "|---|---:|---:|",
        ]
        for key in rows:
            tag = key.removeprefix("tab_page_rows_")
            mixed = metrics.get(f"tab_page_mixed_rows_{tag}", 0.0)
            lines.append(f"| `{tag}` | {metrics[key]:.1f} | {mixed:.1f} |")
    lines += ["", "| load | seconds |", "|---|---:|"]
    for key in sorted(k for k in metrics if k.startswith("load_s_")):
        lines.append(f"| `{key.removeprefix('load_s_')}` | {metrics[key]:.0f} |")
    return "\n".join(lines)


#: The summary's rows: what is measured, its metric's stem, the unit, and the target on
#: qleads ÷ raw where there is one (a throughput's ratio must be high, a time's low).
SUMMARY = (
    ("claim, 1 thread", "claims_per_s_1t", "claims/s", ">=", 0.8),
    ("claim, 4 threads", "claims_per_s_4t", "claims/s", ">=", 0.8),
    ("intake", "intake_per_s", "leads/s", ">=", 0.9),
    ("full tab page (50 rows) p50", "tab_page_p50_ms", "ms", "<=", 1.5),
    ("mixed tab page p50", "tab_page_mixed_p50_ms", "ms", "<=", 1.2),
    ("tab counts p50", "tab_counts_p50_ms", "ms", "", 0.0),
    ("sweep of 1,000 due deadlines", "sweep_1000_s", "s", "<=", {"sqlite": 1.1, "postgres": 1.3}),
)


def _largest(metrics: dict[str, float], db: str) -> str | None:
    sizes = {
        match.group(1)
        for key in metrics
        if (match := re.fullmatch(rf"claims_per_s_1t_{db}_(\d+[km])_qleads", key))
    }
    return max(sizes, key=lambda s: int(s[:-1]) * (1000 if s[-1] == "k" else 10**6), default=None)


def summary(metrics: dict[str, float]) -> str:
    """One row per work and database at the largest data set: qleads, raw, their ratio."""
    lines = [
        "| work | database | leads | qleads | raw SQL | qleads ÷ raw | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for db in ("sqlite", "postgres"):
        size = _largest(metrics, db)
        if size is None:
            continue
        for text, stem, unit, op, bounds in SUMMARY:
            bound = bounds[db] if isinstance(bounds, dict) else bounds
            q = metrics.get(f"{stem}_{db}_{size}_qleads")
            r = metrics.get(f"{stem}_{db}_{size}_raw")
            if q is None or not r:
                continue
            ratio = q / r
            target = f"{op} {bound} ({'met' if met(ratio, op, bound) else 'missed'})" if op else "–"
            figures = f"{q:,.2f} | {r:,.2f} | {ratio:.2f}"
            lines.append(f"| {text} ({unit}) | {db} | {size} | {figures} | {target} |")
        for key, text in (
            (f"tab_page_growth_{db}", "full tab page p50, largest ÷ 10k (growth)"),
            (f"sweep_growth_{db}", "sweep, largest ÷ 10k (growth)"),
        ):
            if key in metrics:
                value = metrics[key]
                ok = "met" if value <= 1.2 else "missed"
                lines.append(f"| {text} | {db} | {size} | {value:.2f} | – | – | <= 1.2 ({ok}) |")
        rss = metrics.get(f"sweep_100k_rss_mb_{db}")
        if rss is not None:
            fired = int(metrics.get(f"sweep_100k_fired_{db}", 0))
            ok = "met" if rss < 64 else "missed"
            lines.append(
                f"| sweep of {fired:,} due deadlines, peak RSS growth (MB) | {db} | {size} "
                f"| {rss:.1f} | – | – | < 64 ({ok}) |"
            )
    speed = metrics["deadline_speedup"]
    ok = "met" if speed >= DEADLINE_SPEEDUP else "missed"
    lines.append(
        f"| `Calendar.add_business_days` ÷ pendulum loop | – | – | {speed:.1f}× | – | – "
        f"| >= {DEADLINE_SPEEDUP:g}× ({ok}) |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    brief = args[:1] == ["--summary"]
    metrics = json.loads(Path(args[-1]).read_text(encoding="utf-8"))
    print(summary(metrics) if brief else render(metrics))
