"""The portal's clock work: sweep deadlines (R11) and deliver the outbox (R10).

One daemon thread per app runs ``desk.sweep()`` then ``dispatcher.dispatch_all()`` every
``QLEADS_SWEEP_INTERVAL`` seconds. Both are safe to run in several processes at once, so a
portal with several workers may start one thread in each. Tests leave it off
(``QLEADS_BACKGROUND = False``) and call :func:`run_once` when they want time to pass.
"""

from __future__ import annotations

import logging
import threading

import attrs

from qleads.desk import SweepReport
from qleads.mail import DispatchReport

from .services import Services

__all__ = ["BackgroundWorker", "RoundReport", "run_once"]

log = logging.getLogger(__name__)


@attrs.frozen
class RoundReport:
    swept: SweepReport
    dispatched: DispatchReport


def run_once(services: Services) -> RoundReport:
    """One round: fire due deadlines, then send what the outbox holds."""
    swept = services.desk.sweep()
    dispatched = services.dispatcher.dispatch_all()
    return RoundReport(swept, dispatched)


class BackgroundWorker:
    """A daemon thread that calls :func:`run_once` every ``interval`` seconds until
    :meth:`stop`."""

    def __init__(self, services: Services, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.services = services
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qleads-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = run_once(self.services)
            except Exception:
                # A worker must outlive one bad round (a locked database, a mail server
                # hiccup): the deadlines and rows stay due and the next round retries.
                log.exception("background round failed; retrying in %.0f s", self.interval)
            else:
                if report.swept.total or report.dispatched.handled:
                    log.info("swept %s, dispatched %s", report.swept, report.dispatched)
            self._stop.wait(self.interval)
