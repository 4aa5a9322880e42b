"""``/healthz`` and ``/readyz``: what a load balancer and an orchestrator ask.

``/healthz`` says only that the process answers (it touches nothing else): a failing one
means "restart me". ``/readyz`` says whether this instance should get traffic: the
database answers, its schema is at the head revision of both version trees (qleads' and
the portal's; an instance of a newer release waits for ``db upgrade``), and the oldest
pending outbox row is younger than ``QLEADS_READY_MAX_OUTBOX_AGE`` seconds (0: not
checked) — an older one means no worker is delivering. Otherwise 503 with a JSON body
whose ``reason`` names the first check that failed. Both answer without a login, carry
no data, and are exempt from CSRF (they are GETs) and from throttling.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app

from qleads.adapters.sql.schema import outbox_table

from ..services import current_services

__all__ = ["bp", "oldest_pending_age", "readiness"]

log = logging.getLogger(__name__)
bp = Blueprint("ops_health", __name__)


def oldest_pending_age(engine: sa.Engine, now: dt.datetime) -> float:
    """Seconds since the oldest pending outbox row was written (0 when none is)."""
    with engine.connect() as conn:
        oldest = conn.execute(
            sa.select(sa.func.min(outbox_table.c.created_at)).where(
                outbox_table.c.state == "pending"
            )
        ).scalar_one_or_none()
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite keeps no offset; every stored instant is UTC
        oldest = oldest.replace(tzinfo=dt.UTC)
    return max(float((now - oldest).total_seconds()), 0.0)


def readiness() -> tuple[dict[str, Any], int]:
    """The body and status of ``/readyz``."""
    from ..migrations import schema_is_current

    services = current_services()
    try:
        with services.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("not ready: database unreachable (%s)", type(exc).__name__)
        return {"status": "unavailable", "reason": "database unreachable"}, 503
    try:
        current = schema_is_current(services.engine)
    except Exception as exc:
        log.warning("not ready: schema revision unreadable (%s)", type(exc).__name__)
        return {"status": "unavailable", "reason": "schema revision unreadable"}, 503
    if not current:
        return {"status": "unavailable", "reason": "schema not at the head revision"}, 503
    limit = float(current_app.config["QLEADS_READY_MAX_OUTBOX_AGE"])
    age = oldest_pending_age(services.engine, services.clock.now())
    if limit > 0 and age > limit:
        return {
            "status": "unavailable",
            "reason": "outbox not delivered",
            "oldest_pending_age_seconds": round(age, 1),
            "limit_seconds": limit,
        }, 503
    return {"status": "ok", "oldest_pending_age_seconds": round(age, 1)}, 200


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    return readiness()
