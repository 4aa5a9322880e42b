"""The portal's in-process clock work, for the demo: sweep deadlines (R11) and deliver the
outbox (R10) in a daemon thread.

Production runs ``qleads worker`` processes instead (docs/deployment.md): the portal
starts this thread only with ``--demo`` or when ``QLEADS_BACKGROUND`` is set. The thread
runs the same loop as the worker (:class:`qleads.mail.worker.Worker`); tests leave it off
and call :func:`run_once` when they want time to pass.
"""

from __future__ import annotations

import threading

from qleads.mail.worker import RoundReport, Worker

from .services import Services

__all__ = ["BackgroundWorker", "RoundReport", "run_once"]


def run_once(services: Services) -> RoundReport:
    """One round: fire due deadlines, then send what the outbox holds."""
    return _worker(services, 30.0).run_round()


def _worker(services: Services, interval: float) -> Worker:
    return Worker(
        services.desk, services.dispatcher, interval=interval, max_backoff=max(interval, 300.0)
    )


class BackgroundWorker:
    """A daemon thread that runs rounds every ``interval`` seconds (jittered) until
    :meth:`stop`."""

    def __init__(self, services: Services, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.services = services
        self.interval = interval
        self._worker = _worker(services, interval)
        self._thread = threading.Thread(
            target=self._worker.run, name="qleads-background", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._worker.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
