"""Several instances on one PostgreSQL database, with failures.

Two gunicorn portals (two workers each), two ``qleads worker`` processes and an SMTP
sink, all on one database, on a rehearsal clock that runs 14400 times as fast (a business
day in 6 s), so that claim holds, assignment reminders and escalations fall due while
50 installers and 5 reps work over HTTP: they log in, browse their tabs, race for the
same hot leads from both portals, record, release and assign, while the calculator
sends new leads through the intake API. Midway one portal (its whole process group) and
one worker are SIGKILLed and started again. Afterwards:

* every lead has one holder or none, as its status says;
* every deadline fired exactly once (the history never fires one twice, and none is
  left overdue);
* every outbox row is sent or failed with a reason, and every sent mail reached the
  sink once per Message-ID — at most the one mail the killed worker had in hand when it
  died may arrive twice, with the same Message-ID (R10's at-least-once, made harmless);
* no HTTP 5xx but 503s while a portal was down;
* the tab counts every user's pages show equal a fresh count;
* the workers stop on SIGTERM within seconds with exit code 0;
* no log line of any process holds the customers' name, e-mail address or phone.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from mail_support import SmtpServer, free_port
from multi_instance_support import (
    BIN,
    EMAIL_DOMAIN,
    INSTALLERS,
    METRICS_TOKEN,
    NAME,
    PHONE,
    REPS,
    ROOT,
    Answer,
    Journal,
    Process,
    User,
    build_network,
    lead_payload,
    rep_of,
    wait_until_ready,
)

from qleads.adapters.clock import REHEARSAL_CLOCK_ENV, ScaledClock
from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
from qleads.adapters.sql.schema import event_table, lead_table, outbox_table
from qleads.desk.base import scope_of
from qleads.lifecycle import Status
from qleads.model import Policy
from qleads.tabs import Tab, matches, query_for

SCALE = 14400.0
START = dt.datetime(2026, 11, 16, 5, 0, tzinfo=dt.UTC)  # a Monday
LOAD_SECONDS = 36.0
KILL_AT, RESTART_AT = 14.0, 18.0
POLICY = Policy(claim_hold_days=1, assignment_reminder_days=1, escalation_days=1)


@pytest.fixture
def sink():
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


def _intake(api: requests.Session, base: str, number: int) -> int:
    """The calculator sends lead ``number``; the answer's status (0: no connection)."""
    try:
        answer = api.post(
            f"{base}/api/v1/leads",
            json=lead_payload(number),
            headers={"Idempotency-Key": f"rehearsal-{number}"},
            timeout=30,
        )
    except requests.Timeout:
        return -1
    except requests.RequestException:
        return 0
    return answer.status_code


def _worker(url: str, sink: SmtpServer, base: str) -> list[str]:
    return [
        str(BIN / "qleads"),
        "--log-level",
        "debug",
        "worker",
        url,
        "--smtp",
        f"127.0.0.1:{sink.port}",
        "--base-url",
        base,
        "--sender",
        "leads@example.com",
        "--interval",
        "0.5",
        "--max-backoff",
        "2",
        "--limit",
        "20",
        "--timeout",
        "5",
        "--lease",
        str(6 * SCALE),
        "--escalation-days",
        "1",
    ]


def test_two_portals_and_two_workers_on_one_database(
    postgres_url: str, sink: SmtpServer, tmp_path: Path
) -> None:
    token = build_network(postgres_url, POLICY)
    origin = dt.datetime.now(dt.UTC)
    clock = ScaledClock(START, origin, SCALE)
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    env = {
        **os.environ,
        # The checkout for the portal, then whatever path gave this test its qleads.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "QLEADS_DATABASE_URL": postgres_url,
        "QLEADS_SECRET_KEY": "one-secret-for-all-instances-of-the-rehearsal",
        "QLEADS_AUTO_UPGRADE": "0",
        "QLEADS_BASE_URL": bases[0],
        "QLEADS_MAILER": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(sink.port),
        "QLEADS_LOG_LEVEL": "debug",
        "QLEADS_LOG_FORMAT": "json",
        "QLEADS_METRICS": "1",
        "QLEADS_METRICS_TOKEN": METRICS_TOKEN,
        "QLEADS_WEB_WORKERS": "2",
        "QLEADS_WEB_THREADS": "4",
        "QLEADS_RATELIMIT_API_TOKEN": "10000 per minute",
        REHEARSAL_CLOCK_ENV: f"{START.isoformat()} {origin.isoformat()} {SCALE}",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    portals = [
        Process(
            f"portal{n}",
            [
                str(BIN / "gunicorn"),
                "-c",
                "examples/admin_app/gunicorn.conf.py",
                "examples.admin_app.wsgi:app",
            ],
            {
                **env,
                "QLEADS_BIND": f"127.0.0.1:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"prometheus{n}"),
            },
            logs / f"portal{n}.log",
        )
        for n, port in enumerate(ports)
    ]
    workers = [
        Process(f"worker{n}", _worker(postgres_url, sink, bases[0]), env, logs / f"worker{n}.log")
        for n in range(2)
    ]
    everything = [*portals, *workers]
    journal = Journal()
    crashed: list[str] = []
    threading.excepthook = lambda hook: crashed.append(f"{hook.thread}: {hook.exc_value!r}")
    try:
        for process in everything:
            process.start()
        for base in bases:
            wait_until_ready(base)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"
        for number in range(40):
            assert _intake(api, bases[0], number) == 201

        # Each rep parks one lead with an installer before the load begins; no one
        # touches it again, so its reminder and escalation fire however busy the run.
        parking = [User(rep, bases, journal, 1000 + n) for n, rep in enumerate(REPS)]
        for rep in parking:
            rep.log_in()
        parked = frozenset(
            rep.park(next(i for i in INSTALLERS if rep_of(i) == rep.username)) for rep in parking
        )

        began = time.monotonic()
        until = began + LOAD_SECONDS
        users = [
            User(name, bases[n % 2 :] + bases[: n % 2], journal, n)
            for n, name in enumerate((*INSTALLERS, *REPS))
        ]
        threads = []
        for user in users:
            if user.username.startswith("rep"):
                mine = [i for i in INSTALLERS if rep_of(i) == user.username]
                step = lambda user=user, mine=mine: user.rep_step(mine, parked)  # noqa: E731
            else:
                step = user.installer_step
            threads.append(threading.Thread(target=user.run, args=(until, step), daemon=True))

        def calculator() -> None:
            number = 40
            while time.monotonic() < until:
                for base in (bases[number % 2], bases[(number + 1) % 2]):
                    status = _intake(api, base, number)
                    journal.add(Answer(time.monotonic(), "POST", f"/api/v1/leads#{number}", status))
                    if status in {200, 201}:
                        break
                number += 1
                time.sleep(0.25)

        threads.append(threading.Thread(target=calculator, daemon=True))
        for thread in threads:
            thread.start()

        time.sleep(max(began + KILL_AT - time.monotonic(), 0))
        killed_at = time.monotonic()
        portals[1].kill()
        workers[1].kill()
        time.sleep(max(began + RESTART_AT - time.monotonic(), 0))
        portals[1].start()
        workers[1].start()
        wait_until_ready(bases[1])
        back_at = time.monotonic()
        for thread in threads:
            thread.join(LOAD_SECONDS + 60)
        assert not any(t.is_alive() for t in threads)
        assert not crashed, crashed

        # The workers stop on SIGTERM in bounded time, exit 0.
        for worker in workers:
            started = time.monotonic()
            assert worker.terminate(timeout=20) == 0, worker.log.read_text()[-2000:]
            assert time.monotonic() - started < 15
        # One last round after the load: what fell due meanwhile fires now.
        due_by = clock.now()
        last = subprocess.run(
            [*_worker(postgres_url, sink, bases[0]), "--once"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert last.returncode == 0, last.stderr[-2000:]
        (logs / "last-round.log").write_text(last.stdout + last.stderr)

        _report(journal, sink)
        sent = {int(a.path.partition("#")[2]) for a in journal.answers if "#" in a.path}
        accepted = {
            int(a.path.partition("#")[2])
            for a in journal.answers
            if "#" in a.path and a.status in {200, 201}
        }
        _check_holders_and_deadlines(postgres_url, due_by, set(range(40)) | accepted, sent, parked)
        _check_mail(postgres_url, sink)
        _check_http(journal, killed_at, back_at)
        _check_counts(postgres_url, users)
        _check_metrics(bases[0])
    finally:
        for process in everything:
            process.stop_quietly()
    _check_logs(logs)


# --- the invariants --------------------------------------------------------------------

_HOLDING = {
    Status.CLAIMED,
    Status.ASSIGNED,
    Status.CONTACT_ATTEMPTED,
    Status.FIRST_CONTACT,
    Status.OFFER_SENT,
    Status.FOLLOW_UP,
}


def _check_holders_and_deadlines(
    url: str, due_by: dt.datetime, accepted: set[int], sent: set[int], parked: frozenset[int]
) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            leads = conn.execute(
                sa.select(
                    lead_table.c.source_id,
                    lead_table.c.id,
                    lead_table.c.status,
                    lead_table.c.holder_id,
                    lead_table.c.deadline_at,
                )
            ).all()
            events = conn.execute(
                sa.select(
                    event_table.c.lead_id, event_table.c.version, event_table.c.kind
                ).order_by(event_table.c.lead_id, event_table.c.version)
            ).all()
    finally:
        engine.dispose()
    # Every lead the API accepted is stored, once (source_id is unique); a lead whose
    # answer was lost to a timeout or the kill may be stored too, but nothing else.
    stored = {int(source_id.removeprefix("rehearsal-")) for source_id, *_ in leads}
    assert len(stored) == len(leads)
    assert accepted <= stored <= accepted | sent
    for _source_id, lead_id, status, holder, deadline_at in leads:
        status = Status(status)
        assert (holder is not None) == (status in _HOLDING), (lead_id, status, holder)
        assert deadline_at is None or deadline_at > due_by, f"lead {lead_id}: deadline overdue"
    fired = collections.Counter()
    by_lead: dict[int, list[str]] = collections.defaultdict(list)
    for lead_id, _version, kind in events:
        by_lead[lead_id].append(kind)
    for lead_id, kinds in by_lead.items():
        open_, reminded, escalated = None, False, False
        for kind in kinds:
            if kind == "claimed":
                open_ = "claim"
            elif kind in {"assigned", "reassigned"}:
                open_, reminded, escalated = "assignment", False, False
            elif kind in {"recorded", "released", "reopened"}:
                open_ = None
            elif kind == "expired":
                assert open_ == "claim", f"lead {lead_id}: a claim expired twice: {kinds}"
                open_ = None
            elif kind == "reminded":
                assert open_ == "assignment", f"lead {lead_id}: {kinds}"
                assert not reminded, f"lead {lead_id}: reminded twice: {kinds}"
                reminded = True
            elif kind == "escalated":
                assert reminded, f"lead {lead_id}: escalated unreminded: {kinds}"
                assert not escalated, f"lead {lead_id}: escalated twice: {kinds}"
                escalated = True
            fired[kind] += 1
    # The parked leads went the whole way: reminded, then escalated (R5).
    for lead_id in parked:
        assert {"reminded", "escalated"} <= set(by_lead[lead_id]), (lead_id, by_lead[lead_id])
    # The clock made every kind of deadline fall due during the run.
    assert fired["expired"] > 0, fired
    assert fired["reminded"] > 0, fired
    assert fired["escalated"] > 0, fired
    assert fired["claimed"] > 10, fired


def _check_mail(url: str, sink: SmtpServer) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    outbox_table.c.key,
                    outbox_table.c.state,
                    outbox_table.c.message_id,
                    outbox_table.c.last_error,
                )
            ).all()
    finally:
        engine.dispose()
    states = collections.Counter(state for _, state, _, _ in rows)
    assert states["pending"] == 0, states
    assert states["sent"] > 40, states
    for key, state, _message_id, error in rows:
        if state == "failed":
            assert error, f"{key} failed without a reason"
    arrived = collections.Counter(str(e.message["Message-ID"]) for e in sink.envelopes)
    mailed = {m for _, state, m, _ in rows if state == "sent" and m not in {"obsolete", "digested"}}
    assert mailed <= set(arrived), (len(mailed), len(arrived))
    # The one mail the SIGKILLed worker had in hand may have reached the sink before its
    # row was marked: a later round sends it again (a duplicate) or finds it obsolete by
    # then (an arrival without a sent row). Nothing else may arrive twice or unrecorded.
    twice = {m: n for m, n in arrived.items() if n > 1}
    unrecorded = set(arrived) - mailed
    assert sum(n - 1 for n in twice.values()) + len(unrecorded) <= 1, (twice, unrecorded)


def _check_http(journal: Journal, killed_at: float, back_at: float) -> None:
    errors = [a for a in journal.answers if a.status >= 500]
    for answer in errors:
        assert answer.status == 503, answer
        assert killed_at - 1 <= answer.at <= back_at + 5, answer
    refused = [a for a in journal.answers if a.status == 0]  # timeouts (-1) are load
    for answer in refused:
        assert killed_at - 1 <= answer.at <= back_at + 5, answer
    assert len(journal.answers) > 150  # the users did work (a loaded machine answers slowly)


def _check_counts(url: str, users: list[User]) -> None:
    engine = make_engine(url)
    try:
        repository = SqlAlchemyLeadRepository(engine)
        directory = SqlAlchemyDirectory(engine)
        with engine.connect() as conn:
            ids = conn.execute(sa.select(lead_table.c.id)).scalars().all()
        with repository.unit_of_work() as uow:
            leads = [uow.get(lead_id) for lead_id in ids]
        for user in users:
            actor = directory.rep(user.username) or directory.installer(user.username)
            assert actor is not None
            scope = scope_of(directory, actor)
            shown = user.counts()
            assert shown, user.username
            fresh = {
                tab: sum(matches(query_for(scope, Tab(tab)), lead) for lead in leads)
                for tab in shown
            }
            assert shown == fresh, user.username
    finally:
        engine.dispose()


def _check_metrics(base: str) -> None:
    answer = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=15
    )
    assert answer.status_code == 200
    assert 'qleads_claim_attempts_total{outcome="won"}' in answer.text
    assert 'qleads_outbox_rows{state="pending"} 0.0' in answer.text


def _check_logs(logs: Path) -> None:
    text = "\n".join(path.read_text(errors="replace") for path in sorted(logs.iterdir()))
    assert "round:" in text  # the workers did log, at debug level
    assert "GET /installer/ HTTP" in text  # and the access log has the paths
    for secret in (NAME, EMAIL_DOMAIN, PHONE, PHONE.replace(" ", "+"), "90817263"):
        assert secret not in text, f"{secret!r} in a log line"


def _report(journal: Journal, sink: SmtpServer) -> None:
    """Figures for docs/deployment.md's sizing section (shown with ``pytest -s``)."""
    answered = [a for a in journal.answers if a.status > 0 and a.seconds]
    late = sum(1 for a in journal.answers if a.status == -1)
    seconds = sorted(a.seconds for a in answered)
    p95 = seconds[int(len(seconds) * 0.95)]
    print(
        f"\nmulti-instance: {len(answered)} answers in {LOAD_SECONDS:.0f} s "
        f"({len(answered) / LOAD_SECONDS:.0f}/s), "
        f"median {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, {late} timed out; {len(sink.envelopes)} mails delivered"
    )
