"""``/metrics`` in Prometheus' text format (``prometheus_client``), off unless
``QLEADS_METRICS`` is on, and then only for ``Authorization: Bearer
<QLEADS_METRICS_TOKEN>``: the numbers reveal the network's business volume.

Two kinds of numbers:

* **Counted by this process**: HTTP request latency by endpoint, method and status
  class, and claim attempts by outcome (``won``, ``conflict``, ``refused``). Under gunicorn each
  worker process writes them to ``PROMETHEUS_MULTIPROC_DIR`` (``gunicorn.conf.py`` sets
  it up and marks dead workers), and a scrape of any worker adds up all of them
  (``prometheus_client``'s multiprocess mode). Without that variable they live in a
  registry of the app.
* **Read from the database at each scrape**, so that every instance answers the same
  and nothing is lost when a process dies: leads by status; history events by kind
  (claims, records, releases, assignments, and what the sweep fired: expired, reminded,
  escalated, follow-ups due); outbox rows by state, their delivery attempts, and the
  oldest pending row's age; and the sweep's lag, how long the most overdue deadline
  has waited. The workers' own timings (sweep duration) are the log's ``round:`` lines.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from qleads.adapters.sql.schema import event_table, lead_table, outbox_table

from ..services import current_services
from .health import oldest_pending_age

__all__ = ["MULTIPROCESS_ENV", "PortalMetrics", "StoreCollector", "init_metrics"]

#: Where prometheus_client's multiprocess mode keeps the workers' files.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_EXTENSION = "qleads.metrics"
#: Reported even when no row is in them, so that alert rules always find a series.
_OUTBOX_STATES = ("pending", "sent", "failed")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StoreCollector:
    """The database's numbers, read at each scrape (a prometheus_client collector)."""

    def __init__(self, engine: sa.Engine, now: Any) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        leads = GaugeMetricFamily("qleads_leads", "Leads by status", labels=["status"])
        events = CounterMetricFamily(
            "qleads_lead_events", "History events by kind (claims, records, …)", labels=["kind"]
        )
        rows = GaugeMetricFamily("qleads_outbox_rows", "Outbox rows by state", labels=["state"])
        attempts = CounterMetricFamily(
            "qleads_mail_delivery_attempts", "Delivery attempts of outbox rows, by state",
            labels=["state"],
        )  # fmt: skip
        with self.engine.connect() as conn:
            for status, count in conn.execute(
                sa.select(lead_table.c.status, sa.func.count()).group_by(lead_table.c.status)
            ):
                leads.add_metric([status], count)
            for kind, count in conn.execute(
                sa.select(event_table.c.kind, sa.func.count()).group_by(event_table.c.kind)
            ):
                events.add_metric([kind], count)
            by_state = dict.fromkeys(_OUTBOX_STATES, (0, 0))
            for state, count, tried in conn.execute(
                sa.select(
                    outbox_table.c.state,
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(outbox_table.c.attempts), 0),
                ).group_by(outbox_table.c.state)
            ):
                by_state[state] = (count, int(tried))
        for state, (count, tried) in by_state.items():
            rows.add_metric([state], count)
            attempts.add_metric([state], tried)
        now = self.now()
        age = GaugeMetricFamily(
            "qleads_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0: none pending)",
            value=oldest_pending_age(self.engine, now),
        )
        lag = GaugeMetricFamily(
            "qleads_deadline_lag_seconds",
            "How long the most overdue deadline has waited for the sweep (0: none overdue)",
            value=_deadline_lag(self.engine, now),
        )
        yield from (leads, events, rows, attempts, age, lag)


def _deadline_lag(engine: sa.Engine, now: Any) -> float:
    """Seconds since the earliest deadline that has passed and not yet fired (R11)."""
    with engine.connect() as conn:
        earliest = conn.execute(sa.select(sa.func.min(lead_table.c.deadline_at))).scalar()
    if earliest is None:
        return 0.0
    if earliest.tzinfo is None:  # SQLite keeps no offset; every stored instant is UTC
        earliest = earliest.replace(tzinfo=dt.UTC)
    return max(float((now - earliest).total_seconds()), 0.0)


class PortalMetrics:
    """The numbers this process counts, registered in ``registry`` (``None`` under
    multiprocess mode, where prometheus_client writes them to files)."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.latency = Histogram(
            "qleads_http_request_duration_seconds",
            "HTTP request latency by endpoint",
            ["endpoint", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.claims = Counter(
            "qleads_claim_attempts",
            "Claims tried through the portal, by outcome (won, conflict, refused)",
            ["outcome"],
            registry=registry,
        )


def _multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def init_metrics(app: Flask) -> None:
    """Count requests and serve ``/metrics`` when ``QLEADS_METRICS`` is on."""
    if not app.config["QLEADS_METRICS"]:
        return
    from prometheus_client import CollectorRegistry

    own = None if _multiprocess() else CollectorRegistry(auto_describe=True)
    metrics = PortalMetrics(own)
    app.extensions[_EXTENSION] = (metrics, own)

    @app.before_request
    def _start() -> None:
        g.qleads_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("qleads_started")
        if started is not None and request.endpoint != "ops_metrics":
            metrics.latency.labels(
                request.endpoint or "unmatched",
                request.method,
                f"{response.status_code // 100}xx",
            ).observe(time.perf_counter() - started)
        return response

    claim = app.view_functions.get("leads.claim")
    if claim is not None:
        app.view_functions["leads.claim"] = _counting_claims(claim, metrics)
    app.add_url_rule("/metrics", "ops_metrics", _metrics_view)


def _counting_claims(view: Callable[..., Any], metrics: PortalMetrics) -> Callable[..., Any]:
    """The claim view, counting its outcomes: ``won``, ``conflict`` (another installer
    was faster, R3) or ``refused`` (anything else the desk refused)."""
    from qleads.errors import LeadNoLongerAvailable, QleadsError

    @functools.wraps(view)
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            answer = view(*args, **kwargs)
        except LeadNoLongerAvailable:
            metrics.claims.labels("conflict").inc()
            raise
        except QleadsError:
            metrics.claims.labels("refused").inc()
            raise
        metrics.claims.labels("won").inc()
        return answer

    return counted


def _authorised() -> bool:
    token = str(current_app.config["QLEADS_METRICS_TOKEN"])
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


def _metrics_view() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client import multiprocess as mp

    if not _authorised():
        return Response(
            "bearer token required\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"},
        )
    _metrics, own = current_app.extensions[_EXTENSION]
    if own is None:
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(own))
    services = current_services()
    registry.register(StoreCollector(services.engine, services.clock.now))
    return Response(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})


class _Forward:
    """The app's own registry as one collector of the scrape's registry."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()
