"""The worker's loop (qleads.mail.worker): rounds, jitter, backoff through an outage, and
a stop that ends the wait at once."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from qleads.adapters.memory_outbox import InMemoryOutbox
from qleads.errors import StorageError
from qleads.mail import Dispatcher, RecordingMailer, Renderer
from qleads.mail.worker import Worker
from qleads.testing.world import World


def _worker(world: World, **options: object) -> tuple[Worker, RecordingMailer]:
    outbox = InMemoryOutbox(world.repository)
    mailer = RecordingMailer()
    dispatcher = Dispatcher(
        outbox,
        mailer,
        Renderer("https://portal.example.com"),
        world.directory,
        world.clock,
        leads=world.repository,
    )
    options.setdefault("interval", 0.05)
    return Worker(world.desk, dispatcher, rng=random.Random(7), **options), mailer  # type: ignore[arg-type]


def test_one_round_sweeps_then_sends(caplog: pytest.LogCaptureFixture) -> None:
    """R11 then R10: the round fires the due deadlines and mails what they and the intake
    enqueued; the round's line counts both."""
    world = World()
    world.intake("s-1")
    worker, mailer = _worker(world)
    with caplog.at_level(logging.INFO, logger="qleads"):
        totals = worker.run(once=True)
    assert totals.rounds == 1
    assert totals.sent == len(mailer.sent) > 0
    assert any("round:" in r.getMessage() for r in caplog.records)
    assert worker.run_round().busy is False


def test_waits_are_jittered_within_bounds() -> None:
    worker, _ = _worker(World(), interval=10.0, jitter=0.2)
    waits = {round(worker.next_wait(), 6) for _ in range(50)}
    assert len(waits) > 40
    assert all(8.0 <= w <= 12.0 for w in waits)


def test_backoff_doubles_up_to_the_cap() -> None:
    worker, _ = _worker(World(), interval=1.0, jitter=0.0, max_backoff=5.0)
    assert [worker.backoff(n) for n in (1, 2, 3, 4, 9)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize(
    "options",
    [{"interval": 0}, {"jitter": 1.0}, {"interval": 10.0, "max_backoff": 1.0}, {"limit": 0}],
)
def test_bad_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        _worker(World(), **options)


def test_an_outage_is_logged_once_per_round_and_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two rounds fail (the database is away): one warning line each, no traceback, and
    the loop carries on; the third round does the work."""
    world = World()
    world.intake("s-1")
    worker, mailer = _worker(world, interval=0.01, max_backoff=0.02)
    real_sweep = world.desk.sweep
    calls = {"n": 0}

    def flaky_sweep(**kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise StorageError("server closed the connection unexpectedly")
        if calls["n"] >= 4:
            worker.stop()
        return real_sweep(**kwargs)  # type: ignore[arg-type]

    world.desk.sweep = flaky_sweep  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="qleads"):
        totals = worker.run()
    failed = [r for r in caplog.records if "round failed" in r.getMessage()]
    assert len(failed) == 2
    assert all(r.exc_info is None and r.levelno == logging.WARNING for r in failed)
    assert "StorageError" in failed[0].getMessage()
    assert "connection" not in failed[0].getMessage()  # the message is not logged
    assert any("succeeded again after 2" in r.getMessage() for r in caplog.records)
    assert totals.failed_rounds == 2
    assert totals.rounds >= 2
    assert len(mailer.sent) == totals.sent > 0


def test_stop_ends_the_wait_at_once() -> None:
    worker, _ = _worker(World(), interval=60.0, max_backoff=60.0)
    thread = threading.Thread(target=worker.run)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    worker.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
