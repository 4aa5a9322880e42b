"""``qleads worker``: one round with ``--once``; as a process, rounds until SIGTERM or
SIGINT, then exit 0 within a bounded time; the log lines on stderr, as text or JSON."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from mail_support import RecordingHandler, SmtpServer, World, document, free_port

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
from qleads.adapters.sql.migrations import upgrade
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.cli import main


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer()
    smtp.start()
    yield smtp
    smtp.stop()


def _prepared(url: str) -> str:
    """The database at ``url`` with two leads, one assigned long ago (its reminder due)."""
    engine = make_engine(url)
    upgrade(engine)
    world = World.build(
        SqlAlchemyLeadRepository(engine),
        dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
        directory=SqlAlchemyDirectory(engine),
    )
    lead = world.desk.intake(world.source, document("s-1")).lead
    world.desk.intake(world.source, document("s-2"))
    world.desk.assign(world.rep, lead.id, world.anna)
    engine.dispose()
    return url


def _pending(url: str) -> int:
    engine = make_engine(url)
    try:
        return SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).pending_count()
    finally:
        engine.dispose()


def _args(url: str, port: int, *extra: str) -> list[str]:
    return ["worker", url, "--smtp", f"127.0.0.1:{port}",
            "--base-url", "https://leads.example.com", "--sender", "leads@example.com",
            *extra]  # fmt: skip


def test_once_sweeps_and_delivers(tmp_path, server: SmtpServer, capsys) -> None:
    """R11 and R10 in one round: the reminder fires and every mail goes out."""
    url = _prepared(f"sqlite:///{tmp_path / 'w.db'}")
    assert main(["--log-format", "json", *_args(url, server.port, "--once")]) == 0
    assert _pending(url) == 0
    assert len(server.wait_for(4)) == 4
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    messages = [line["message"] for line in lines]
    assert any(m.startswith("round: 0 expired, 1 reminded") for m in messages)
    assert any(m.startswith("mail batch:") for m in messages)
    assert {line["level"] for line in lines} <= {"info", "warning"}


def test_once_against_an_unreachable_database_fails_with_1(tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere" / "w.db"
    assert main(_args(f"sqlite:///{missing}", 25, "--once")) == 1


def test_bad_settings_are_usage_errors(capsys) -> None:
    assert main(_args("sqlite:///x.db", 25, "--interval", "0")) == 2
    assert "--interval" in capsys.readouterr().err
    assert main(["--log-level", "loud", "worker"]) == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_process_with_0(postgres_url: str, server: SmtpServer, signum) -> None:
    """The running worker delivers, then on the signal stops within a few seconds, exit
    0, with its totals in the log; nothing is left leased."""
    url = _prepared(postgres_url)
    env = {**os.environ, "QLEADS_LOG_LEVEL": "info"}
    metrics_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qleads.cli",
            *_args(url, server.port, "--interval", "0.3", "--metrics-port", str(metrics_port)),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        server.wait_for(4, timeout=20)
        deadline = time.monotonic() + 20
        while _pending(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
            metrics = answer.read().decode()
        assert 'qleads_worker_mail_deliveries_total{outcome="sent"} 4.0' in metrics
        assert 'qleads_worker_deadlines_fired_total{kind="assignment_reminder"} 1.0' in metrics
        assert "qleads_worker_sweep_duration_seconds_count" in metrics
        process.send_signal(signum)
        started = time.monotonic()
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert time.monotonic() - started < 5
    assert "worker started" in err
    assert "worker stopped: " in err
    assert "4 mails sent" in err
    assert _pending(url) == 0


class _SlowHandler(RecordingHandler):
    """Takes 0.3 s to accept each mail: a batch lasts long enough to be interrupted."""

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(0.3)
        return await super().handle_DATA(server, session, envelope)


def test_sigterm_mid_batch_gives_the_leased_rows_back(postgres_url: str) -> None:
    """SIGTERM while a batch of 20 slow mails is being sent: the mail in hand is
    finished, the process exits 0 within a second or so, and the rows it leased but did
    not try are pending, unleased and with their attempts as before, for another
    worker to send at once."""
    slow = SmtpServer()
    slow.handler = _SlowHandler()
    slow.start()
    engine = make_engine(postgres_url)
    upgrade(engine)
    world = World.build(
        SqlAlchemyLeadRepository(engine),
        dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
        directory=SqlAlchemyDirectory(engine),
    )
    for n in range(10):
        world.desk.intake(world.source, document(f"s-{n}"))  # 2 notices each
    process = subprocess.Popen(
        [sys.executable, "-m", "qleads.cli",
         *_args(postgres_url, slow.port, "--interval", "60", "--limit", "100")],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        slow.wait_for(3, timeout=30)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _out, err = process.communicate(timeout=15)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        slow.stop()
    assert process.returncode == 0, err
    assert stopped_in < 2.0, stopped_in
    assert "leased rows given back" in err
    rows = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).entries()
    engine.dispose()
    sent = [r for r in rows if r.state.value == "sent"]
    pending = [r for r in rows if r.state.value == "pending"]
    assert len(sent) == len(slow.envelopes) < 20
    assert len(pending) == 20 - len(sent) > 0
    assert all(r.lease_owner is None and r.attempts == 0 for r in pending)
