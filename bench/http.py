"""The reference portal measured end to end over HTTP, beside the limit of a Flask portal.

    python bench/http.py [--quick | --smoke] [--json PATH] [--postgres-url URL] [--keep]

Builds one PostgreSQL data set (``bench/data.py``: 200 reps, 5,000 installers, 100k
leads; ``--smoke``: a tiny one), adds the portal's tables (its Alembic tree) and logins
for the installers who play, then starts two gunicorns with the portal's settings
(``examples/admin_app/gunicorn.conf.py``, 2 workers × 4 threads):

* **qleads** — the portal, ``examples.admin_app.wsgi:app``;
* **raw** — ``bench/http_raw_app.py``: the same templates rendered from hand-written SQL
  through psycopg, no qleads in its request path (its docstring lists what it skips).

50 installers (one per rep, the reps with the largest pools, each pool topped up to 120
leads from the rep's unsuccessful ones so that no turn empties it) log in to both and then
loop without pause: start page, a tab page (the five tabs in turn), the detail page of a
lead from his pool, its claim, and a status record on it ("Kontaktversuch erfolgt").
The two apps take turns (qleads, raw, qleads, raw …) so that both share the machine's
drift; the first seconds of a turn warm up and are not counted. After every turn the
leads claimed in it go back to the pool and the tab counters are recounted, so each turn
starts from the same data.

Prints requests/s and p50/p95 per endpoint for both, and writes a flat JSON object
(``--json``): ``http_<endpoint>_rps_ratio`` (qleads ÷ raw) and
``http_<endpoint>_p95_ratio`` with the raw figures beside them. The targets (rps ratio
>= 0.8, p95 ratio <= 1.25 on every endpoint) are reported, never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``http`` package and Python puts its
# folder first on the path: without this, ``import http.client`` would find this file.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import attrs  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402

from bench import data  # noqa: E402

DEFAULT_POSTGRES_URL = os.environ.get(
    "QLEADS_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
OUT = HERE / "out"
PASSWORD = "bench-http-password-2026"
#: The pool each playing installer starts every turn with (:func:`_top_up`).
POOL = 120
ENDPOINTS = ("start", "tab", "detail", "claim", "record")
#: What each endpoint answers when all is well (claim and record redirect).
EXPECTED = {"start": 200, "tab": 200, "detail": 200, "claim": 302, "record": 302}
APPS = ("qleads", "raw")
TAB_CYCLE = ("all", "new", "follow_up", "in_progress", "closed")
TARGET_RPS_RATIO = 0.8
TARGET_P95_RATIO = 1.25

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_LEAD = re.compile(r'href="/leads/(\d+)"')


@attrs.frozen
class Plan:
    name: str
    leads: int
    reps: int = 200
    installers: int = 5000
    users: int = 50
    #: A player claims from his rep's pool (topped up to :data:`POOL` leads) and a turn
    #: must not empty it, or the loop would lose its detail, claim and record (a player
    #: whose pool is empty sits the rest of the turn out; reported as
    #: ``http_no_pool_*``). The pool is refilled between turns.
    rounds: int = 12
    turn_seconds: float = 10.0
    warmup_seconds: float = 2.0


PLANS = {
    "full": Plan("full", 100_000),
    "quick": Plan("quick", 100_000, rounds=3, turn_seconds=8.0),
    "smoke": Plan(
        "smoke", 3000, reps=10, installers=50, users=4, rounds=1, turn_seconds=4.0,
        warmup_seconds=1.0,
    ),
}  # fmt: skip


# --- the data set ----------------------------------------------------------------------


def _pg(url: str, **kw: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), **kw)


def postgres_reachable(url: str) -> bool:
    try:
        with _pg(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def prepare(plan: Plan, pg_url: str, tag: str) -> tuple[str, list[str]]:
    """A fresh database with the data set, the portal's tables and a login for each
    playing installer; returns its URL and the installers' ids."""
    from sqlalchemy.orm import Session
    from werkzeug.security import generate_password_hash

    from examples.admin_app.migrations import upgrade_all
    from examples.admin_app.models import PortalUser
    from qleads.adapters.sql import make_engine

    name = f"qleads_bench_http_{plan.name}" + (f"_{tag}" if tag else "")
    with _pg(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    net = data.network(plan.reps, plan.installers)
    engine = make_engine(url)
    try:
        loaded = data.load_postgres(engine, net, plan.leads)
        print(f"  loaded {loaded.leads} leads, {loaded.events} events in {loaded.seconds:.1f}s")
        upgrade_all(engine)
        installers = _players(url, net, plan.users)
        _top_up(url, [net.rep_of_installer[i] for i in installers], POOL)
        password_hash = generate_password_hash(PASSWORD)
        with Session(engine) as session, session.begin():
            for installer_id in installers:
                session.add(
                    PortalUser(
                        username=installer_id,
                        password_hash=password_hash,
                        role="installer",
                        actor_id=installer_id,
                        language="de",
                    )
                )
    finally:
        engine.dispose()
    with _pg(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    return url, installers


def _players(url: str, net: data.Network, count: int) -> list[str]:
    """The first installer of each of the ``count`` reps with the largest pools: one per
    rep, so that no two players race for a lead and each has a pool to claim from."""
    with _pg(url) as conn:
        pools = dict(
            conn.execute(
                "SELECT t.rep_id, count(*) FROM qleads_lead l JOIN qleads_territory t "
                "ON t.id = l.territory_id WHERE l.status = 'new' GROUP BY t.rep_id"
            ).fetchall()
        )
    reps = sorted(net.reps, key=lambda r: (-pools.get(r, 0), r))[:count]
    return [net.installers_of[r][0] for r in reps]


def _top_up(url: str, reps: Sequence[str], size: int) -> None:
    """Reopen the newest unsuccessful leads of each playing rep until his pool holds
    ``size``: at 100k a pool holds 23 to 93 leads, which a fast app's turn would empty
    (the raw app claims about one lead per player and second). Both apps get the same
    data; the tab counters are recounted."""
    from qleads.adapters.sql.schema import RECOUNT_SQL

    with _pg(url) as conn:
        for rep in reps:
            conn.execute(
                "WITH pool AS (SELECT count(*) AS n FROM qleads_lead l JOIN qleads_territory t "
                "ON t.id = l.territory_id WHERE t.rep_id = %(rep)s AND l.status = 'new') "
                "UPDATE qleads_lead SET status = 'new', holder_id = NULL, hold_until = NULL, "
                "due_at = NULL, deadline_kind = NULL, deadline_at = NULL WHERE id IN "
                "(SELECT l.id FROM qleads_lead l JOIN qleads_territory t ON t.id = l.territory_id "
                "WHERE t.rep_id = %(rep)s AND l.status = 'unsuccessful' "
                "ORDER BY l.received_at DESC LIMIT greatest(0, %(size)s - (SELECT n FROM pool)))",
                {"rep": rep, "size": size},
            )
        conn.execute("DELETE FROM qleads_lead_count")
        conn.execute(RECOUNT_SQL)
        conn.commit()


def reset(url: str, since_event: int) -> int:
    """Put the leads claimed since event ``since_event`` back into the pool and recount
    the tab counters (the raw app does not keep them); returns how many."""
    from qleads.adapters.sql.schema import RECOUNT_SQL

    with _pg(url) as conn:
        cur = conn.execute(
            "UPDATE qleads_lead SET status = 'new', holder_id = NULL, hold_until = NULL, "
            "due_at = NULL, deadline_kind = NULL, deadline_at = NULL WHERE id IN "
            "(SELECT lead_id FROM qleads_event WHERE id > %s AND kind = 'claimed')",
            (since_event,),
        )
        conn.execute("DELETE FROM qleads_lead_count")
        conn.execute(RECOUNT_SQL)
        conn.commit()
        return cur.rowcount


def last_event(url: str) -> int:
    with _pg(url) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM qleads_event").fetchone()
        assert row is not None
        return int(row[0])


# --- the servers -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.define
class Server:
    name: str
    module: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, url: str, secret: str) -> None:
        env = dict(os.environ)
        env.update(
            QLEADS_BIND=f"127.0.0.1:{self.port}",
            QLEADS_WEB_WORKERS="2",
            QLEADS_WEB_THREADS="4",
            QLEADS_DATABASE_URL=url,
            QLEADS_SECRET_KEY=secret,
            QLEADS_AUTO_UPGRADE="0",
            QLEADS_LOG_LEVEL="WARNING",
            # Only failed logins count, but a bench must never meet the throttle.
            QLEADS_RATELIMIT_LOGIN_ACCOUNT="100000 per minute",
            QLEADS_RATELIMIT_LOGIN_CLIENT="100000 per minute",
            PYTHONPATH=os.pathsep.join(
                [str(ROOT / "src"), str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
            ),
        )
        gunicorn = Path(sys.executable).parent / "gunicorn"
        conf = ROOT / "examples" / "admin_app" / "gunicorn.conf.py"
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            [str(gunicorn), "-c", str(conf), self.module],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()

    def wait_ready(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}")
            # Not listening yet: the next try, until the deadline.
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer in {timeout:.0f}s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM to the gunicorn this run started (its master and workers)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


# --- the installers --------------------------------------------------------------------


@attrs.frozen
class Sample:
    app: str
    endpoint: str
    done: float  # time.monotonic() when the answer was read
    seconds: float
    status: int


class Player:
    """One installer in a browser, logged in to one app."""

    def __init__(self, app: str, base: str, username: str, seed: int) -> None:
        self.app = app
        self.base = base
        self.username = username
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.token = ""
        self.turn = 0
        self.no_pool = 0
        self.idle = False

    def _send(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            response = self.session.request(
                method, self.base + path, timeout=60, allow_redirects=False, **kw
            )
        except requests.ConnectionError:
            # gunicorn closes a keep-alive connection idle for two seconds (a player
            # sits out the other app's turn); a request sent on it as it closes is
            # reset unread. Once more on a new connection.
            self.session.close()
            response = self.session.request(
                method, self.base + path, timeout=60, allow_redirects=False, **kw
            )
        found = _CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def log_in(self) -> None:
        self._send("GET", "/login")
        answer = self._send(
            "POST",
            "/login",
            data={"csrf_token": self.token, "username": self.username, "password": PASSWORD},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{self.app}: login of {self.username}: {answer.status_code}")

    def _timed(
        self, samples: list[Sample], endpoint: str, method: str, path: str, **kw: Any
    ) -> requests.Response:
        started = time.perf_counter()
        response = self._send(method, path, **kw)
        elapsed = time.perf_counter() - started
        samples.append(Sample(self.app, endpoint, time.monotonic(), elapsed, response.status_code))
        return response

    def step(self, samples: list[Sample]) -> None:
        """Start page, a tab, a pool lead's detail, its claim, a status record."""
        start = self._timed(samples, "start", "GET", "/installer/")
        text = start.text
        pool = text[text.find('id="available"') : text.find('id="mine"')]
        available = [int(i) for i in _LEAD.findall(pool)]
        tab = TAB_CYCLE[self.turn % len(TAB_CYCLE)]
        self.turn += 1
        self._timed(samples, "tab", "GET", f"/installer/tab/{tab}")
        if not available:
            # His pool is empty: he sits the turn out rather than loop over the two
            # lists alone, which would change the mix being measured.
            self.no_pool += 1
            self.idle = True
            return
        lead = self.rng.choice(available)
        self._timed(samples, "detail", "GET", f"/leads/{lead}")
        self._timed(
            samples, "claim", "POST", f"/leads/{lead}/claim", data={"csrf_token": self.token}
        )
        self._timed(
            samples,
            "record",
            "POST",
            f"/leads/{lead}/status",
            data={
                "csrf_token": self.token,
                "status": "contact_attempted",
                "channel": "phone",
                "note": "Rückruf vereinbart.",
            },
        )


def run_turn(players: Sequence[Player], seconds: float) -> tuple[list[Sample], float]:
    """Every player loops until ``seconds`` are over; returns the samples and when the
    turn began (``time.monotonic()``)."""
    samples: list[list[Sample]] = [[] for _ in players]
    began = time.monotonic()
    until = began + seconds
    errors: list[BaseException] = []

    def play(player: Player, mine: list[Sample]) -> None:
        player.idle = False
        try:
            while time.monotonic() < until and not player.idle:
                player.step(mine)
        except BaseException as exc:  # reported after the turn
            errors.append(exc)

    threads = [
        threading.Thread(target=play, args=(p, s), daemon=True)
        for p, s in zip(players, samples, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} players failed: {errors[0]!r}") from errors[0]
    return [s for mine in samples for s in mine], began


# --- figures ---------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def figures(
    samples: Sequence[Sample], measured: dict[str, float], players: dict[str, list[Player]]
) -> dict[str, float]:
    """The flat metric map: per endpoint and app, requests/s over the measured seconds,
    p50/p95 in ms, the answers as expected and not; the ratios qleads ÷ raw."""
    m: dict[str, float] = {}
    for endpoint in ENDPOINTS:
        for app in APPS:
            mine = [s for s in samples if s.app == app and s.endpoint == endpoint]
            ok = [s for s in mine if s.status == EXPECTED[endpoint]]
            latencies = [s.seconds * 1000 for s in ok]
            m[f"http_{endpoint}_rps_{app}"] = len(ok) / measured[app] if measured[app] else 0.0
            m[f"http_{endpoint}_p50_ms_{app}"] = pct(latencies, 0.5)
            m[f"http_{endpoint}_p95_ms_{app}"] = pct(latencies, 0.95)
            m[f"http_{endpoint}_ok_{app}"] = len(ok)
            m[f"http_{endpoint}_failed_{app}"] = len(mine) - len(ok)
        for stat in ("rps", "p50_ms", "p95_ms"):
            q, r = m[f"http_{endpoint}_{stat}_qleads"], m[f"http_{endpoint}_{stat}_raw"]
            m[f"http_{endpoint}_{stat.removesuffix('_ms')}_ratio"] = q / r if r else 0.0
    for app in APPS:
        ok = sum(m[f"http_{e}_ok_{app}"] for e in ENDPOINTS)
        m[f"http_total_rps_{app}"] = ok / measured[app] if measured[app] else 0.0
        m[f"http_measured_s_{app}"] = measured[app]
        m[f"http_no_pool_{app}"] = sum(p.no_pool for p in players[app])
    r = m["http_total_rps_raw"]
    m["http_total_rps_ratio"] = m["http_total_rps_qleads"] / r if r else 0.0
    return m


def table(m: dict[str, float]) -> str:
    head = (
        f"{'endpoint':<9} {'rps qleads':>10} {'rps raw':>9} {'ratio':>6}   "
        f"{'p50 q':>7} {'p50 raw':>7}   {'p95 q':>7} {'p95 raw':>7} {'ratio':>6}"
    )
    lines = [head, "-" * len(head)]
    for e in ENDPOINTS:
        lines.append(
            f"{e:<9} {m[f'http_{e}_rps_qleads']:10.1f} {m[f'http_{e}_rps_raw']:9.1f} "
            f"{m[f'http_{e}_rps_ratio']:6.2f}   {m[f'http_{e}_p50_ms_qleads']:7.1f} "
            f"{m[f'http_{e}_p50_ms_raw']:7.1f}   {m[f'http_{e}_p95_ms_qleads']:7.1f} "
            f"{m[f'http_{e}_p95_ms_raw']:7.1f} {m[f'http_{e}_p95_ratio']:6.2f}"
        )
    lines.append(
        f"{'all':<9} {m['http_total_rps_qleads']:10.1f} {m['http_total_rps_raw']:9.1f} "
        f"{m['http_total_rps_ratio']:6.2f}"
    )
    failed = {app: sum(m[f"http_{e}_failed_{app}"] for e in ENDPOINTS) for app in APPS}
    lines.append(
        f"unexpected answers: qleads {failed['qleads']:.0f}, raw {failed['raw']:.0f}; "
        f"loops without a pool lead: qleads {m['http_no_pool_qleads']:.0f}, "
        f"raw {m['http_no_pool_raw']:.0f}"
    )
    return "\n".join(lines)


def verdicts(m: dict[str, float]) -> list[str]:
    lines = []
    for e in ENDPOINTS:
        for key, ok, bound in (
            (f"http_{e}_rps_ratio", m[f"http_{e}_rps_ratio"] >= TARGET_RPS_RATIO, ">= 0.8"),
            (f"http_{e}_p95_ratio", m[f"http_{e}_p95_ratio"] <= TARGET_P95_RATIO, "<= 1.25"),
        ):
            lines.append(f"{key:<26} {m[key]:6.2f}  target {bound:<8} {'met' if ok else 'NOT met'}")
    return lines


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter turns (a few minutes)")
    mode.add_argument("--smoke", action="store_true", help="a tiny run, for the tests")
    parser.add_argument("--json", type=Path, help="write the metrics here")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--tag", default="", help="added to the database's name")
    parser.add_argument("--workdir", type=Path, default=OUT, help="where the server logs go")
    parser.add_argument("--leads", type=int, help="leads in the data set (default: the plan's)")
    parser.add_argument("--rounds", type=int, help="turns per app (default: the plan's)")
    parser.add_argument("--turn-seconds", type=float, help="seconds per turn")
    parser.add_argument("--users", type=int, help="installers playing at once")
    args = parser.parse_args(argv)
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    plan = attrs.evolve(
        plan,
        leads=args.leads or plan.leads,
        rounds=args.rounds or plan.rounds,
        turn_seconds=args.turn_seconds or plan.turn_seconds,
        users=args.users or plan.users,
    )
    if not postgres_reachable(args.postgres_url):
        print(f"PostgreSQL not reachable at {args.postgres_url}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(
        f"plan {plan.name}: {plan.leads} leads, {plan.users} installers, {plan.rounds} turns "
        f"of {plan.turn_seconds:.0f}s per app",
        flush=True,
    )
    url, installers = prepare(plan, args.postgres_url, args.tag)
    args.workdir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{args.tag}" if args.tag else ""
    servers = {
        "qleads": Server(
            "qleads", "examples.admin_app.wsgi:app", _free_port(),
            args.workdir / f"http-qleads{suffix}.log",
        ),
        "raw": Server(
            "raw", "bench.http_raw_app:app", _free_port(), args.workdir / f"http-raw{suffix}.log"
        ),
    }  # fmt: skip
    samples: list[Sample] = []
    measured = dict.fromkeys(APPS, 0.0)
    players: dict[str, list[Player]] = {}
    try:
        secret = secrets.token_urlsafe(32)
        for server in servers.values():
            server.start(url, secret)
        servers["qleads"].wait_ready("/readyz")
        servers["raw"].wait_ready("/login")
        for app, server in servers.items():
            players[app] = [
                Player(app, server.base, iid, seed=n) for n, iid in enumerate(installers)
            ]
            for player in players[app]:
                player.log_in()
        # One loop of every player on each app, not counted: the workers' first requests
        # open connections and compile templates.
        since = last_event(url)
        for app in APPS:
            threads = [threading.Thread(target=p.step, args=([],)) for p in players[app]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        reset(url, since)
        print(f"  servers up, {len(installers)} installers logged in to both", flush=True)
        for n in range(plan.rounds):
            for app in APPS:
                since = last_event(url)
                got, began = run_turn(players[app], plan.turn_seconds)
                window_from = began + plan.warmup_seconds
                window_to = began + plan.turn_seconds
                counted = [s for s in got if window_from <= s.done <= window_to]
                samples.extend(counted)
                measured[app] += window_to - window_from
                back = reset(url, since)
                print(
                    f"  turn {n + 1} {app}: {len(counted)} answers counted, {back} claims "
                    f"undone ({time.perf_counter() - started:.0f}s so far)",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            name = url.rsplit("/", 1)[1]
            with _pg(args.postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    metrics = figures(samples, measured, players)
    metrics["http_leads"] = plan.leads
    metrics["http_users"] = plan.users
    metrics["total_s"] = time.perf_counter() - started
    print()
    print(table(metrics))
    print()
    print("\n".join(verdicts(metrics)))
    print(f"\ntotal {metrics['total_s']:.0f}s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
