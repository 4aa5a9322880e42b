"""The intake API's Idempotency-Key under concurrency, on SQLite and PostgreSQL (R1).

One key stores at most one lead, however many requests with it race: the first reserves
the key before it takes the document in, the others are answered from the reservation
(409 while it is at work, 422 for another body once it answered) and store nothing. A
document refused by validation gives its key back, and a reservation whose request died
is taken over after its lease.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from portal_support import NOW, portal_config

from examples.admin_app import create_app
from examples.admin_app.api import create_source_token, idempotency_records
from examples.admin_app.api.idempotency import IDEMPOTENCY_LEASE, reserve
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.adapters.sql.schema import lead_table
from qleads.model import LeadSource

URL = "/api/v1/leads"
RACERS = 10


def lead_document(source_id: str, **contact: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "received_at": "2026-11-20T08:00:00+01:00",
        "contact": {
            "name": "Erika Mustermann",
            "street": "Markt 1",
            "postal_code": "04107",
            "city": "Leipzig",
            "country": "DE",
            "email": "erika@example.org",
            **contact,
        },
        "consumption": {"persons": 3, "annual_kwh": 3800, "price_ct_per_kwh": "29.00"},
        "roof": {
            "area_m2": 99,
            "tilt_deg": 30,
            "azimuth_deg": 180,
            "modules": "Q.PEAK DUO",
            "module_count": 16,
            "storage_interest": False,
        },
        "costs": {
            "per_month": {"with_pv": "15.00", "without_pv": "92.00"},
            "per_year": {"with_pv": "180.00", "without_pv": "1104.00"},
            "after_20_years": {"with_pv": "3600.00", "without_pv": "22080.00"},
        },
        "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
    }


class Portal:
    """An empty portal (no demo data) with one lead source and its token."""

    def __init__(self, app: Flask, clock: FrozenClock) -> None:
        self.app = app
        self.clock = clock
        self.services: Services = app.extensions["qleads"]
        self.services.directory.add_source(LeadSource("calc", "Rechner"))
        self.token = create_source_token(self.services.directory, "calc")

    def submit(self, body: object, key: str) -> Any:
        return self.app.test_client().post(
            URL,
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
        )

    def leads(self) -> int:
        with self.services.engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(lead_table))
            return int(count.scalar_one())

    def reserved(self) -> int:
        """Keys reserved and not answered (status 0)."""
        with self.services.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(idempotency_records)
                .where(idempotency_records.c.status == 0)
            )
            return int(count.scalar_one())


def _portal(url: str | None, tmp_path: Path) -> Iterator[Portal]:
    clock = FrozenClock(NOW)
    extra: dict[str, Any] = {"QLEADS_DEMO": False}
    if url is not None:
        extra["QLEADS_DATABASE_URL"] = url
    app = create_app(portal_config(tmp_path / "portal.sqlite", clock, **extra))
    yield Portal(app, clock)
    app.extensions["qleads"].close()


@pytest.fixture
def sqlite_portal(tmp_path: Path) -> Iterator[Portal]:
    yield from _portal(None, tmp_path)


@pytest.fixture
def postgres_portal(postgres_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from _portal(postgres_url, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def portal(request: pytest.FixtureRequest) -> Portal:
    name = "sqlite_portal" if request.param == "sqlite" else "postgres_portal"
    found = request.getfixturevalue(name)
    assert isinstance(found, Portal)
    return found


def _slow_intake(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give each intake a moment, as a busy database would, so the racers overlap."""
    desk = portal.services.desk
    intake = desk.intake

    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return intake(*args, **kwargs)

    monkeypatch.setattr(desk, "intake", slowly)


class TestOneKeyOneLead:
    def test_racing_requests_with_one_key_store_exactly_one_lead(
        self, portal: Portal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """R1: ten concurrent requests, one Idempotency-Key, ten different documents:
        one lead; the others get 409 (key at work) or 422 (key used) and store nothing."""
        _slow_intake(portal, monkeypatch)
        barrier = threading.Barrier(RACERS)
        statuses: list[int] = []
        failures: list[BaseException] = []

        def race(n: int) -> None:
            try:
                barrier.wait(timeout=30)
                response = portal.submit(lead_document(f"calc-{n}"), key="one-key")
                statuses.append(response.status_code)
            except BaseException as exc:  # reported below, with the thread's statuses
                failures.append(exc)

        threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        assert sorted(statuses).count(201) == 1, statuses
        assert set(statuses) <= {201, 409, 422}, statuses
        assert portal.leads() == 1
        assert portal.reserved() == 0

    def test_racing_retries_of_one_document_get_the_first_answer(
        self, portal: Portal, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same body under one key: one lead, taken in once; a racer that comes after
        the answer gets it replayed, one that comes during the work gets 409."""
        _slow_intake(portal, monkeypatch)
        barrier = threading.Barrier(RACERS)
        answers: list[tuple[int, bool]] = []

        def race() -> None:
            barrier.wait(timeout=30)
            response = portal.submit(lead_document("calc-1"), key="retry")
            answers.append((response.status_code, "Idempotent-Replayed" in response.headers))

        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert answers.count((201, False)) == 1, answers
        assert set(answers) <= {(201, False), (201, True), (409, False)}, answers
        replay = portal.submit(lead_document("calc-1"), key="retry")
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert portal.leads() == 1


class TestKeyLifecycle:
    def test_a_key_refused_by_validation_is_not_used_up(self, portal: Portal) -> None:
        """A 422 for an invalid document stores nothing, so its key may carry the fixed
        document."""
        bad = portal.submit(lead_document("calc-1", postal_code="4107"), key="fix-me")
        assert bad.status_code == 422
        assert portal.reserved() == 0
        good = portal.submit(lead_document("calc-1"), key="fix-me")
        assert good.status_code == 201
        assert portal.leads() == 1

    def test_a_conflict_is_the_keys_answer(self, portal: Portal) -> None:
        """A 409 for another document under a known source_id (R1) is final: the key
        replays it."""
        assert portal.submit(lead_document("calc-1"), key="a").status_code == 201
        conflict = portal.submit(lead_document("calc-1", city="Halle"), key="b")
        assert conflict.status_code == 409
        again = portal.submit(lead_document("calc-1", city="Halle"), key="b")
        assert again.status_code == 409
        assert again.headers["Idempotent-Replayed"] == "true"

    def test_a_key_held_by_a_request_at_work_is_409(self, sqlite_portal: Portal) -> None:
        portal = sqlite_portal
        reserve(portal.services.engine, "calc", "busy", "0" * 64, NOW)
        response = portal.submit(lead_document("calc-1"), key="busy")
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"]
        assert portal.leads() == 0

    def test_a_dead_requests_key_is_taken_over_after_its_lease(self, sqlite_portal: Portal) -> None:
        """A worker killed mid-request leaves its reservation; the key is free again once
        the lease has passed, and then stores the one lead."""
        portal = sqlite_portal
        reserve(portal.services.engine, "calc", "orphan", "0" * 64, NOW)
        portal.clock.advance(IDEMPOTENCY_LEASE + dt.timedelta(seconds=1))
        assert portal.submit(lead_document("calc-1"), key="orphan").status_code == 201
        assert portal.submit(lead_document("calc-1"), key="orphan").status_code == 201
        assert portal.leads() == 1
        assert portal.reserved() == 0
