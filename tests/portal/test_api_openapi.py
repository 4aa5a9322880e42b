"""The intake API's OpenAPI document is made from what the server enforces (R1).

The lead document's schema in it is the library's own, built from the intake's field
rules; the ``Idempotency-Key`` pattern is the one the endpoint checks; and what the
server answers conforms to the document, a lead that moved on since it arrived
included. (The endpoint fuzzed from the document: ``test_api_schema.py``.)
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from flask.testing import FlaskClient

from examples.admin_app.api import create_source_token, openapi_document
from examples.admin_app.services import Services
from qleads.document_schema import lead_document_schema
from qleads.model import LeadSource

URL = "/api/v1/leads"


def lead_document(source_id: str) -> dict[str, Any]:
    """A valid lead in Leipzig (the territory of installer1)."""
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
    services.directory.add_source(LeadSource("doc-calc", "Dokument-Rechner"))
    return create_source_token(services.directory, "doc-calc")


def submit(client: FlaskClient, token: str, document: dict[str, Any], key: str) -> Any:
    return client.post(
        URL,
        data=json.dumps(document),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        content_type="application/json",
    )


def served(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def test_the_served_lead_document_schema_is_the_one_built_from_the_intake_rules(
    client: FlaskClient,
) -> None:
    """R1: the document restates no field rule; its schema is the library's, whole."""
    document = served(client)
    assert document == json.loads(json.dumps(openapi_document()))
    assert document["components"]["schemas"]["LeadDocument"] == json.loads(
        json.dumps(lead_document_schema())
    )


#: Keys on both sides of the pattern: length 1 and 255, too long, empty, blanks,
#: control and non-ASCII characters, the printable ASCII edges.
KEYS = ["k", "a" * 255, "a" * 256, "", "two words", "tab\there", "\x7f", "ümlaut", "!~"]


def test_the_server_takes_exactly_the_idempotency_keys_the_document_allows(
    client: FlaskClient, token: str
) -> None:
    """A key the document's pattern refuses is a 400 problem; any other takes the lead in."""
    (parameter,) = served(client)["paths"]["/leads"]["post"]["parameters"]
    assert parameter["name"] == "Idempotency-Key"
    allows = jsonschema_rs.Draft202012Validator(parameter["schema"]).is_valid
    verdicts = []
    for number, key in enumerate(KEYS):
        response = submit(client, token, lead_document(f"key-check-{number}"), key)
        verdicts.append((key, allows(key), response.status_code))
    assert [(key, status == 201) for key, _, status in verdicts] == [
        (key, allowed) for key, allowed, _ in verdicts
    ]
    assert {status for _, allowed, status in verdicts if not allowed} == {400}


def test_a_document_sent_again_answers_its_lead_as_it_is_now_as_the_document_says(
    client: FlaskClient, token: str, services: Services
) -> None:
    """R1: the same document twice is the same lead, answered 200 with its status of
    now (claimed here, R3); that answer conforms to the document's ``Lead`` schema."""
    first = submit(client, token, lead_document("moved-on"), "first")
    assert first.status_code == 201
    installer = services.directory.installer("installer1")
    assert installer is not None
    services.desk.claim(installer, first.get_json()["id"])

    again = submit(client, token, lead_document("moved-on"), "second")

    assert again.status_code == 200
    assert again.get_json()["status"] == "claimed"
    lead_schema = served(client)["components"]["schemas"]["Lead"]
    assert jsonschema_rs.Draft202012Validator(lead_schema).is_valid(again.get_json())
