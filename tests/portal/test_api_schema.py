"""The intake API's OpenAPI document says what the server enforces (R1).

Schemathesis fuzzes ``POST /api/v1/leads`` from the served document, in positive mode
(schema-valid requests, which the server must accept) and negative mode (schema-invalid
ones, which it must refuse), with every check it has; on top of them, no rejected
request may store a lead or leave its Idempotency-Key reserved. A table of the values on
which document and server used to disagree pins each of them with the fuzzer's own
validator.

Two rules no JSON Schema can state are applied the way the document's ``x-qleads-*``
members say: ``savings`` equals ``without_pv - with_pv`` (fixed up in positive cases),
and ``received_at`` may not lie after the arrival (the fuzzer's clock stands after
every date the pattern allows; the bound has its own tests). Idempotency-Keys are made
unique per request, as the header's description asks of clients.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from portal_support import portal_config
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from examples.admin_app import create_app
from examples.admin_app.api import create_source_token, idempotency_records, openapi_document
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.adapters.sql.schema import lead_table
from qleads.model import LeadSource
from qleads.testing.profiles import examples

#: After every date received_at's pattern allows (2000-2099, any offset): the one bound
#: JSON Schema cannot say (at most arrival + 5 minutes) never refuses a generated date.
FUZZ_NOW = dt.datetime(2100, 1, 2, tzinfo=dt.UTC)
#: Examples per mode: enough to reach every field, few enough for CI (about 15 s each).
MAX_EXAMPLES = examples(0.6)
_KEY_ALPHABET = frozenset(chr(c) for c in range(0x21, 0x7F))


class Fuzzed:
    """The app under fuzzing, its source's token and what it has stored."""

    def __init__(self, app: Flask, token: str) -> None:
        self.app = app
        self.token = token
        self.services: Services = app.extensions["qleads"]

    def stored(self) -> tuple[int, int]:
        """(leads, Idempotency-Keys still reserved without an answer)."""
        with self.services.engine.connect() as conn:
            leads = conn.execute(sa.select(sa.func.count()).select_from(lead_table)).scalar_one()
            pending = conn.execute(
                sa.select(sa.func.count())
                .select_from(idempotency_records)
                .where(idempotency_records.c.status == 0)
            ).scalar_one()
        return int(leads), int(pending)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "portal.sqlite"
    app = create_app(
        portal_config(
            path,
            FrozenClock(FUZZ_NOW),
            QLEADS_DEMO=False,
            # the fuzzer sends hundreds of requests a minute; the throttle has its own tests
            QLEADS_RATELIMIT_API_TOKEN="100000 per minute",
            QLEADS_RATELIMIT_API_CLIENT="100000 per minute",
        )
    )
    services: Services = app.extensions["qleads"]
    services.directory.add_source(LeadSource("fuzz-calc", "Fuzz-Rechner"))
    yield Fuzzed(app, create_source_token(services.directory, "fuzz-calc"))
    services.close()


@pytest.fixture(scope="module")
def operation(fuzzed: Fuzzed) -> Any:
    """``POST /leads`` as Schemathesis reads it from the served document."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed.app)
    # The token is the source's own (set on every case), not generated: a negative case
    # must be negative in what it sends, not in a header the test then replaces.
    schema.config.generation.update(with_security_parameters=False)
    return schema["/leads"]["POST"]


def _amount(value: object) -> Decimal:
    return Decimal(
        str(value).strip(
            " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
            "\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
        )
    )


def _apply_equals(body: object) -> None:
    """``x-qleads-equals``: a given ``savings`` is ``without_pv - with_pv``."""
    if not isinstance(body, dict) or not isinstance(body.get("costs"), dict):
        return
    for row in body["costs"].values():
        if isinstance(row, dict) and row.get("savings") is not None:
            difference = _amount(row["without_pv"]) - _amount(row["with_pv"])
            row["savings"] = format(difference, "f")


def _unique_key(case: Any) -> None:
    """A fresh key per request where the generated one is valid (clients must not reuse a
    key for another document); a malformed or missing one, or any header of a case made
    negative in its headers, stays as generated."""
    headers = case.meta.components.get(ParameterLocation.HEADER)
    if headers is not None and headers.mode is GenerationMode.NEGATIVE:
        return
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if isinstance(key, str) and 1 <= len(key) <= 255 and set(key) <= _KEY_ALPHABET:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


def _call(case: Any, fuzzed: Fuzzed) -> int:
    _unique_key(case)
    if case.headers is None:
        case.headers = {}
    for name in [n for n in case.headers if n.lower() == "authorization"]:
        del case.headers[name]
    case.headers["Authorization"] = f"Bearer {fuzzed.token}"
    before, _ = fuzzed.stored()
    response = case.call_and_validate()
    after, pending = fuzzed.stored()
    assert pending == 0, "a request left its Idempotency-Key reserved"
    if response.status_code == 201:
        assert after == before + 1
    else:
        assert after == before, f"{response.status_code} but a lead was stored"
    return int(response.status_code)


def _fuzz(operation: Any, mode: GenerationMode, check: Any) -> list[int]:
    """Run ``check`` on up to MAX_EXAMPLES generated cases; the statuses it answered."""
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def run(case: Any) -> None:
        statuses.append(check(case))

    run()
    return statuses


@pytest.mark.slow
def test_every_schema_valid_request_is_accepted(operation: Any, fuzzed: Fuzzed) -> None:
    """Positive mode, every check: what the document allows, the server takes (R1); a
    409 is a valid document under a source_id the fuzzer used before."""

    def check(case: Any) -> int:
        _apply_equals(case.body)
        return _call(case, fuzzed)

    statuses = _fuzz(operation, GenerationMode.POSITIVE, check)
    assert set(statuses) <= {200, 201, 409}
    assert 201 in statuses


@pytest.mark.slow
def test_every_schema_invalid_request_is_refused_and_stores_nothing(
    operation: Any, fuzzed: Fuzzed
) -> None:
    """Negative mode, every check: what the document forbids, the server refuses, and a
    refusal stores nothing (R1)."""
    statuses = _fuzz(operation, GenerationMode.NEGATIVE, lambda case: _call(case, fuzzed))
    assert set(statuses) <= {400, 413, 415, 422}


# --- where document and server used to disagree ------------------------------------------


def _document() -> dict[str, Any]:
    return {
        "source_id": "calc-1",
        "received_at": "2026-11-20T08:00:00+01:00",
        "contact": {
            "name": "Erika Mustermann",
            "street": "Markt 1",
            "postal_code": "04107",
            "city": "Leipzig",
            "country": "DE",
            "email": "erika@example.org",
            "phone": "+49 341 123456",
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
            "per_month": {"with_pv": "15.00", "without_pv": "92.00", "savings": "77.00"},
            "per_year": {"with_pv": "180.00", "without_pv": "1104.00"},
            "after_20_years": {"with_pv": "3600.00", "without_pv": "22080.00"},
        },
        "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
    }


def _with(path: str, value: object) -> dict[str, Any]:
    document = _document()
    *parents, key = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    target[key] = value
    return document


#: (path, value, valid): each of these once had document and server disagree.
DISAGREEMENTS: list[tuple[str, object, bool]] = [
    ("contact.country", "XX", False),  # pattern-shaped but not an assigned code
    ("contact.country", "DE", True),
    ("contact.phone", "1", False),  # one digit
    ("contact.phone", "12", False),
    ("contact.phone", "123", True),
    ("contact.phone", "", True),  # blank means none
    ("contact.phone", None, True),
    ("contact.postal_code", "4107", False),  # DE wants five digits
    ("contact.name", "   ", False),  # blank
    ("contact.name", "Max\r\nBcc: x", False),  # control characters
    ("contact.city", "Leip\u202ezig", False),  # a bidi override
    ("contact.comment", "Zeile 1\r\nZeile 2", True),
    ("contact.comment", "Zeile 1\rZeile 2", False),
    ("contact.email", "a" * 65 + "@example.org", False),  # local part over 64
    ("contact.email", "info@müller-solar.de", True),
    ("contact.email", "max..muster@example.org", False),
    ("contact.email", "x" * 64 + "@example.org", True),
    ("costs.per_month.with_pv", 15.001, False),  # multipleOf 0.01
    ("costs.per_month.with_pv", "15.001", False),
    ("costs.per_month.with_pv", "-5", False),  # a decimal string below the range
    ("costs.per_month.with_pv", "1000000000", False),  # ... and above it
    ("costs.per_month.with_pv", "015.00", False),  # leading zero
    ("costs.per_month.with_pv", "1e3", False),
    ("consumption.price_ct_per_kwh", "500.00", True),
    ("consumption.price_ct_per_kwh", "500.01", False),
    ("roof.area_m2", "100000.0", True),
    ("roof.area_m2", "100001", False),
    ("consumption.persons", 3.0, True),  # JSON Schema's integer
    ("consumption.persons", 3.5, False),
    ("costs.per_month.savings", None, True),
    ("received_at", "1999-12-31T23:00:00Z", False),
    ("received_at", "2000-01-01T00:00:00+03:04", False),  # 1999 in UTC
    ("received_at", "2000-01-01T00:00:00-05:00", True),
    ("received_at", "2018-07-27T09:00:00", False),  # naive
    ("received_at", "2018-02-30T09:00:00Z", False),
    ("received_at", "2020-02-29T09:00:00Z", True),
    ("source_id", " calc-1", False),
]


@pytest.mark.parametrize(
    ("path", "value", "valid"),
    DISAGREEMENTS,
    ids=[f"{path}={value!r}" for path, value, _ in DISAGREEMENTS],
)
def test_document_and_server_agree_on_each_former_disagreement(
    path: str, value: object, valid: bool
) -> None:
    """The schema's verdict (the fuzzer's validator) is the server's verdict (R1)."""
    from qleads.errors import InvalidDocument
    from qleads.intake import parse_document

    schema = openapi_document()["components"]["schemas"]["LeadDocument"]  # type: ignore[index]
    document = _with(path, value)
    assert jsonschema_rs.Draft202012Validator(schema).is_valid(document) is valid
    try:
        parse_document(document)
    except InvalidDocument:
        accepted = False
    else:
        accepted = True
    assert accepted is valid
