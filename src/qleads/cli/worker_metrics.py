"""``qleads worker --metrics-port PORT``: the worker's own numbers for Prometheus, on a
bind of their own (by default 127.0.0.1 only, since they reveal business volume).

The portal's ``/metrics`` reads what the database knows (leads, events, outbox rows);
what only the worker knows is here: how long each sweep and each delivery took, what
each round fired, sent and failed, and the rounds that failed. It needs
``prometheus_client`` (the ``admin`` extra brings it, or install it alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qleads.errors import ConfigurationError

if TYPE_CHECKING:
    from qleads.mail.worker import RoundReport

__all__ = ["WorkerMetrics"]

_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class WorkerMetrics:
    """Counters and histograms of one worker, served on ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ModuleNotFoundError as e:  # pragma: no cover - the test env has it
            raise ConfigurationError(
                "--metrics-port needs prometheus_client: pip install 'qleads[admin]' "
                "or pip install prometheus-client"
            ) from e
        self.registry: Any = CollectorRegistry(auto_describe=True)
        self.host = host
        self.port = port
        registry = self.registry
        self.sweep_seconds = Histogram(
            "qleads_worker_sweep_duration_seconds", "Duration of each round's sweep",
            buckets=_DURATION_BUCKETS, registry=registry,
        )  # fmt: skip
        self.dispatch_seconds = Histogram(
            "qleads_worker_delivery_duration_seconds", "Duration of each round's delivery",
            buckets=_DURATION_BUCKETS, registry=registry,
        )  # fmt: skip
        self.fired = Counter(
            "qleads_worker_deadlines_fired", "Deadlines the sweep fired, by kind",
            ["kind"], registry=registry,
        )  # fmt: skip
        self.mails = Counter(
            "qleads_worker_mail_deliveries", "Outbox rows handled, by outcome",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.rounds = Counter(
            "qleads_worker_rounds", "Rounds, by outcome (ok, failed)", ["outcome"],
            registry=registry,
        )  # fmt: skip

    def start(self) -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread."""
        from prometheus_client import start_http_server

        try:
            start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as e:
            raise ConfigurationError(
                f"--metrics-port: cannot listen on {self.host}:{self.port} ({e.strerror})"
            ) from e

    def on_round(self, report: RoundReport) -> None:
        self.rounds.labels("ok").inc()
        self.sweep_seconds.observe(report.sweep_seconds)
        self.dispatch_seconds.observe(report.dispatch_seconds)
        swept = report.swept
        for kind, count in (
            ("claim_expiry", swept.expired),
            ("assignment_reminder", swept.reminded),
            ("escalation", swept.escalated),
            ("follow_up_due", swept.follow_ups_due),
        ):
            self.fired.labels(kind).inc(count)
        sent = report.dispatched
        for outcome, count in (
            ("sent", sent.sent + report.digests.sent),
            ("retried", sent.retried + report.digests.retried),
            ("failed", sent.failed),
            ("digested", sent.digested),
            ("skipped", sent.skipped),
        ):
            self.mails.labels(outcome).inc(count)

    def on_failure(self, _error: BaseException) -> None:
        self.rounds.labels("failed").inc()
