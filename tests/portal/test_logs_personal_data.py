"""No customer's personal data in any log line: a whole scenario — intake over the API,
claim, record, release, assign, deadlines swept, mails refused by the server with a
reply that quotes an address, a storage failure — runs with the product's log set-up at
level ``debug`` (``qleads.cli.logs.configure_logging``, JSON lines), and every line is
searched for the customer's distinctive name, e-mail address and phone number.

The multi-instance test does the same across real processes (gunicorn, workers)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from portal_support import log_in, post_form

from examples.admin_app.api import create_source_token
from examples.admin_app.background import run_once
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.cli.logs import configure_logging, remove_logging
from qleads.errors import StorageError
from qleads.mail import PermanentMailError, RecordingMailer
from qleads.model import LeadSource

NAME = "Zacharias Quellenfeldt-Ypsilon"
EMAIL = "zq.ypsilon@quellenfeldt-kunde.example"
PHONE = "+49 351 90817263"
STREET = "Quellenfeldter Gasse 93"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream, loggers=("qleads", "examples"))
    yield stream
    remove_logging()


def _lead() -> dict[str, Any]:
    return {
        "source_id": "pii-1",
        "contact": {
            "name": NAME,
            "street": STREET,
            "postal_code": "04107",
            "city": "Leipzig",
            "country": "DE",
            "email": EMAIL,
            "phone": PHONE,
            "comment": f"Bitte {PHONE} nach 18 Uhr, sonst {EMAIL}",
        },
        "consumption": {"persons": 3, "annual_kwh": 3800, "price_ct_per_kwh": "29.00"},
        "roof": {
            "area_m2": 60, "tilt_deg": 30, "azimuth_deg": 180, "modules": "Q.PEAK DUO",
            "module_count": 16, "storage_interest": False,
        },
        "costs": {
            "per_month": {"with_pv": "15.00", "without_pv": "92.00"},
            "per_year": {"with_pv": "180.00", "without_pv": "1104.00"},
            "after_20_years": {"with_pv": "3600.00", "without_pv": "22080.00"},
        },
        "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
    }  # fmt: skip


def test_no_log_line_holds_the_customers_data(
    app: Flask, services: Services, clock: FrozenClock, log_lines: io.StringIO
) -> None:
    services.directory.add_source(LeadSource("pii-calc", "Rechner"))
    token = create_source_token(services.directory, "pii-calc")
    api = app.test_client()
    created = api.post(
        "/api/v1/leads",
        data=json.dumps(_lead()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "pii-1"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    lead_id = created.get_json()["id"]

    anna = app.test_client()
    log_in(anna, "installer1")
    post_form(anna, f"/leads/{lead_id}/claim", form=f"/leads/{lead_id}")
    post_form(
        anna,
        f"/leads/{lead_id}/status",
        {"status": "contact_attempted", "channel": "phone", "note": f"{NAME} {PHONE}"},
        form=f"/leads/{lead_id}/status",
    )
    bob = app.test_client()
    log_in(bob, "installer2")
    post_form(bob, f"/leads/{lead_id}/claim", form="/installer/")  # held: a conflict
    post_form(
        anna,
        f"/leads/{lead_id}/status",
        {"status": "release", "reason": "no_time", "note": EMAIL},
        form=f"/leads/{lead_id}/status",
    )
    rep = app.test_client()
    log_in(rep, "rep1")
    installer2 = services.directory.installer("installer2")
    assert installer2 is not None
    post_form(
        rep, f"/leads/{lead_id}/assign", {"installer_id": installer2.id}, form=f"/leads/{lead_id}"
    )

    # The mail server refuses with a reply that quotes addresses and the name.
    refusing = RecordingMailer()
    refusing.fail_all(PermanentMailError(f"550 <{EMAIL}> {NAME} rejected", reply_code=550))
    services.dispatcher.mailer = refusing
    run_once(services)
    clock.advance(dt.timedelta(days=10))  # reminders and expiries fall due
    run_once(services)

    # The database fails while the customer's data is being written.
    def failing_intake(*_args: object, **_kwargs: object) -> None:
        raise StorageError(f"duplicate key value ({EMAIL}, {PHONE})")

    services.desk.intake = failing_intake  # type: ignore[method-assign]
    second = _lead() | {"source_id": "pii-2"}
    failed = api.post(
        "/api/v1/leads",
        data=json.dumps(second),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "pii-2"},
    )
    assert failed.status_code == 503
    app.test_client().get("/readyz")

    lines = log_lines.getvalue().splitlines()
    messages = [json.loads(line)["message"] for line in lines]
    # The scenario did log: batches, failed deliveries, rounds, the conflict, the 503.
    assert any(m.startswith("mail batch:") for m in messages), messages
    assert any("failed for good (reply 550)" in m for m in messages), messages
    assert any(m.startswith("round:") for m in messages), messages
    assert any("answered 503" in m for m in messages), messages
    text = log_lines.getvalue()
    for secret in (NAME, "Quellenfeldt", EMAIL, "quellenfeldt-kunde", PHONE, "90817263", STREET):
        assert secret not in text, f"{secret!r} in a log line"
