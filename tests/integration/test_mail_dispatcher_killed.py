"""A dispatcher killed mid-batch (R10): its rows wait for its lease, then another
dispatcher sends exactly the rows it had not sent, once each.

``qleads mail dispatch`` runs as a real process with a short ``--lease``; the SMTP server
accepts the first mails and holds the next one in ``DATA``, so that the SIGKILL lands
with mails sent, one in flight and the rest of the batch leased but not sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from mail_support import World, document, free_port

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
from qleads.adapters.sql.outbox import SqlAlchemyOutbox
from qleads.cli import main
from qleads.mail import DeliveryState, message_id_for

LEASE_S = 2.0
SENDER = "leads@example.com"
#: Mails the server accepts before it holds one.
ACCEPTED_FIRST = 3


class HoldingHandler:
    """Accepts ``accept_first`` mails, then holds the next one in ``DATA`` until
    :attr:`release` is set and answers it 451 (so it was never delivered); accepts
    everything after that."""

    def __init__(self, accept_first: int) -> None:
        self.accept_first = accept_first
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._held_one = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            hold = not self._held_one and len(self.message_ids) == self.accept_first
            self._held_one = self._held_one or hold
        if hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "451 4.3.0 Try again later"
        with self.lock:
            self.message_ids.append(str(message["Message-ID"]))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[HoldingHandler, int]]:
    handler = HoldingHandler(ACCEPTED_FIRST)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.release.set()
    controller.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with four new leads in Leipzig, each announced to two installers:
    eight outbox rows."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'killed.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    repository = SqlAlchemyLeadRepository(engine)
    repository.upgrade_schema()
    world = World.build(repository, dt.datetime.now(dt.UTC), directory=SqlAlchemyDirectory(engine))
    for n in range(4):
        world.desk.intake(world.source, document(f"killed-{n}"))
    engine.dispose()
    return url


def _dispatch_args(url: str, port: int) -> list[str]:
    return [
        "mail", "dispatch", url, "--smtp", f"127.0.0.1:{port}",
        "--base-url", "https://leads.example.com", "--sender", SENDER,
        "--lease", str(LEASE_S), "--timeout", "1.5", "--no-digests",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_killed_dispatchers_rows_are_taken_over_after_its_lease(
    url: str, smtp: tuple[HoldingHandler, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """R10: nothing is lost and nothing is sent twice. The dead dispatcher's sent rows
    stay sent; its other rows are nobody's until its lease ends, and then exactly those
    are sent by the next dispatcher, which reports them as taken over."""
    handler, port = smtp
    process = subprocess.Popen(
        [sys.executable, "-m", "qleads.cli", *_dispatch_args(url, port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not handler.holding.wait(0.02):  # the batch reached the held mail
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    handler.release.set()

    engine = make_engine(url)
    outbox = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine))
    rows = outbox.entries()
    assert len(rows) == 8
    sent = [r for r in rows if r.state is DeliveryState.SENT]
    leased = [r for r in rows if r.state is DeliveryState.PENDING]
    assert len(sent) == ACCEPTED_FIRST
    assert len(leased) == 8 - ACCEPTED_FIRST
    dead = {r.lease_owner for r in leased}
    assert len(dead) == 1
    assert None not in dead
    (lease_until,) = {r.lease_until for r in leased}
    assert lease_until is not None

    # Until the lease ends, no other dispatcher may take the rows.
    assert (
        outbox.lease(lease_until - dt.timedelta(seconds=0.1), 100, "early", dt.timedelta(1)) == []
    )
    time.sleep(max(0.0, (lease_until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)

    assert main(_dispatch_args(url, port)) == 0
    summary = capsys.readouterr().out
    untaken = 8 - ACCEPTED_FIRST
    assert summary.startswith(f"qleads mail dispatch: {untaken} sent, 0 retried, 0 failed")
    assert f"{untaken} taken over" in summary
    assert summary.rstrip().endswith("0 pending")

    rows = outbox.entries()
    engine.dispose()
    assert all(r.state is DeliveryState.SENT for r in rows)
    expected = sorted(message_id_for(r.notification.key, "example.com") for r in rows)
    assert sorted(handler.message_ids) == expected  # every row once, none twice
    assert {r.message_id for r in sent} <= set(handler.message_ids[:ACCEPTED_FIRST])
