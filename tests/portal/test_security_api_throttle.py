"""The intake API's rate limit: per bearer token, and — checked before the token is
looked up — failed authentications per client address. A flood is answered 429 with an
RFC 9457 problem document and ``Retry-After``; a calculator's normal pace (about a lead
a second) never is.

The limiter's moving window runs on the clock of its store; the pace tests give that
store a simulated clock, so that minutes of traffic take a moment to replay.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import limits.storage.memory
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from examples.admin_app.api import create_source_token
from examples.admin_app.security import throttle
from examples.admin_app.services import Services
from qleads.adapters.sql.schema import lead_table
from qleads.model import LeadSource

URL = "/api/v1/leads"
PROBLEM = "application/problem+json"
PER_MINUTE = 120  # QLEADS_RATELIMIT_API_TOKEN
UNAUTHENTICATED_PER_MINUTE = 60  # QLEADS_RATELIMIT_API_CLIENT
_keys = itertools.count()


class SimulatedTime:
    """Stands in for the ``time`` module in the limiter's store and in ``throttle``."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def simulated(monkeypatch: Any) -> SimulatedTime:
    clock = SimulatedTime()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return clock


def new_token(services: Services, source_id: str) -> str:
    services.directory.add_source(LeadSource(source_id, f"Rechner {source_id}"))
    return create_source_token(services.directory, source_id)


@pytest.fixture
def token(services: Services) -> str:
    return new_token(services, "pace-calc")


def lead(n: int) -> dict[str, Any]:
    return {
        "source_id": f"pace-{n}",
        "received_at": "2026-11-20T08:00:00+01:00",
        "contact": {
            "name": f"Kunde {n}",
            "street": "Markt 1",
            "postal_code": "04107",
            "city": "Leipzig",
            "country": "DE",
            "email": f"kunde{n}@example.org",
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


def send(client: FlaskClient, token: str | None, body: Any) -> Any:
    headers = {"Idempotency-Key": f"k-{next(_keys)}"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(URL, data=json.dumps(body), headers=headers, content_type="application/json")


class TestFlood:
    def test_400_requests_in_a_minute_from_one_client_are_throttled(
        self, client: FlaskClient, token: str, simulated: SimulatedTime
    ) -> None:
        codes = []
        for n in range(400):
            codes.append(send(client, token, {"n": n}).status_code)  # 422: fast to refuse
            simulated.now += 60 / 400
        assert codes[:PER_MINUTE] == [422] * PER_MINUTE
        assert codes.count(429) >= 400 - PER_MINUTE - 1
        assert set(codes) == {422, 429}

    def test_the_429_is_a_problem_document_with_retry_after(
        self, client: FlaskClient, token: str
    ) -> None:
        for n in range(PER_MINUTE):
            send(client, token, {"n": n})
        response = send(client, token, lead(1))
        assert response.status_code == 429
        assert response.mimetype == PROBLEM
        body = response.get_json(force=True)
        assert body["status"] == 429
        assert body["type"] == "urn:qleads:problem:too-many-requests"
        assert body["title"]
        assert body["detail"]
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert response.headers["Cache-Control"] == "no-store"

    def test_a_throttled_request_stores_nothing(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        for n in range(PER_MINUTE):
            send(client, token, {"n": n})
        assert send(client, token, lead(7)).status_code == 429
        with services.engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count())
                .select_from(lead_table)
                .where(lead_table.c.source_id == "pace-7")
            ).scalar_one()
        assert stored == 0

    def test_without_a_valid_token_the_client_address_is_limited(
        self, app: Flask, simulated: SimulatedTime, monkeypatch: Any
    ) -> None:
        """Guessing tokens: each guess a new token, one address — held before the lookup."""
        looked_up: list[str] = []
        directory = app.extensions["qleads"].directory
        real = directory.source_by_token
        monkeypatch.setattr(directory, "source_by_token", lambda t: looked_up.append(t) or real(t))
        guesser = app.test_client()
        limit = UNAUTHENTICATED_PER_MINUTE
        codes = [send(guesser, f"qls_guess{n}", {}).status_code for n in range(limit + 5)]
        assert codes[:limit] == [401] * limit
        assert set(codes[limit:]) == {429}
        assert len(looked_up) == limit  # the throttled guesses never reached the database
        anonymous = [send(guesser, None, {}).status_code for _ in range(3)]
        assert anonymous == [429] * 3

    def test_sources_sharing_an_address_are_limited_by_their_own_tokens(
        self, client: FlaskClient, services: Services, simulated: SimulatedTime
    ) -> None:
        """Two calculators behind one address, each at a busy pace: nobody is held."""
        tokens = [new_token(services, "shared-a"), new_token(services, "shared-b")]
        codes = []
        for n in range(100):
            for token in tokens:
                codes.append(send(client, token, {"n": n}).status_code)
            simulated.now += 0.6
        assert set(codes) == {422}

    def test_one_token_from_many_addresses_is_limited_per_token(
        self, app: Flask, token: str, simulated: SimulatedTime
    ) -> None:
        codes = []
        for n in range(PER_MINUTE + 5):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.0.{n // 200}.{n % 200 + 1}"
            codes.append(send(client, token, {}).status_code)
        assert codes[:PER_MINUTE] == [422] * PER_MINUTE
        assert set(codes[PER_MINUTE:]) == {429}

    def test_other_sources_are_not_held_up(
        self, app: Flask, services: Services, token: str, simulated: SimulatedTime
    ) -> None:
        flooder = app.test_client()
        for n in range(PER_MINUTE + 1):
            send(flooder, token, {"n": n})
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "192.0.2.80"
        assert send(other, new_token(services, "other-calc"), lead(2)).status_code == 201


class TestNormalPace:
    def test_a_calculator_at_one_lead_a_second_is_never_throttled(
        self, client: FlaskClient, token: str, simulated: SimulatedTime
    ) -> None:
        """Three minutes at the busiest calculator's pace: every lead is taken."""
        codes = []
        for n in range(180):
            codes.append(send(client, token, lead(n)).status_code)
            simulated.now += 1.0
        assert codes == [201] * 180

    def test_a_burst_after_a_quiet_minute_is_taken(
        self, client: FlaskClient, token: str, simulated: SimulatedTime
    ) -> None:
        """The window moves: a full minute's allowance comes back after a minute."""
        for n in range(PER_MINUTE):
            send(client, token, {"n": n})
        assert send(client, token, {}).status_code == 429
        simulated.now += 61
        assert send(client, token, lead(3)).status_code == 201
