"""``qleads worker URL --smtp HOST:PORT``: sweep the deadlines and deliver the outbox in
a loop, as one long-running process (:class:`qleads.mail.worker.Worker`).

Run one or more next to the portal instances instead of cron's ``qleads sweep`` and
``qleads mail dispatch``: several on one PostgreSQL database are safe. SIGTERM and SIGINT
end it within one mail's SMTP timeout, with the rows it leased given back, and exit 0; a
second signal ends it at once. ``--once`` runs one round and exits (1 when it failed).
``--metrics-port`` serves the worker's own Prometheus metrics on a bind of their own
(:mod:`qleads.cli.worker_metrics`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from qleads.cli.common import EXIT_FAILED, EXIT_OK, Commands, add_database_url, database_url
from qleads.cli.delivery import add_delivery_options, delivery_settings
from qleads.cli.extras import add_stand_in, missing_before_help
from qleads.errors import ConfigurationError

__all__ = ["EXTRAS", "add_parser"]

#: What the worker needs installed: the database and the mail rendering.
EXTRAS = ("sql", "mail")
_HELP = "sweep deadlines and deliver mail in a loop (a long-running process)"

log = logging.getLogger(__name__)


def add_parser(commands: Commands) -> None:
    """Add ``worker`` to ``commands`` (a stand-in that names the extras if they are
    missing)."""
    lacking = missing_before_help(EXTRAS)
    if lacking:
        add_stand_in(commands, "worker", _HELP, lacking)
        return
    worker = commands.add_parser(
        "worker",
        help=_HELP,
        description="Every --interval seconds (jittered): fire the passed deadlines (R11), "
        "then deliver the outbox and the due digests (R10). Several workers on one "
        "PostgreSQL database are safe. SIGTERM/SIGINT: finish the mail in hand, give "
        "back the leased rows, exit 0.",
    )
    add_database_url(worker)
    add_delivery_options(worker)
    worker.add_argument(
        "--interval", type=float, default=30.0, help="seconds between rounds (default: 30)"
    )
    worker.add_argument(
        "--jitter",
        type=float,
        default=0.2,
        help="each wait varies by up to this fraction of the interval (default: 0.2)",
    )
    worker.add_argument(
        "--max-backoff",
        type=float,
        default=300.0,
        help="longest wait between failed rounds during an outage, seconds (default: 300)",
    )
    worker.add_argument("--batch-size", type=int, default=500, help="leads per transaction")
    worker.add_argument(
        "--escalation-days",
        type=int,
        default=None,
        help="escalate to the rep this many business days after the assignment reminder "
        "(the portal's policy setting; leave unset where it is off)",
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve the worker's own Prometheus metrics on this port (needs prometheus_client)",
    )
    worker.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="the interface for --metrics-port (default: 127.0.0.1, this host only)",
    )
    worker.add_argument("--once", action="store_true", help="run one round and exit")
    worker.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from qleads.adapters.clock import clock_from_environment
    from qleads.adapters.sql.directory import SqlAlchemyDirectory
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
    from qleads.cli.progress import progress_line
    from qleads.desk import LeadDesk
    from qleads.mail.digest import DigestSender
    from qleads.mail.dispatcher import Dispatcher
    from qleads.mail.render import Renderer
    from qleads.mail.worker import RoundReport, Worker
    from qleads.model import Policy

    settings = delivery_settings(args)
    if args.batch_size < 1:
        raise ConfigurationError("--batch-size must be at least 1")
    if not args.interval > 0 or not 0 <= args.jitter < 1:
        raise ConfigurationError("--interval must be positive and --jitter in [0, 1)")
    if args.max_backoff < args.interval:
        raise ConfigurationError("--max-backoff must be at least --interval")
    try:
        policy = Policy(escalation_days=args.escalation_days)
    except ValueError as e:
        raise ConfigurationError(f"bad policy: {e}") from e
    metrics = None
    if args.metrics_port is not None:
        from qleads.cli.worker_metrics import WorkerMetrics

        metrics = WorkerMetrics(args.metrics_host, args.metrics_port)
        metrics.start()
    # On a terminal, a running count while a sweep works through a backlog; each
    # round's log line then starts on a line of its own.
    line = progress_line(sys.stderr, "qleads worker: sweep")

    def on_round(report: RoundReport) -> None:
        if line is not None:
            line.done()
        if metrics is not None:
            metrics.on_round(report)

    engine = make_engine(database_url(args))
    clock = clock_from_environment()
    mailer = settings.mailer()
    try:
        with mailer:
            repository = SqlAlchemyLeadRepository(engine)
            directory = SqlAlchemyDirectory(engine)
            outbox = SqlAlchemyOutbox(repository)
            renderer = Renderer(settings.base_url, policy=policy)
            dispatcher = Dispatcher(
                outbox,
                mailer,
                renderer,
                directory,
                clock,
                leads=repository,
                max_attempts=settings.max_attempts,
                lease_for=dt.timedelta(seconds=settings.lease),
                message_id_domain=settings.message_id_domain,
                sender=settings.sender,
            )
            digests = None
            if settings.digests:
                digests = DigestSender(
                    outbox,
                    mailer,
                    renderer,
                    directory,
                    repository,
                    clock,
                    message_id_domain=settings.message_id_domain,
                    sender=settings.sender,
                )
            worker = Worker(
                LeadDesk(repository, directory, clock, policy),
                dispatcher,
                digests=digests,
                interval=args.interval,
                jitter=args.jitter,
                max_backoff=args.max_backoff,
                batch_size=args.batch_size,
                limit=settings.limit,
                on_round=on_round,
                on_failure=metrics.on_failure if metrics is not None else None,
                on_sweep_progress=line,
            )
            if args.once:
                worker.run(once=True)
                return EXIT_OK
            with _StopOnSignals(worker.stop):
                worker.run()
    finally:
        if line is not None:
            line.done()
        engine.dispose()
    return EXIT_OK


class _StopOnSignals:
    """SIGTERM and SIGINT call ``stop`` once; a second signal raises
    :class:`SystemExit` at once. The former handlers are restored on exit."""

    _SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._asked = False
        self._former: dict[int, object] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._asked:
            log.warning("second signal %d: exiting at once", signum)
            raise SystemExit(EXIT_FAILED)
        self._asked = True
        log.info("signal %d: stopping after the mail in hand", signum)
        self._stop()

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach only the main thread (tests run main() elsewhere)
        for signum in self._SIGNALS:
            self._former[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *_exc: object) -> None:
        for signum, former in self._former.items():
            signal.signal(signum, former)  # type: ignore[arg-type]
