"""qleads against hand-written SQL, side by side, on SQLite and PostgreSQL.

    python bench/run.py [--quick] [--smoke] [--json PATH] [--postgres-url URL] [--keep]

Builds data sets (full: 10k and 1M leads; --quick: 10k and 100k; --smoke: a tiny network
for the test suite) in the adapter's own tables, then measures in the same run, each
qleads operation next to hand-written SQL doing the same work through the same driver
(``bench/raw.py``): claims per second with 1 and 4 threads (R3), p50/p95 of a tab page
and of the tab counts for installers and reps (R8), of a filtered, sorted page and of a
surname search (``bench/search.py``), a sweep of N due deadlines (R11),
intakes per second (R1), a rep's partner scorecards (``LeadDesk.scorecards``), and
``Calendar.add_business_days`` beside a pendulum loop (R9).
The growth targets (10k → largest) are measured last, with the smallest and the largest
data set taking turns (:func:`bench_growth`).

Prints a table (metric, qleads, raw, ratio) and writes a flat JSON object metric → number.
The growth targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import attrs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import raw as rawsql  # noqa: E402
import report  # noqa: E402
import search  # noqa: E402

from qleads import LeadDesk  # noqa: E402
from qleads.adapters.clock import FrozenClock  # noqa: E402
from qleads.adapters.sql import (  # noqa: E402
    SqlAlchemyDirectory,
    SqlAlchemyLeadRepository,
    make_engine,
)
from qleads.model import Installer, LeadSource, Policy, SalesRep  # noqa: E402
from qleads.tabs import Tab  # noqa: E402

DEFAULT_POSTGRES_URL = os.environ.get(
    "QLEADS_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
OUT = HERE / "out"


@attrs.frozen
class Plan:
    name: str
    sizes: tuple[int, ...]
    reps: int = 200
    installers: int = 5000
    tab_samples: int = 300
    claims: int = 300
    claim_rounds: int = 9
    sweep_due: int = 1000
    sweep_runs: int = 3
    #: Rounds of the paired growth phase (:func:`bench_growth`) and the sweeps each side
    #: runs on each data set per round.
    growth_rounds: int = 5
    growth_sweeps: int = 2
    intakes: int = 300
    calendar_n: int = 20000


#: What ``--only`` may name: the measured parts of a run.
PARTS = (
    "calendar", "tabs", "search", "claims", "intake", "sweep", "scorecard", "growth", "memory",
)  # fmt: skip

PLANS = {
    # 100k as well: from there on pages are full, so 100k → 1M shows growth with the
    # data alone (at 10k an installer holds ~2 leads and many pages are short).
    "full": Plan("full", (10_000, 100_000, 1_000_000)),
    "quick": Plan(
        "quick", (10_000, 100_000), tab_samples=200, claims=200, claim_rounds=5, sweep_runs=1,
        growth_rounds=3, growth_sweeps=1, intakes=150, calendar_n=10000,
    ),
    "smoke": Plan(
        "smoke", (500, 1000), reps=10, installers=50, tab_samples=20, claims=10, claim_rounds=1,
        sweep_due=20, sweep_runs=1, growth_rounds=1, growth_sweeps=1, intakes=10, calendar_n=500,
    ),
}  # fmt: skip


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Results:
    """The flat metric → number map, plus the rows of the printed table."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}
        self.rows: list[tuple[str, float, float | None, str]] = []

    def pair(
        self, metric: str, qleads: float, raw: float, unit: str, *, higher_is_better: bool
    ) -> None:
        """Record a qleads/raw pair; ``ratio`` is qleads ÷ raw."""
        self.metrics[f"{metric}_qleads"] = qleads
        self.metrics[f"{metric}_raw"] = raw
        self.metrics[f"{metric}_ratio"] = qleads / raw if raw else 0.0
        self.rows.append(
            (f"{metric} [{unit}]", qleads, raw, "higher" if higher_is_better else "lower")
        )

    def single(self, metric: str, value: float) -> None:
        self.metrics[metric] = value

    def table(self) -> str:
        lines = [f"{'metric':<58} {'qleads':>12} {'raw':>12} {'ratio':>7}", "-" * 92]
        for name, q, r, _ in self.rows:
            ratio = f"{q / r:7.2f}" if r else "      -"
            lines.append(f"{name:<58} {q:12.3f} {(r or 0):12.3f} {ratio}")
        return "\n".join(lines)


# --- one database, one size ---------------------------------------------------------------


@attrs.define
class Target:
    """A loaded data set and the two ways of working on it."""

    db: str  # "sqlite" | "postgres"
    size: int
    url: str
    net: data.Network
    desk: LeadDesk
    repository: SqlAlchemyLeadRepository
    connect: Callable[[], Any]
    raw: rawsql.RawSql

    @property
    def tag(self) -> str:
        return f"{self.db}_{label(self.size)}"


def installer(net: data.Network, installer_id: str) -> Installer:
    return Installer(
        installer_id, f"Solar {installer_id} GmbH", f"{installer_id}@example.de",
        net.rep_of_installer[installer_id],
    )  # fmt: skip


def rep(rep_id: str) -> SalesRep:
    return SalesRep(rep_id, f"Vertrieb {rep_id}", f"{rep_id}@example.de")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


#: Rep tabs whose first page holds a full 50 rows at every size of the full plan, 10k
#: included (at 10k about a third of the reps fill them; an installer holds ~2 leads and
#: no installer tab is full). The reported ``tab_page_*`` metrics use only these samples,
#: so every size compares pages of the same kind and size (R8: one tab page of 50 rows).
FULL_PAGE_TABS = ("all", "mine", "closed")
PER_PAGE = 50

_Sample = tuple[str, Any, str, str | None, str]
_T = TypeVar("_T")


def _mixed_samples(t: Target, plan: Plan, rng: random.Random) -> list[_Sample]:
    """Installers and reps at random over all seven tabs, full pages or not."""
    tabs = list(rawsql.TABS)
    samples: list[_Sample] = []
    installers = list(t.net.rep_of_installer)
    for n in range(plan.tab_samples + 10):
        tab = tabs[n % len(tabs)]
        if n % 2 == 0:
            iid = rng.choice(installers)
            samples.append(
                ("installer", installer(t.net, iid), t.net.rep_of_installer[iid], iid, tab)
            )
        else:
            rid = rng.choice(t.net.reps)
            samples.append(("rep", rep(rid), rid, None, tab))
    return samples


def _full_page_samples(t: Target, plan: Plan, rng: random.Random) -> list[_Sample]:
    """(rep, tab) pairs of :data:`FULL_PAGE_TABS` whose first page is full at this size,
    the tabs in turn; a tab no rep fills (only the tiny smoke data) falls back to the
    tenth of the reps with the most leads in it."""
    counts = {rid: t.desk.counts(rep(rid)) for rid in t.net.reps}
    pools: dict[str, list[str]] = {}
    for tab in FULL_PAGE_TABS:
        size = {rid: counts[rid][Tab(tab)] for rid in t.net.reps}
        ranked = sorted(t.net.reps, key=lambda r: (-size[r], r))
        full = [r for r in ranked if size[r] >= PER_PAGE]
        pools[tab] = full or ranked[: max(1, len(ranked) // 10)]
    samples: list[_Sample] = []
    for n in range(plan.tab_samples + 10):
        tab = FULL_PAGE_TABS[n % len(FULL_PAGE_TABS)]
        rid = rng.choice(pools[tab])
        samples.append(("rep", rep(rid), rid, None, tab))
    return samples


def _measure_tabs(
    t: Target, conn: Any, samples: Sequence[_Sample], *, with_counts: bool
) -> tuple[dict[tuple[str, str, str], list[float]], list[int]]:
    """Latencies in ms keyed (metric, impl, kind) and the rows of each qleads page; the
    first ten samples warm caches and prepared statements and are not recorded.

    Each side reads a sample's page first every other sample (:func:`_in_turn`): the
    side that goes first meets the sample's rows where no earlier work left them (the
    CPU's caches, and SQLite's page cache, which the other side's access records
    (R14) empty), and the second finds them warm; always going first cost one side
    about 45 µs of a 0.4 ms page."""
    lat: dict[tuple[str, str, str], list[float]] = {}
    rows: list[int] = []
    for n, (kind, actor, rep_id, iid, tab) in enumerate(samples):
        measured: list[tuple[str, str, float]] = []
        for impl in _in_turn(n, "qleads", "raw"):
            started = time.perf_counter()
            if impl == "qleads":
                page = t.desk.tab(actor, Tab(tab), per_page=PER_PAGE)
            else:
                t.raw.tab_page(conn, rep_id, iid, tab, PER_PAGE, data.NOW)
            measured.append(("tab_page", impl, time.perf_counter() - started))
        if with_counts:
            for impl in _in_turn(n, "qleads", "raw"):
                started = time.perf_counter()
                if impl == "qleads":
                    t.desk.counts(actor)
                else:
                    t.raw.counts(conn, rep_id, iid)
                measured.append(("tab_counts", impl, time.perf_counter() - started))
        if n < 10:
            continue
        rows.append(len(page.items))
        for metric, impl, value in measured:
            lat.setdefault((metric, impl, kind), []).append(value * 1000)
            lat.setdefault((metric, impl, "all"), []).append(value * 1000)
    return lat, rows


def _measure_pages_in_blocks(
    t: Target, conn: Any, samples: Sequence[_Sample], rounds: int = 2
) -> tuple[dict[tuple[str, str, str], list[float]], list[int]]:
    """Full pages, qleads and raw each in blocks of their own: all samples through
    qleads, then all through raw, twice over (the first ten of each block warm up).

    Sample by sample, a raw page at 1M leads (tens of ms, hundreds at p95: it scans
    and sorts) evicts from PostgreSQL's shared buffers and SQLite's page cache the index
    and heap pages the next qleads page needs, so qleads would be measured on caches
    its own work never empties. Alternating whole blocks keeps each side's caches its
    own while both still share the machine's drift."""
    lat: dict[tuple[str, str, str], list[float]] = {}
    rows: list[int] = []
    for _round in range(rounds):
        for impl in ("qleads", "raw"):
            for n, (_kind, actor, rep_id, iid, tab) in enumerate(samples):
                started = time.perf_counter()
                if impl == "qleads":
                    page = t.desk.tab(actor, Tab(tab), per_page=PER_PAGE)
                else:
                    t.raw.tab_page(conn, rep_id, iid, tab, PER_PAGE, data.NOW)
                elapsed = time.perf_counter() - started
                if n < 10:
                    continue
                if impl == "qleads":
                    rows.append(len(page.items))
                lat.setdefault(("tab_page", impl, "all"), []).append(elapsed * 1000)
    return lat, rows


def bench_tabs(t: Target, plan: Plan, res: Results, rng: random.Random) -> None:
    """R8: page 1 (50 rows, with every tab's count, as a portal renders it) and the
    counts alone.

    ``tab_page_*`` is measured on full pages only (:func:`_full_page_samples`), the
    target's "one tab page (50 rows)", qleads and raw in alternating blocks
    (:func:`_measure_pages_in_blocks`); ``tab_page_mixed_*`` keeps the earlier mix of
    installers and reps over all seven tabs, whose pages are short at small sizes, and
    ``tab_counts_*`` the counts, both interleaved sample by sample.
    """
    conn = t.connect()
    mixed, mixed_rows = _measure_tabs(t, conn, _mixed_samples(t, plan, rng), with_counts=True)
    full, full_rows = _measure_pages_in_blocks(t, conn, _full_page_samples(t, plan, rng))
    conn.close()
    res.single(f"tab_page_rows_{t.tag}", statistics.mean(full_rows))
    res.single(f"tab_page_mixed_rows_{t.tag}", statistics.mean(mixed_rows))
    series: list[tuple[str, dict[tuple[str, str, str], list[float]], str, str]] = [
        ("tab_page", full, "tab_page", "all")
    ]
    for kind in ("all", "installer", "rep"):
        who = "" if kind == "all" else f"_{kind}"
        series.append((f"tab_page_mixed{who}", mixed, "tab_page", kind))
        series.append((f"tab_counts{who}", mixed, "tab_counts", kind))
    for name, lat, metric, kind in series:
        q, r = lat[(metric, "qleads", kind)], lat[(metric, "raw", kind)]
        for stat, p in (("p50", 0.5), ("p95", 0.95)):
            res.pair(
                f"{name}_{stat}_ms_{t.tag}", pct(q, p), pct(r, p), "ms", higher_is_better=False
            )


def bench_search(t: Target, plan: Plan, res: Results, rng: random.Random) -> None:
    """A rep's "all" tab filtered and sorted, and searched by a surname (``LeadDesk.search``,
    ``bench/search.py``): p50/p95 of the page with its total and the tab counts, beside
    the hand-written SQL doing the same."""
    conn = t.connect()
    lat = search.measure(t.desk, t.raw, conn, t.net.reps, max(20, plan.tab_samples // 4), rng, rep)
    conn.close()
    for case in search.CASES:
        q, r = lat[(case, "qleads")], lat[(case, "raw")]
        for stat, p in (("p50", 0.5), ("p95", 0.95)):
            res.pair(
                f"{case}_{stat}_ms_{t.tag}", pct(q, p), pct(r, p), "ms", higher_is_better=False
            )


def _pool(t: Target, count: int) -> list[tuple[int, str]]:
    """``count`` new leads and, for each, an installer who may claim it (R2)."""
    conn = t.connect()
    rows = conn.execute(
        "SELECT id, territory_id FROM qleads_lead WHERE status = 'new' ORDER BY id"
    ).fetchall()
    conn.rollback() if t.db == "postgres" else None
    conn.close()
    rng = random.Random(11)
    picked = rng.sample(rows, min(count, len(rows)))
    return [
        (lid, rng.choice(t.net.installers_of[t.net.territories[tid][0]])) for lid, tid in picked
    ]


def _in_turn(n: int, first: _T, second: _T) -> tuple[_T, _T]:
    """The two sides in the order of turn ``n``: each goes first every other time."""
    return (first, second) if n % 2 == 0 else (second, first)


def _set_up(t: Target, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``statement`` (``%s`` placeholders) for ``rows`` in one transaction of a
    connection of its own: setup, not measured."""
    conn = t.connect()
    t.raw.begin_write(conn)
    conn.cursor().executemany(t.raw.sql(statement), rows)
    conn.commit() if t.db == "postgres" else conn.execute("COMMIT")
    conn.close()


def _reset_claims(t: Target, ids: Sequence[int]) -> None:
    """Put claimed leads back into the pool."""
    _set_up(
        t,
        "UPDATE qleads_lead SET status = 'new', holder_id = NULL, hold_until = NULL, "
        "deadline_kind = NULL, deadline_at = NULL WHERE id = %s",
        [(i,) for i in ids],
    )


def bench_claims(t: Target, plan: Plan, res: Results) -> None:
    """R3: claims per second of distinct pool leads, 1 and 4 threads."""
    work = _pool(t, plan.claims)
    ids = [lid for lid, _ in work]
    now = data.NOW
    # Both sides get their inputs ready-made: raw its ids, qleads the actor objects a
    # portal request already holds (building an Installer is not part of a claim).
    actors = {iid: installer(t.net, iid) for _, iid in work}

    def q_claim(items: Sequence[tuple[int, str]], _conn: Any) -> None:
        for lid, iid in items:
            t.desk.claim(actors[iid], lid)

    # One connection per thread, opened before the clock starts, as qleads' pool is.
    raw_conns = [t.connect() for _ in range(4)]

    def r_claim(items: Sequence[tuple[int, str]], conn: Any) -> None:
        for lid, iid in items:
            t.raw.claim(conn, iid, t.net.rep_of_installer[iid], lid, now)

    def run(fn: Callable[[Sequence[tuple[int, str]], Any], None], threads: int) -> float:
        parts = [work[k::threads] for k in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            # Started before the clock, too.
            list(pool.map(lambda _: None, range(threads)))
            start = time.perf_counter()
            if threads == 1:
                fn(work, raw_conns[0])
            else:
                list(pool.map(fn, parts, raw_conns[:threads]))
            elapsed = time.perf_counter() - start
        _reset_claims(t, ids)
        return len(work) / elapsed

    # warm-up round (not recorded)
    run(q_claim, 1)
    run(r_claim, 1)
    for threads in (1, 4):
        # Alternating rounds, the median of each side, each side first every other
        # round. A round is short (300 claims: 0.1 s on SQLite with 4 threads, under a
        # second on PostgreSQL), and one round moved by ±30 % with the machine (on
        # PostgreSQL every claim waits for its commit's fsync on both sides; on SQLite
        # a thread that finds the write lock taken sleeps 1, 2, 5 … ms), so nine
        # rounds a side.
        q_rounds, r_rounds = [], []
        for n in range(plan.claim_rounds):
            for fn, rounds in _in_turn(n, (q_claim, q_rounds), (r_claim, r_rounds)):
                rounds.append(run(fn, threads))
        res.pair(
            f"claims_per_s_{threads}t_{t.tag}",
            statistics.median(q_rounds),
            statistics.median(r_rounds),
            "1/s",
            higher_is_better=True,
        )
    for conn in raw_conns:
        conn.close()


def _arm_deadlines(t: Target, ids: Sequence[tuple[int, str]]) -> None:
    """Give ``ids`` (closed leads) a running deadline that has passed: 60 % claim
    expiries, 20 % assignment reminders, 20 % follow-ups due."""
    rows = []
    for n, (lid, tid) in enumerate(ids):
        at = data.NOW - dt.timedelta(minutes=1 + (n * 7) % 120)
        team = t.net.installers_of[t.net.territories[tid][0]]
        holder = team[n % len(team)]
        k = n % 5
        if k < 3:
            status, kind, hold, due = "claimed", "claim_expiry", at, None
        elif k == 3:
            status, kind, hold, due = "assigned", "assignment_reminder", None, None
        else:
            status, kind, hold, due = "follow_up", "follow_up_due", None, at
        rows.append((status, holder, t.raw.t(hold), t.raw.t(due), kind, t.raw.t(at), lid))
    _set_up(
        t,
        "UPDATE qleads_lead SET status = %s, holder_id = %s, hold_until = %s, due_at = %s, "
        "deadline_kind = %s, deadline_at = %s WHERE id = %s",
        rows,
    )


def _closed_leads(t: Target, conn: Any) -> list[tuple[int, str]]:
    # Both closed statuses: at 10k there are ~5,500 unsuccessful leads, fewer than the
    # 6,000 fresh ones three runs of both sides need (~8,000 closed).
    closed = conn.execute(
        "SELECT id, territory_id FROM qleads_lead "
        "WHERE status IN ('unsuccessful', 'order_placed') ORDER BY id"
    ).fetchall()
    conn.rollback() if t.db == "postgres" else None
    return [(int(lid), str(tid)) for lid, tid in closed]


def _sweep_once(t: Target, conn: Any, batch: Sequence[tuple[int, str]], impl: str) -> float:
    """Arm ``batch`` (setup), then time one sweep of ``impl``, which must fire them all.

    The heap is collected first. A qleads sweep of 1,000 deadlines leaves enough new
    objects to set off some 60 young collections, and a full collection of the whole
    process (about 0.1 s here) whenever earlier work left the collector's counters
    near its threshold. Where that lands depends on what ran before, not on the sweep;
    in the paired growth phase it can fall on one data set's sweeps round after round.
    Starting each sweep from a collected heap gives every sweep the same collections."""
    _arm_deadlines(t, batch)
    gc.collect()
    start = time.perf_counter()
    fired = t.desk.sweep(data.NOW).total if impl == "qleads" else t.raw.sweep(conn, data.NOW)
    elapsed = time.perf_counter() - start
    if fired != len(batch):
        raise RuntimeError(f"{impl} sweep fired {fired}, expected {len(batch)}")
    return elapsed


def _close_again(t: Target, batch: Sequence[tuple[int, str]]) -> None:
    """Put swept leads back among the closed ones, so a small data set can be swept
    again."""
    _set_up(
        t,
        "UPDATE qleads_lead SET status = 'unsuccessful', hold_until = NULL, due_at = NULL, "
        "deadline_kind = NULL, deadline_at = NULL WHERE id = %s",
        [(lid,) for lid, _ in batch],
    )


def bench_sweep(t: Target, plan: Plan, res: Results) -> None:
    """R11: the time to fire ``sweep_due`` due deadlines (and nothing else is due)."""
    conn = t.connect()
    closed = _closed_leads(t, conn)
    rng = random.Random(13)
    needed = plan.sweep_due * plan.sweep_runs * 2
    chosen = rng.sample(closed, min(needed, len(closed)))
    batches = [
        chosen[k * plan.sweep_due : (k + 1) * plan.sweep_due]
        for k in range(needed // plan.sweep_due)
    ]
    q_times: list[float] = []
    r_times: list[float] = []
    for run_no in range(plan.sweep_runs):
        q_times.append(_sweep_once(t, conn, batches[2 * run_no], "qleads"))
        r_times.append(_sweep_once(t, conn, batches[2 * run_no + 1], "raw"))
    conn.close()
    res.pair(
        f"sweep_{plan.sweep_due}_s_{t.tag}", statistics.median(q_times), statistics.median(r_times),
        "s", higher_is_better=False,
    )  # fmt: skip


#: How many due deadlines the memory part sweeps (fewer if the data set is smaller).
MEMORY_DUE = 100_000


def _arm_many(t: Target, due: int) -> int:
    """Give the first ``due`` leads a deadline that has passed, in one statement: one
    in twenty a claim expiry (its lead back to the pool, a notice to each installer of
    the territory), the others assignment reminders and follow-ups (one notice each).
    The holder is the first installer of the territory's rep. The data set is spent
    afterwards (the memory part runs last)."""
    p = t.raw.p
    conn = t.connect()
    t.raw.begin_write(conn)
    # Remainders by integer division: ``%`` is psycopg's placeholder, SQLite has no mod().
    every20, odd = "(id - (id / 20) * 20) = 0", "(id - (id / 2) * 2) = 1"
    cursor = conn.execute(
        f"UPDATE qleads_lead SET "
        f"status = CASE WHEN {every20} THEN 'claimed' WHEN {odd} THEN 'follow_up' "
        f"ELSE 'assigned' END, "
        f"holder_id = (SELECT min(i.id) FROM qleads_installer i JOIN qleads_territory r "
        f"ON r.rep_id = i.rep_id WHERE r.id = qleads_lead.territory_id), "
        f"hold_until = CASE WHEN {every20} THEN {p} END, "
        f"due_at = CASE WHEN {odd} AND NOT {every20} THEN {p} END, "
        f"deadline_kind = CASE WHEN {every20} THEN 'claim_expiry' "
        f"WHEN {odd} THEN 'follow_up_due' ELSE 'assignment_reminder' END, "
        f"deadline_at = {p} "
        f"WHERE id IN (SELECT id FROM qleads_lead WHERE territory_id IS NOT NULL "
        f"ORDER BY id LIMIT {p})",
        (*(t.raw.t(data.NOW - dt.timedelta(hours=1)),) * 3, due),
    )
    armed = cursor.rowcount
    conn.commit() if t.db == "postgres" else conn.execute("COMMIT")
    conn.close()
    return int(armed)


def bench_memory(t: Target, res: Results) -> None:
    """A sweep of up to :data:`MEMORY_DUE` due deadlines in a process of its own
    (``bench/sweep_memory.py``): its peak RSS growth, which batching keeps bounded."""
    armed = _arm_many(t, min(MEMORY_DUE, t.size))
    settle(t)
    done = subprocess.run(
        [sys.executable, str(HERE / "sweep_memory.py"), t.url],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["fired"] != armed:
        raise RuntimeError(f"the memory sweep fired {figures['fired']} of {armed} deadlines")
    res.single(f"sweep_100k_rss_mb_{t.db}", figures["rss_growth_mb"])
    res.single(f"sweep_100k_s_{t.db}", figures["seconds"])
    res.single(f"sweep_100k_fired_{t.db}", figures["fired"])
    print(
        f"  memory {t.tag}: {figures['fired']} deadlines in {figures['seconds']:.1f}s, "
        f"peak RSS +{figures['rss_growth_mb']:.1f} MB",
        flush=True,
    )


def bench_growth(small: Target, large: Target, plan: Plan, res: Results) -> None:
    """The growth targets (from 10k to 1M leads a tab page and a 1,000-deadline sweep
    grow by at most 1.2 ×), measured in the same minutes.

    The per-size metrics are taken minutes apart (the 1M set loads for five minutes in
    between), and on this kind of machine a single sweep or page moves by ±30 % from one
    minute to the next, so their quotient says as much about the machine as about the
    data. Here the smallest and the largest data set, both loaded, take turns:
    ``growth_rounds`` rounds of one full-page block each (qleads then raw, the same
    samples as :func:`bench_tabs`) and ``growth_sweeps`` sweeps of ``sweep_due`` fresh
    deadlines per side; growth is the quotient of the medians. Swept leads are closed again
    afterwards, so the small set does not run out of closed leads. Both data sets are
    settled (:func:`settle`) first."""
    db = large.db
    targets = (small, large)
    samples = {t.size: _full_page_samples(t, plan, random.Random(t.size)) for t in targets}
    conns = {t.size: t.connect() for t in targets}
    closed = {t.size: _closed_leads(t, conns[t.size]) for t in targets}
    rng = random.Random(29)
    for t in targets:
        settle(t)
    pages: dict[tuple[int, str], list[float]] = {}
    sweeps: dict[tuple[int, str], list[float]] = {}
    try:
        for _round in range(plan.growth_rounds):
            for t in targets:
                lat, _rows = _measure_pages_in_blocks(t, conns[t.size], samples[t.size], rounds=1)
                for impl in ("qleads", "raw"):
                    pages.setdefault((t.size, impl), []).extend(lat[("tab_page", impl, "all")])
                for n in range(plan.growth_sweeps):
                    for impl in _in_turn(n, "qleads", "raw"):
                        batch = rng.sample(closed[t.size], plan.sweep_due)
                        elapsed = _sweep_once(t, conns[t.size], batch, impl)
                        sweeps.setdefault((t.size, impl), []).append(elapsed)
                        _close_again(t, batch)
    finally:
        for conn in conns.values():
            conn.close()
    m = res.metrics
    for impl in ("qleads", "raw"):
        suffix = "" if impl == "qleads" else "_raw"
        page = {t.size: pct(pages[(t.size, impl)], 0.5) for t in targets}
        sweep = {t.size: statistics.median(sweeps[(t.size, impl)]) for t in targets}
        for t in targets:
            m[f"growth_tab_page_p50_ms_{db}_{label(t.size)}_{impl}"] = page[t.size]
            m[f"growth_sweep_{plan.sweep_due}_s_{db}_{label(t.size)}_{impl}"] = sweep[t.size]
        m[f"tab_page_growth_{db}{suffix}"] = page[large.size] / page[small.size]
        m[f"sweep_growth_{db}{suffix}"] = sweep[large.size] / sweep[small.size]


def bench_intake(t: Target, plan: Plan, res: Results) -> None:
    """R1: validated, routed, stored leads per second with their new-lead notices."""
    rng = random.Random(17)
    regions, weights = data.region_weights()
    source = LeadSource("solarrechner", "Solarrechner")
    received = data.NOW - dt.timedelta(minutes=5)

    def docs(prefix: str) -> list[dict[str, Any]]:
        return [
            data.document(rng, f"{prefix}-{n}", data.postal_code(rng, regions, weights), received)
            for n in range(plan.intakes)
        ]

    # Five blocks a side, taking turns, so that both share the machine's drift; the
    # figure is the median block's rate.
    blocks = 5
    q_docs, r_docs = docs(f"bq-{t.tag}"), docs(f"br-{t.tag}")
    size = max(1, len(q_docs) // blocks)
    conn = t.connect()
    q_rates: list[float] = []
    r_rates: list[float] = []
    for block in range(blocks):
        mine = q_docs[block * size : (block + 1) * size]
        start = time.perf_counter()
        for d in mine:
            t.desk.intake(source, d)
        q_rates.append(len(mine) / (time.perf_counter() - start))
        theirs = r_docs[block * size : (block + 1) * size]
        start = time.perf_counter()
        for d in theirs:
            t.raw.intake(conn, d, source.id, data.NOW)
        r_rates.append(len(theirs) / (time.perf_counter() - start))
    conn.close()
    q, r = statistics.median(q_rates), statistics.median(r_rates)
    res.pair(f"intake_per_s_{t.tag}", q, r, "1/s", higher_is_better=True)


def _raw_scorecard(t: Target, conn: Any, team: Sequence[str], territories: Sequence[str],
                   start: dt.datetime, end: dt.datetime) -> None:  # fmt: skip
    """The scorecard's three queries written by hand, on the driver directly."""
    p = "%s" if t.db == "postgres" else "?"
    at: Callable[[dt.datetime], Any] = (lambda v: v) if t.db == "postgres" else data.sqlite_time
    ids = ", ".join([p] * len(team))
    conn.execute(
        f"SELECT holder_id, kind, to_status, reason, count(*) FROM qleads_event "
        f"WHERE holder_id IN ({ids}) AND kind IN ('assigned', 'claimed', 'expired', "
        f"'reassigned', 'recorded', 'released') AND recorded_at >= {p} AND recorded_at < {p} "
        "GROUP BY holder_id, kind, to_status, reason",
        [*team, at(start), at(end)],
    ).fetchall()
    conn.execute(
        "SELECT s.holder_id, s.lead_id, s.recorded_at, (SELECT min(r.effective_at) "
        "FROM qleads_event r WHERE r.lead_id = s.lead_id AND r.version > s.version "
        "AND r.kind = 'recorded' AND r.holder_id = s.holder_id) FROM qleads_event s "
        f"WHERE s.holder_id IN ({ids}) AND s.kind IN ('claimed', 'assigned', 'reassigned') "
        f"AND s.recorded_at >= {p} AND s.recorded_at < {p}",
        [*team, at(start), at(end)],
    ).fetchall()
    places = ", ".join([p] * len(territories))
    conn.execute(
        f"SELECT count(*) FROM qleads_lead WHERE territory_id IN ({places}) "
        f"AND received_at >= {p} AND received_at < {p}",
        [*territories, at(start), at(end)],
    ).fetchone()


def bench_scorecard(t: Target, plan: Plan, res: Results) -> None:
    """The partner scorecard (``LeadDesk.scorecards``) of one rep's whole team for the
    last 30 days, beside the same three queries written by hand; qleads adds the
    business hours of each first contact on the calendar."""
    rep_id = t.net.reps[0]
    team = t.net.installers_of[rep_id]
    territories = t.net.territories_of[rep_id]
    end = data.NOW
    start = end - dt.timedelta(days=30)
    runs = max(3, plan.tab_samples // 30)
    staff = rep(rep_id)
    t.desk.scorecards(staff, start, end)  # warm
    q = [timed(lambda: t.desk.scorecards(staff, start, end)) for _ in range(runs)]
    conn = t.connect()
    try:
        _raw_scorecard(t, conn, team, territories, start, end)  # warm
        r = [
            timed(lambda: _raw_scorecard(t, conn, team, territories, start, end))
            for _ in range(runs)
        ]
    finally:
        conn.close()
    res.pair(
        f"scorecard_team_ms_{t.tag}",
        statistics.median(q) * 1000,
        statistics.median(r) * 1000,
        "ms",
        higher_is_better=False,
    )


# --- data sets ----------------------------------------------------------------------------


def _pg_admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def postgres_reachable(url: str) -> bool:
    try:
        with _pg_admin(url) as conn:
            conn.execute("SELECT 1")
    except Exception:
        return False
    return True


def prepare(
    db: str,
    size: int,
    plan: Plan,
    net: data.Network,
    pg_url: str,
    res: Results,
    workdir: Path = OUT,
    run_tag: str = "",
) -> Target:
    tag = f"{db}_{label(size)}"
    suffix = f"_{run_tag}" if run_tag else ""
    if db == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"bench-{plan.name}-{label(size)}{suffix}.db"
        for ext in ("", "-wal", "-shm"):
            Path(f"{path}{ext}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        loaded = data.load_sqlite(str(path), make_engine(url), net, size)

        def connect() -> Any:
            return rawsql.connect_sqlite(str(path))

        engine = make_engine(url, pool_size=8, max_overflow=8)
    else:
        name = f"qleads_bench_{plan.name}_{label(size)}{suffix}"
        with _pg_admin(pg_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
        loaded = data.load_postgres(make_engine(url), net, size)

        def connect() -> Any:
            return rawsql.connect_postgres(url)

        engine = make_engine(url, pool_size=8, max_overflow=8)
    print(
        f"  loaded {tag}: {loaded.leads} leads, {loaded.events} events in {loaded.seconds:.1f}s",
        flush=True,
    )
    res.single(f"load_s_{tag}", loaded.seconds)
    repository = SqlAlchemyLeadRepository(engine)
    # The generated leads go back years: the retention periods (R14) would anonymise
    # them on the first sweep, which is not what the sweep's numbers measure.
    keep = Policy(
        retention_closed_months=1200,
        retention_unclaimed_months=1200,
        retention_access_log_months=1200,
    )
    desk = LeadDesk(repository, SqlAlchemyDirectory(engine), FrozenClock(data.NOW), keep)
    return Target(db, size, url, net, desk, repository, connect, rawsql.RawSql(
        "postgresql" if db == "postgres" else "sqlite"
    ))  # fmt: skip


def settle(t: Target) -> None:
    """Finish the writing that loading or earlier phases left behind, before measuring.

    A 1M load leaves work to the background writers: PostgreSQL's spread checkpoint (the
    ``COPY`` fills its WAL several times over) and the kernel's write-back of the files.
    Done while the first rounds run, it would delay whichever side's commits meet it. So:
    a checkpoint (``CHECKPOINT`` on PostgreSQL, a passive WAL checkpoint on SQLite), then
    ``os.sync()``. On the machine of bench/RESULTS.md it took at most a second."""
    if t.db == "postgres":
        with _pg_admin(t.url) as admin:
            admin.execute("CHECKPOINT")
    else:
        conn = t.connect()
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
    os.sync()


def finish(t: Target, pg_url: str, keep: bool) -> None:
    t.repository.engine.dispose()
    if keep:
        return
    if t.db == "sqlite":
        path = t.url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = t.url.rsplit("/", 1)[1]
        with _pg_admin(pg_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- R9 -----------------------------------------------------------------------------------


def pendulum_add_business_days(
    instant: dt.datetime, n: int, days_off: Any, workdays: frozenset[int], tz: str
) -> dt.datetime:
    """R9 the plain way: step day by day with pendulum, skipping weekends and holidays."""
    import pendulum

    local = pendulum.instance(instant).in_timezone(tz)
    day = local.date()
    wall = (local.hour, local.minute, local.second, local.microsecond)
    if day.weekday() not in workdays or day in days_off:
        wall = (0, 0, 0, 0)
        day = day.add(days=1)
        while day.weekday() not in workdays or day in days_off:
            day = day.add(days=1)
    counted = 0
    while counted < n:
        day = day.add(days=1)
        if day.weekday() in workdays and day not in days_off:
            counted += 1
    # Rebuild the wall time on the target day (a DST gap moves it forward, R9).
    return pendulum.datetime(day.year, day.month, day.day, *wall, tz=tz).in_timezone("UTC")


def bench_calendar(plan: Plan, res: Results) -> None:
    import holidays

    from qleads.calendar import Calendar

    calendar = Calendar("DE", "SN")
    days_off = holidays.country_holidays("DE", subdiv="SN", years=range(2025, 2030))
    rng = random.Random(19)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    instants = [
        start + dt.timedelta(minutes=rng.randint(0, 2 * 365 * 1440)) for _ in range(plan.calendar_n)
    ]
    ns = [rng.choice((2, 2, 2, 5, 10)) for _ in instants]
    calendar.add_business_days(start, 2)  # warm the year cache
    t0 = time.perf_counter()
    ours = [calendar.add_business_days(i, n) for i, n in zip(instants, ns, strict=True)]
    q = len(instants) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    theirs = [
        pendulum_add_business_days(i, n, days_off, calendar.workdays, "Europe/Berlin")
        for i, n in zip(instants, ns, strict=True)
    ]
    p = len(instants) / (time.perf_counter() - t0)
    differ = sum(1 for a, b in zip(ours, theirs, strict=True) if a != b)
    if differ:
        raise RuntimeError(f"Calendar and the pendulum loop disagree on {differ} instants")
    res.pair("deadlines_per_s", q, p, "1/s", higher_is_better=True)
    res.single("deadline_speedup", q / p)


# --- main ---------------------------------------------------------------------------------


def summarise(res: Results, plan: Plan, dbs: Iterable[str]) -> None:
    """The named target metrics, from the largest and the smallest data set."""
    m = res.metrics
    small, large = label(plan.sizes[0]), label(plan.sizes[-1])
    for db in dbs:
        m[f"claim_ratio_{db}"] = m[f"claims_per_s_1t_{db}_{large}_ratio"]
        m[f"claim_ratio_4t_{db}"] = m[f"claims_per_s_4t_{db}_{large}_ratio"]
        m[f"tab_page_ratio_{db}"] = m[f"tab_page_p50_ms_{db}_{large}_ratio"]
        m[f"tab_counts_ratio_{db}"] = m[f"tab_counts_p50_ms_{db}_{large}_ratio"]
        m[f"intake_ratio_{db}"] = m[f"intake_per_s_{db}_{large}_ratio"]
        m[f"sweep_ratio_{db}"] = m[f"sweep_{plan.sweep_due}_s_{db}_{large}_ratio"]
        m[f"tab_page_mixed_ratio_{db}"] = m[f"tab_page_mixed_p50_ms_{db}_{large}_ratio"]
        for case in search.CASES:
            m[f"{case}_ratio_{db}"] = m[f"{case}_p50_ms_{db}_{large}_ratio"]
        # The per-size figures, minutes apart; tab_page_growth_* and sweep_growth_*
        # themselves come from the paired phase (bench_growth).
        for impl in ("qleads", "raw"):
            suffix = "" if impl == "qleads" else "_raw"
            m[f"tab_page_mixed_growth_{db}{suffix}"] = (
                m[f"tab_page_mixed_p50_ms_{db}_{large}_{impl}"]
                / m[f"tab_page_mixed_p50_ms_{db}_{small}_{impl}"]
            )
            m[f"tab_page_growth_{db}_sequential{suffix}"] = (
                m[f"tab_page_p50_ms_{db}_{large}_{impl}"]
                / m[f"tab_page_p50_ms_{db}_{small}_{impl}"]
            )
            m[f"sweep_growth_{db}_sequential{suffix}"] = (
                m[f"sweep_{plan.sweep_due}_s_{db}_{large}_{impl}"]
                / m[f"sweep_{plan.sweep_due}_s_{db}_{small}_{impl}"]
            )


def targets(res: Results, dbs: Iterable[str]) -> list[str]:
    """The console verdicts, from the same table as bench/RESULTS.md (``report.TARGETS``)."""
    m = res.metrics
    lines = []
    for db in dbs:
        for template, op, bound, text in report.TARGETS:
            if "{db}" not in template and not template.endswith(f"_{db}"):
                continue  # a target of the other database
            key = template.format(db=db)
            if key not in m:
                continue
            value = m[key]
            if not op:
                lines.append(f"{key:<40} {value:8.3f}  ({text})")
                continue
            verdict = "met" if report.met(value, op, bound) else "NOT met"
            lines.append(f"{key:<40} {value:8.3f}  target {op} {bound:<4}  {verdict}")
    value = m["deadline_speedup"]
    verdict = "met" if value >= report.DEADLINE_SPEEDUP else "NOT met"
    bound = f">= {report.DEADLINE_SPEEDUP:g}"
    lines.append(f"{'deadline_speedup':<40} {value:8.3f}  target {bound:<7} {verdict}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="10k and 100k leads (< 5 minutes)")
    mode.add_argument("--smoke", action="store_true", help="a tiny data set, for the tests")
    parser.add_argument("--json", type=Path, help="write the metrics here")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--workdir", type=Path, default=OUT, help="where the SQLite files go")
    parser.add_argument("--tag", default="", help="added to database names (parallel runs)")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated parts to measure (of {', '.join(PARTS)}); all by default. "
        "A partial run prints its table but no targets and writes no summary keys",
    )
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - set(PARTS)
    if unknown:
        parser.error(
            f"--only: unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}"
        )
    wanted = only or set(PARTS)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    dbs = ["sqlite"]
    if not args.no_postgres:
        if postgres_reachable(args.postgres_url):
            dbs.append("postgres")
        else:
            print(f"PostgreSQL not reachable at {args.postgres_url}: SQLite only", file=sys.stderr)
    started = time.perf_counter()
    res = Results()
    net = data.network(plan.reps, plan.installers)
    print(f"plan {plan.name}: sizes {[label(s) for s in plan.sizes]}, databases {dbs}", flush=True)
    if "calendar" in wanted:
        bench_calendar(plan, res)
    for db in dbs:
        # The smallest data set stays loaded until the largest is measured, for the
        # paired growth phase.
        smallest: Target | None = None
        try:
            for size in plan.sizes:
                t = prepare(db, size, plan, net, args.postgres_url, res, args.workdir, args.tag)
                settled = timed(lambda t=t: settle(t))
                print(f"  settled {t.tag} in {settled:.1f}s", flush=True)
                if smallest is None:
                    smallest = t
                try:
                    if "tabs" in wanted:
                        bench_tabs(t, plan, res, random.Random(size))
                    if "search" in wanted:
                        bench_search(t, plan, res, random.Random(size))
                    if "claims" in wanted:
                        bench_claims(t, plan, res)
                    if "intake" in wanted:
                        bench_intake(t, plan, res)
                    if "sweep" in wanted:
                        bench_sweep(t, plan, res)
                    if "scorecard" in wanted:
                        bench_scorecard(t, plan, res)
                    print(
                        f"  measured {t.tag} ({time.perf_counter() - started:.0f}s so far)",
                        flush=True,
                    )
                    if t is not smallest and size == plan.sizes[-1] and "growth" in wanted:
                        bench_growth(smallest, t, plan, res)
                        print(
                            f"  growth {smallest.tag} vs {t.tag} "
                            f"({time.perf_counter() - started:.0f}s so far)",
                            flush=True,
                        )
                    if size == plan.sizes[-1] and "memory" in wanted:
                        bench_memory(t, res)  # last: it spends the data set
                finally:
                    if t is not smallest:
                        finish(t, args.postgres_url, args.keep)
        finally:
            if smallest is not None:
                finish(smallest, args.postgres_url, args.keep)
    if not only:
        summarise(res, plan, dbs)
    res.single("total_s", time.perf_counter() - started)
    print()
    print(res.table())
    print()
    if not only:
        print("\n".join(targets(res, dbs)))
    print(f"\ntotal {res.metrics['total_s']:.0f}s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(res.metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
