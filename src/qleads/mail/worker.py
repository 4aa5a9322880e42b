"""The clock's work in a loop (R10, R11): sweep the deadlines, deliver the outbox, wait.

:class:`Worker` is what ``qleads worker`` runs and what the portal's demo thread runs:
rounds of :meth:`~qleads.desk.LeadDesk.sweep`, then
:meth:`~qleads.mail.dispatcher.Dispatcher.dispatch_all` and the due digests. Several
workers on one PostgreSQL database are safe: the sweep takes due leads ``FOR UPDATE SKIP
LOCKED`` with conditional updates, and the dispatcher leases outbox rows, so every
deadline fires once and every row is sent once whoever runs it.

What the loop promises:

* **Jitter.** Each wait is ``interval`` times a random factor in ``[1 - jitter, 1 +
  jitter]``, so workers started together do not stay in step.
* **Outages.** A round that fails (the database or the mail server unreachable, a
  deadlock) is logged in one line and tried again after a backoff that doubles up to
  ``max_backoff``; the deadlines and rows it did not reach stay due. The first round that
  succeeds again says so and resets the backoff.
* **Stopping.** :meth:`Worker.stop` (a signal handler calls it) ends the wait at once; a
  round in progress finishes the row in hand, gives the outbox rows it leased but did not
  try back (:meth:`~qleads.mail.outbox.Outbox.release`) and skips what is left of the
  round. So a stop takes at most one mail's SMTP timeout plus one database statement.
* **Logs.** One line per round that did something and one per failed round (logger
  ``qleads.mail.worker``); the dispatcher logs each batch and each failed delivery. Lines
  carry counts, row keys and lead ids, never a person's name, address or phone.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import attrs

from qleads.desk import LeadDesk, SweepReport
from qleads.mail.digest import DigestReport, DigestSender
from qleads.mail.dispatcher import Dispatcher, DispatchReport

__all__ = ["RoundReport", "Worker", "WorkerTotals"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@attrs.frozen
class RoundReport:
    """What one round did, and how long its sweep and its delivery took (seconds)."""

    swept: SweepReport
    dispatched: DispatchReport
    digests: DigestReport = attrs.field(factory=DigestReport)
    sweep_seconds: float = 0.0
    dispatch_seconds: float = 0.0

    @property
    def busy(self) -> bool:
        return bool(
            self.swept.total or self.dispatched.handled or self.digests.sent or self.digests.retried
        )


@attrs.frozen
class WorkerTotals:
    """What a worker did from its start until it stopped."""

    rounds: int = 0
    failed_rounds: int = 0
    fired: int = 0
    sent: int = 0
    failed: int = 0


class Worker:
    """Sweeps and delivers in rounds until :meth:`stop`.

    ``digests`` (optional) sends the daily digests after each delivery. ``on_round``
    and ``on_failure`` are told about every round (a metrics exporter counts them);
    an exception they raise is logged and otherwise ignored. ``on_sweep_progress`` is
    the sweep's ``progress`` (a running count on a terminal after an outage's backlog).
    """

    def __init__(
        self,
        desk: LeadDesk,
        dispatcher: Dispatcher,
        *,
        digests: DigestSender | None = None,
        interval: float = 30.0,
        jitter: float = 0.2,
        max_backoff: float = 300.0,
        batch_size: int = 500,
        limit: int = 100,
        on_round: Callable[[RoundReport], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        rng: random.Random | None = None,
        on_sweep_progress: Callable[[SweepReport], None] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        if max_backoff < interval:
            raise ValueError("max_backoff must be at least the interval")
        if batch_size < 1 or limit < 1:
            raise ValueError("batch_size and limit must be at least 1")
        self.desk = desk
        self.dispatcher = dispatcher
        self.digests = digests
        self.interval = interval
        self.jitter = jitter
        self.max_backoff = max_backoff
        self.batch_size = batch_size
        self.limit = limit
        self.on_round = on_round
        self.on_failure = on_failure
        self.on_sweep_progress = on_sweep_progress
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter
        self._stop = threading.Event()

    # --- one round ----------------------------------------------------------------------

    def run_round(self) -> RoundReport:
        """Fire the due deadlines, then deliver the outbox and the due digests. Errors
        are raised (:meth:`run` is where they are caught)."""
        started = time.monotonic()
        swept = self.desk.sweep(batch_size=self.batch_size, progress=self.on_sweep_progress)
        swept_at = time.monotonic()
        dispatched = DispatchReport()
        digests = DigestReport()
        if not self.stopping:
            dispatched = self.dispatcher.dispatch_all(self.limit, stop=self._stop.is_set)
        if self.digests is not None and not self.stopping:
            digests = self.digests.send_digests()
        report = RoundReport(
            swept=swept,
            dispatched=dispatched,
            digests=digests,
            sweep_seconds=swept_at - started,
            dispatch_seconds=time.monotonic() - swept_at,
        )
        if report.busy:
            log.info(
                "round: %d expired, %d reminded, %d escalated, %d follow-ups due in %.3f s; "
                "%d sent, %d retried, %d failed, %d digested, %d skipped, %d digests in %.3f s",
                swept.expired,
                swept.reminded,
                swept.escalated,
                swept.follow_ups_due,
                report.sweep_seconds,
                dispatched.sent,
                dispatched.retried,
                dispatched.failed,
                dispatched.digested,
                dispatched.skipped,
                digests.sent,
                report.dispatch_seconds,
            )
        return report

    # --- the loop -----------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the loop to end: the wait ends at once, a round in progress finishes its
        row in hand and gives back what it leased. Safe from a signal handler."""
        self._stop.set()

    def next_wait(self) -> float:
        """The jittered wait before the next round."""
        return self.interval * self._rng.uniform(1 - self.jitter, 1 + self.jitter)

    def backoff(self, failures: int) -> float:
        """The wait after ``failures`` failed rounds in a row: interval, 2×, 4× … capped
        at ``max_backoff``, jittered."""
        wait = min(self.interval * (1 << min(failures - 1, 20)), self.max_backoff)
        return wait * self._rng.uniform(1 - self.jitter, 1)

    def run(self, *, once: bool = False) -> WorkerTotals:
        """Rounds until :meth:`stop` (or just one with ``once``, whose error is then
        raised). Returns the totals, which are also logged."""
        totals = WorkerTotals()
        failures = 0
        if not once:
            log.info(
                "worker started: a round every %.1f s (±%.0f %%)",
                self.interval,
                100 * self.jitter,
            )
        while not self._stop.is_set():
            try:
                report = self.run_round()
            except Exception as exc:
                if once:
                    raise
                failures += 1
                totals = attrs.evolve(totals, failed_rounds=totals.failed_rounds + 1)
                wait = self.backoff(failures)
                log.warning(
                    "round failed (%s); %d failed in a row, next try in %.1f s",
                    _kind(exc),
                    failures,
                    wait,
                )
                self._tell(self.on_failure, exc)
            else:
                if failures:
                    log.info("round succeeded again after %d failed", failures)
                failures = 0
                totals = WorkerTotals(
                    rounds=totals.rounds + 1,
                    failed_rounds=totals.failed_rounds,
                    fired=totals.fired + report.swept.total,
                    sent=totals.sent + report.dispatched.sent + report.digests.sent,
                    failed=totals.failed + report.dispatched.failed,
                )
                self._tell(self.on_round, report)
                wait = self.next_wait()
            if once:
                break
            self._stop.wait(wait)
        if once:
            return totals
        log.info(
            "worker stopped: %d rounds (%d failed), %d deadlines fired, %d mails sent, %d failed",
            totals.rounds,
            totals.failed_rounds,
            totals.fired,
            totals.sent,
            totals.failed,
        )
        return totals

    @staticmethod
    def _tell(callback: Callable[[_T], None] | None, value: _T) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("a worker observer failed")


def _kind(exc: BaseException) -> str:
    """What failed, without the message: a driver's message may quote the row it was
    writing, and with it a customer's data. The class and the library's error code say
    enough to tell an outage from a bug; the database's own log has the rest."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__} {code}" if isinstance(code, str) else type(exc).__name__
