"""Compare two sets of ``bench/run.py --json`` files: did a change move qleads against raw?

python bench/compare.py --before a1.json a2.json a3.json --after b1.json b2.json b3.json

Each side is summarised by the median of its runs, key by key, and only the figures that
are already quotients of the same run are compared: a qleads ÷ raw ratio or a growth.
Absolute times move by ±30% between runs on a shared VM; a quotient of two figures
measured side by side in one run moves far less, which is why a change is judged on
them. A ratio where higher is better (throughput) is turned round, so that in the last
column above 1 always means "worse after the change".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

#: Keys whose value is a throughput ratio (qleads ÷ raw, higher is better).
_HIGHER_IS_BETTER = ("claim_ratio", "intake_ratio", "deadlines_per_s_ratio")

#: The headline quotients; ``--all`` shows every ratio and growth.
HEADLINE = (
    "claim_ratio_{db}",
    "claim_ratio_4t_{db}",
    "intake_ratio_{db}",
    "tab_page_ratio_{db}",
    "tab_page_mixed_ratio_{db}",
    "tab_counts_ratio_{db}",
    "sweep_ratio_{db}",
    "tab_page_growth_{db}",
    "sweep_growth_{db}",
)


def _load(paths: Sequence[Path]) -> list[dict[str, float]]:
    runs = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        runs.append({k: float(v) for k, v in data.items() if isinstance(v, int | float)})
    return runs


def _median(runs: Sequence[dict[str, float]], key: str) -> float | None:
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def _keys(runs: Sequence[dict[str, float]], every: bool) -> list[str]:
    if not every:
        wanted = [k.format(db=db) for db in ("sqlite", "postgres") for k in HEADLINE]
        return [*wanted, "deadlines_per_s_ratio"]
    found = {k for run in runs for k in run}
    return sorted(k for k in found if k.endswith("_ratio") or "_ratio_" in k or "growth" in k)


def worse_factor(key: str, before: float, after: float) -> float:
    """How much worse ``after`` is than ``before`` (1.0: the same, above 1: worse)."""
    if key.startswith(_HIGHER_IS_BETTER):
        return before / after
    return after / before


def render(
    before: Sequence[dict[str, float]], after: Sequence[dict[str, float]], every: bool
) -> str:
    lines = [
        f"| figure | before (median of {len(before)}) "
        f"| after (median of {len(after)}) | worse by |",
        "|---|---:|---:|---:|",
    ]
    for key in _keys([*before, *after], every):
        b, a = _median(before, key), _median(after, key)
        if b is None or a is None or b == 0 or a == 0:
            continue
        lines.append(f"| `{key}` | {b:.2f} | {a:.2f} | {worse_factor(key, b, a):.2f} |")
    return "\n".join(lines)


def spread(before: Sequence[dict[str, float]], after: Sequence[dict[str, float]]) -> str:
    """The noise: how far runs of the same code lie apart, per headline figure.

    A change is within the noise when the medians differ by less than the runs of one
    side differ among themselves (largest ÷ smallest)."""
    lines = [
        "| figure | spread before | spread after | change within the noise |",
        "|---|---:|---:|---|",
    ]
    for key in _keys([*before, *after], False):
        values = [[run[key] for run in side if run.get(key)] for side in (before, after)]
        if not all(values):
            continue
        b, a = (max(v) / min(v) for v in values)
        change = worse_factor(key, statistics.median(values[0]), statistics.median(values[1]))
        within = "yes" if change <= max(a, b) else "no"
        lines.append(f"| `{key}` | {b:.2f} | {a:.2f} | {within} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", nargs="+", type=Path, required=True)
    parser.add_argument("--after", nargs="+", type=Path, required=True)
    parser.add_argument(
        "--all", action="store_true", help="every ratio and growth, not the headline"
    )
    parser.add_argument(
        "--median", type=Path, help="also write the median of the --after runs here (JSON)"
    )
    args = parser.parse_args(argv)
    before, after = _load(args.before), _load(args.after)
    print(render(before, after, args.all))
    print()
    print(spread(before, after))
    if args.median:
        keys = {k for run in after for k in run}
        medians = {k: _median(after, k) for k in sorted(keys)}
        args.median.write_text(json.dumps(medians, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
