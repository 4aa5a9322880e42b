"""The intake API: ``POST /api/v1/leads`` for lead sources (R1, R12).

Every error answer under ``/api/`` is an RFC 9457 problem document, whoever made it:
400 malformed JSON (lone surrogates included), 401 missing or bad token, 404 and 405 from
routing, 413 over 64 KiB, 415 wrong content type, 422 with every field path, 429 and 500;
the same Idempotency-Key with another body is 422, a replay with the same key and body
returns the first response, and received_at may not lie after the lead's arrival.
(Concurrency on one key: ``test_api_idempotency.py``; the OpenAPI document against the
server: ``test_api_schema.py``.)
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Response
from flask.testing import FlaskClient
from werkzeug.exceptions import TooManyRequests

from examples.admin_app.api import (
    IDEMPOTENCY_TTL,
    MAX_BODY_BYTES,
    create_source_token,
    openapi_document,
)
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.adapters.sql.schema import lead_table, source_table
from qleads.errors import StorageError
from qleads.lifecycle import Status
from qleads.model import LeadSource

URL = "/api/v1/leads"
PROBLEM = "application/problem+json"


def lead_document(source_id: str = "calc-4711", **contact: Any) -> dict[str, Any]:
    """A valid lead in Leipzig (territory of rep1, where installer1 works)."""
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
            "phone": "+49 341 123456",
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


@pytest.fixture
def token(services: Services) -> str:
    """A lead source of its own with a freshly issued token (shown once, stored hashed)."""
    services.directory.add_source(LeadSource("test-calc", "Test-Rechner"))
    return create_source_token(services.directory, "test-calc")


def submit(
    client: FlaskClient,
    token: str | None,
    body: bytes | str | dict[str, Any],
    *,
    key: str | None = "key-1",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    sent: dict[str, str] = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if key is not None:
        sent["Idempotency-Key"] = key
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(URL, data=data, headers=sent, content_type=content_type)


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem answer with ``status``; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str)
        assert body[member]
    return body


def lead_count(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(lead_table)).scalar_one())


class TestCreated:
    def test_a_new_lead_is_201_with_its_location(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        """R1: a valid document becomes a ``new`` lead, routed to its territory."""
        response = submit(client, token, lead_document())
        assert response.status_code == 201
        body = response.get_json()
        assert response.headers["Location"] == f"/leads/{body['id']}"
        assert body["status"] == "new"
        assert body["created"] is True
        with services.repository.unit_of_work() as uow:
            lead = uow.get(body["id"])
        assert lead.status is Status.NEW
        assert lead.territory_id is not None
        assert lead.document.contact.name == "Erika Mustermann"

    def test_the_api_needs_no_csrf_token(self, client: FlaskClient, token: str) -> None:
        """The blueprint is token-authenticated and exempt from CSRF (the app-wide
        CSRFProtect is on in these tests)."""
        assert client.application.config["WTF_CSRF_ENABLED"] is True
        assert submit(client, token, lead_document()).status_code == 201

    def test_the_same_document_under_a_new_key_is_200(
        self, client: FlaskClient, token: str
    ) -> None:
        """R1: the same document twice is the same lead (``created`` false)."""
        first = submit(client, token, lead_document(), key="a")
        second = submit(client, token, lead_document(), key="b")
        assert second.status_code == 200
        assert second.get_json()["id"] == first.get_json()["id"]
        assert second.get_json()["created"] is False
        assert second.headers["Location"] == first.headers["Location"]

    def test_another_document_under_a_known_source_id_is_409(
        self, client: FlaskClient, token: str
    ) -> None:
        """R1: a different document under a known ``source_id`` is a conflict."""
        submit(client, token, lead_document(), key="a")
        body = problem(submit(client, token, lead_document(city="Halle"), key="b"), 409)
        assert body["source_id"] == "calc-4711"

    def test_the_demo_source_token_works(self, app: Any) -> None:
        """The token the demo prints authenticates the demo's own source."""
        services: Services = app.extensions["qleads"]
        demo = services.directory.source("solarrechner")
        assert demo is not None
        fresh = create_source_token(services.directory, demo.id)
        response = submit(app.test_client(), fresh, lead_document("demo-1"))
        assert response.status_code == 201
        assert response.get_json()["submitted_by"] == "solarrechner"


class TestAuthentication:
    def test_no_token_is_401(self, client: FlaskClient, services: Services) -> None:
        """R12: only a lead source may submit."""
        before = lead_count(services)
        response = submit(client, None, lead_document())
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert lead_count(services) == before

    def test_a_wrong_token_is_401(self, client: FlaskClient, token: str) -> None:
        problem(submit(client, token + "x", lead_document()), 401)

    def test_another_scheme_is_401(self, client: FlaskClient, token: str) -> None:
        response = client.post(
            URL,
            data=json.dumps(lead_document()),
            content_type="application/json",
            headers={"Authorization": f"Basic {token}", "Idempotency-Key": "k"},
        )
        problem(response, 401)

    def test_a_rotated_token_stops_working(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        """Issuing a new token revokes the old one; only the hash is stored."""
        newer = create_source_token(services.directory, "test-calc")
        problem(submit(client, token, lead_document()), 401)
        assert submit(client, newer, lead_document()).status_code == 201
        with services.engine.connect() as conn:
            stored = conn.execute(
                source_table.select().where(source_table.c.id == "test-calc")
            ).one()
        assert stored.token_hash != newer
        assert newer not in str(stored)

    def test_an_unauthenticated_request_learns_nothing_else(self, client: FlaskClient) -> None:
        """Authentication is checked first: a bad body without a token is still 401."""
        problem(submit(client, None, b"{not json", content_type="text/plain", key=None), 401)


class TestBody:
    def test_malformed_json_is_400(self, client: FlaskClient, token: str) -> None:
        body = problem(submit(client, token, b'{"source_id": "x",'), 400)
        assert "JSON" in body["title"]

    @pytest.mark.parametrize(
        "raw",
        [b'{"a": NaN}', b'{"a": 1, "a": 2}', b"\xff\xfe{}", b""],
        ids=["nan", "duplicate-key", "not-utf8", "empty"],
    )
    def test_what_is_not_strict_json_is_400(
        self, client: FlaskClient, token: str, raw: bytes
    ) -> None:
        problem(submit(client, token, raw), 400)

    def test_a_body_over_64_kib_is_413(self, client: FlaskClient, token: str) -> None:
        doc = lead_document(comment="x" * (MAX_BODY_BYTES + 10))
        body = problem(submit(client, token, doc), 413)
        assert body["max_bytes"] == MAX_BODY_BYTES

    def test_a_large_body_without_content_length_is_413(
        self, client: FlaskClient, token: str
    ) -> None:
        """The read is bounded too: a chunked body cannot slip past the header check."""
        payload = json.dumps(lead_document(comment="y" * (MAX_BODY_BYTES + 10))).encode()
        response = client.post(
            URL,
            input_stream=io.BytesIO(payload),
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "chunked",
                "Content-Type": "application/json",
            },
            # No Content-Length; the server marks the stream as terminated (chunked).
            environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        )
        problem(response, 413)

    def test_a_body_just_under_the_limit_is_read(self, client: FlaskClient, token: str) -> None:
        """64 KiB is the limit, not less: such a body reaches validation (422 for the
        over-long comment, not 413)."""
        doc = lead_document()
        doc["contact"]["comment"] = ""
        base = len(json.dumps(doc).encode())
        doc["contact"]["comment"] = "z" * (MAX_BODY_BYTES - base)
        assert len(json.dumps(doc).encode()) == MAX_BODY_BYTES
        body = problem(submit(client, token, doc), 422)
        assert [e["path"] for e in body["errors"]] == ["contact.comment"]

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/xml"],
    )
    def test_another_content_type_is_415(
        self, client: FlaskClient, token: str, content_type: str
    ) -> None:
        problem(submit(client, token, lead_document(), content_type=content_type), 415)

    def test_json_in_another_charset_is_415(self, client: FlaskClient, token: str) -> None:
        response = submit(
            client, token, lead_document(), content_type="application/json; charset=latin-1"
        )
        problem(response, 415)

    def test_json_with_utf8_charset_is_fine(self, client: FlaskClient, token: str) -> None:
        response = submit(
            client, token, lead_document(), content_type="application/json; charset=utf-8"
        )
        assert response.status_code == 201


class TestValidation:
    def test_every_field_error_is_listed_and_nothing_stored(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        """R1: all field errors at once, each with its path; nothing is stored."""
        doc = lead_document()
        doc["contact"]["postal_code"] = "4107"
        doc["contact"]["email"] = "not-an-address"
        doc["roof"]["tilt_deg"] = 91
        doc["consumption"]["persons"] = "3"
        del doc["eco_balance"]["trees_planted"]
        doc["unexpected"] = True
        before = lead_count(services)
        body = problem(submit(client, token, doc), 422)
        paths = {e["path"] for e in body["errors"]}
        assert {
            "contact.postal_code",
            "contact.email",
            "roof.tilt_deg",
            "consumption.persons",
            "eco_balance.trees_planted",
        } <= paths
        assert any(p in ("unexpected", "$") for p in paths)
        for error in body["errors"]:
            assert error["detail"]
            assert error["pointer"] == (
                "" if error["path"] == "$" else "/" + error["path"].replace(".", "/")
            )
        assert lead_count(services) == before

    def test_a_json_array_is_422_at_the_root(self, client: FlaskClient, token: str) -> None:
        body = problem(submit(client, token, b"[1, 2]"), 422)
        assert [e["path"] for e in body["errors"]] == ["$"]

    def test_an_invalid_document_does_not_use_its_key_up(
        self, client: FlaskClient, token: str
    ) -> None:
        """Nothing was stored, so the key is free: the same document is refused again
        the same way, and the fixed one is taken in under the same key."""
        doc = lead_document(postal_code="x")
        first = submit(client, token, doc, key="bad")
        second = submit(client, token, doc, key="bad")
        assert first.status_code == second.status_code == 422
        assert first.get_json(force=True) == second.get_json(force=True)
        assert "Idempotent-Replayed" not in second.headers
        assert submit(client, token, lead_document(), key="bad").status_code == 201

    def test_received_at_in_2099_is_422_naming_the_field(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        """R1: a lead cannot have been entered after it arrived (a few minutes of clock
        skew aside); dated 2099 it could be claimed but never recorded."""
        doc = lead_document()
        doc["received_at"] = "2099-01-01T00:00:00Z"
        before = lead_count(services)
        body = problem(submit(client, token, doc), 422)
        assert [e["path"] for e in body["errors"]] == ["received_at"]
        assert lead_count(services) == before

    def test_received_at_before_2000_is_422_naming_the_field(
        self, client: FlaskClient, token: str
    ) -> None:
        doc = lead_document()
        doc["received_at"] = "1999-12-31T23:59:59Z"
        body = problem(submit(client, token, doc), 422)
        assert [e["pointer"] for e in body["errors"]] == ["/received_at"]

    def test_a_5000_digit_integer_is_a_field_error(self, client: FlaskClient, token: str) -> None:
        """Read exactly and blamed on its field, not "malformed JSON" with Python's
        sys.set_int_max_str_digits() hint."""
        raw = json.dumps(lead_document()).replace('"persons": 3', '"persons": ' + "7" * 5000)
        body = problem(submit(client, token, raw), 422)
        assert [e["path"] for e in body["errors"]] == ["consumption.persons"]
        assert "set_int_max_str_digits" not in json.dumps(body)


class TestIdempotencyKey:
    def test_a_missing_key_is_400(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        before = lead_count(services)
        body = problem(submit(client, token, lead_document(), key=None), 400)
        assert "Idempotency-Key" in body["detail"]
        assert lead_count(services) == before

    @pytest.mark.parametrize("key", ["", "x" * 256, "mit leerzeichen", "ümlaut"])
    def test_a_malformed_key_is_400(self, client: FlaskClient, token: str, key: str) -> None:
        problem(submit(client, token, lead_document(), key=key), 400)

    def test_a_replay_returns_the_first_response(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        first = submit(client, token, lead_document(), key="retry-me")
        second = submit(client, token, lead_document(), key="retry-me")
        assert first.status_code == second.status_code == 201
        assert second.get_data() == first.get_data()
        assert second.headers["Location"] == first.headers["Location"]
        assert second.headers["Idempotent-Replayed"] == "true"

    def test_a_replay_may_reformat_the_same_json(self, client: FlaskClient, token: str) -> None:
        doc = lead_document()
        first = submit(client, token, json.dumps(doc), key="fmt")
        second = submit(client, token, json.dumps(doc, indent=4, sort_keys=True), key="fmt")
        assert second.status_code == 201
        assert second.get_data() == first.get_data()

    def test_the_same_key_with_another_body_is_422(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        submit(client, token, lead_document("calc-1"), key="shared")
        before = lead_count(services)
        body = problem(submit(client, token, lead_document("calc-2"), key="shared"), 422)
        assert "Idempotency-Key" in body["title"]
        assert lead_count(services) == before

    def test_a_key_is_forgotten_after_a_day(
        self, client: FlaskClient, token: str, clock: FrozenClock
    ) -> None:
        """Answers are kept for replays for 24 hours; then the key may be used anew."""
        submit(client, token, lead_document("calc-1"), key="daily")
        clock.advance(IDEMPOTENCY_TTL + dt.timedelta(minutes=1))
        assert submit(client, token, lead_document("calc-2"), key="daily").status_code == 201

    def test_keys_belong_to_their_source(
        self, client: FlaskClient, token: str, services: Services
    ) -> None:
        """Two sources may use the same key for different documents."""
        services.directory.add_source(LeadSource("other-calc", "Anderer Rechner"))
        other = create_source_token(services.directory, "other-calc")
        assert submit(client, token, lead_document("calc-1"), key="k").status_code == 201
        assert submit(client, other, lead_document("calc-2"), key="k").status_code == 201


class TestStorageFailure:
    def test_a_database_failure_is_503_and_may_be_retried(
        self, client: FlaskClient, token: str, services: Services, monkeypatch: Any
    ) -> None:
        """Nothing is stored and nothing is remembered for the key: the retry works."""

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise StorageError("database error (OperationalError): disk I/O error")

        monkeypatch.setattr(services.desk, "intake", broken)
        response = submit(client, token, lead_document(), key="flaky")
        problem(response, 503)
        assert response.headers["Retry-After"]
        monkeypatch.undo()
        assert submit(client, token, lead_document(), key="flaky").status_code == 201


class TestOpenApi:
    def test_the_document_is_served_as_json(self, client: FlaskClient) -> None:
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.get_json() == json.loads(json.dumps(openapi_document()))

    def test_it_describes_the_endpoint_and_every_answer(self) -> None:
        doc = openapi_document()
        assert str(doc["openapi"]).startswith("3.1")
        post = doc["paths"]["/leads"]["post"]  # type: ignore[index]
        assert set(post["responses"]) == {
            "200",
            "201",
            "400",
            "401",
            "409",
            "413",
            "415",
            "422",
            "429",
            "503",
        }
        for status in ("400", "401", "409", "413", "415", "422", "429", "503"):
            assert "application/problem+json" in post["responses"][status]["content"]
        assert post["parameters"][0]["name"] == "Idempotency-Key"
        assert post["parameters"][0]["required"] is True

    def test_the_lead_schema_matches_the_wire_format(self) -> None:
        """Every top-level and contact field of ``qleads.intake``'s wire format."""
        schema = openapi_document()["components"]["schemas"]["LeadDocument"]  # type: ignore[index]
        assert set(schema["properties"]) == {
            "source_id",
            "received_at",
            "contact",
            "consumption",
            "roof",
            "costs",
            "eco_balance",
            "consent",
        }
        assert "consent" not in schema["required"]  # R14: optional
        assert schema["additionalProperties"] is False
        contact = schema["properties"]["contact"]
        assert set(contact["required"]) == {
            "name",
            "street",
            "postal_code",
            "city",
            "country",
            "email",
        }

    def test_the_example_document_is_accepted(self, client: FlaskClient, token: str) -> None:
        """The document these tests send is a valid instance of the described schema's
        required fields (a client following the document gets a 201)."""
        doc = copy.deepcopy(lead_document("schema-check"))
        schema = openapi_document()["components"]["schemas"]["LeadDocument"]  # type: ignore[index]
        for field in schema["required"]:
            assert field in doc
        assert submit(client, token, doc).status_code == 201


class TestLoneSurrogates:
    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ('"Erika Mustermann"', '"Erika \\ud800"'),
            ('"Markt 1"', '"\\udc00"'),
            ('"city"', '"ci\\ud800ty"'),
            ('"source_id"', '"\\udfff"'),
        ],
        ids=["in-name", "alone-in-street", "in-a-key", "in-a-top-level-key"],
    )
    def test_a_lone_surrogate_is_400_and_never_500(
        self, client: FlaskClient, token: str, services: Services, old: str, new: str
    ) -> None:
        """JSON's \\ud800 escape is not Unicode text: the body is refused as malformed,
        in any value or key, and nothing is stored."""
        raw = json.dumps(lead_document())
        assert old in raw
        before = lead_count(services)
        body = problem(submit(client, token, raw.replace(old, new, 1)), 400)
        assert "lone surrogate" in body["detail"]
        assert lead_count(services) == before


class TestEveryErrorIsAProblem:
    """Every error under /api/ is application/problem+json (RFC 9457), also those that
    Flask, Werkzeug or an extension answer without the API's own code."""

    @pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/", "/api/v2/leads"])
    def test_an_unknown_path_is_404(self, client: FlaskClient, path: str) -> None:
        problem(client.get(path), 404)

    def test_a_wrong_method_is_405_with_allow(self, client: FlaskClient) -> None:
        response = client.get(URL)
        problem(response, 405)
        assert response.headers["Allow"] == "POST"
        problem(client.delete("/api/v1/openapi.json"), 405)

    def test_a_rate_limit_is_429_with_retry_after(self, app: Any) -> None:
        """Whatever throttles (Flask-Limiter raises TooManyRequests), the answer under
        /api/ is a problem document and keeps its Retry-After."""

        def throttled() -> Any:
            response = Response("<h1>Zu viele Anfragen</h1>", status=429, mimetype="text/html")
            response.headers["Retry-After"] = "42"
            raise TooManyRequests(response=response)

        app.add_url_rule("/api/v1/throttled", "throttled", throttled)
        response = app.test_client().get("/api/v1/throttled")
        problem(response, 429)
        assert response.headers["Retry-After"] == "42"

    def test_an_unexpected_failure_is_a_500_problem_and_frees_the_key(
        self, app: Any, token: str, services: Services, monkeypatch: Any
    ) -> None:
        """An unhandled exception is logged by Flask and answered as a problem that
        shows nothing of it; the key is not used up."""
        app.config["PROPAGATE_EXCEPTIONS"] = False

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("secret internals: Erika Mustermann")

        monkeypatch.setattr(services.desk, "intake", broken)
        client = app.test_client()
        response = submit(client, token, lead_document(), key="boom")
        body = problem(response, 500)
        assert "Erika" not in response.get_data(as_text=True)
        assert "Idempotency-Key" in body["detail"]
        monkeypatch.undo()
        assert submit(client, token, lead_document(), key="boom").status_code == 201

    def test_the_portal_outside_the_api_keeps_its_html_pages(self, client: FlaskClient) -> None:
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.mimetype == "text/html"
