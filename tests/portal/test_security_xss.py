"""Escaping: a lead named ``<svg onload=alert(1)>`` — and an
installer of that name — shows as text on every page it appears on: the installer's list,
tabs, detail, status and print pages, the rep's pages, the admin lists and details, the
outbox and the mail reader. Nowhere does the markup reach a page unescaped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from examples.admin_app.background import run_once
from examples.admin_app.models import PortalMail
from examples.admin_app.services import Services
from qleads.model import Installer

PAYLOAD = "<svg onload=alert(1)>"
ESCAPED = "&lt;svg onload=alert(1)&gt;"

DOCUMENT: dict[str, Any] = {
    "source_id": "xss-1",
    "contact": {
        "name": PAYLOAD,
        "street": PAYLOAD,
        "postal_code": "04107",
        "city": "Leipzig",
        "country": "DE",
        "email": "x@example.org",
        "reachability": PAYLOAD,
        "comment": PAYLOAD,
    },
    "consumption": {"persons": 3, "annual_kwh": 3800, "price_ct_per_kwh": 29},
    "roof": {
        "area_m2": 99,
        "tilt_deg": 30,
        "azimuth_deg": 180,
        "modules": PAYLOAD,
        "module_count": 16,
        "storage_interest": False,
    },
    "costs": {
        "per_month": {"with_pv": 15, "without_pv": 92},
        "per_year": {"with_pv": 180, "without_pv": 1104},
        "after_20_years": {"with_pv": 3600, "without_pv": 22080},
    },
    "eco_balance": {"co2_saving_kg": 14365, "trees_planted": 195},
}


@pytest.fixture
def leads(services: Services) -> dict[str, int]:
    """A routed lead claimed by installer1 (so its contact shows, R16), an unrouted one
    for the admin's list, an installer with the same name, and the mails they caused."""
    source = services.directory.source("solarrechner")
    assert source is not None
    routed = services.desk.intake(source, DOCUMENT).lead.id
    unrouted_doc = copy.deepcopy(DOCUMENT)
    unrouted_doc["source_id"] = "xss-2"
    unrouted_doc["contact"].update(postal_code="1010", city="Wien", country="AT")
    unrouted = services.desk.intake(source, unrouted_doc).lead.id
    installer1 = services.directory.installer("installer1")
    assert installer1 is not None
    services.desk.claim(installer1, routed)
    services.directory.add_installer(
        Installer(id="xss-installer", name=PAYLOAD, email="xss@example.org", rep_id="rep1")
    )
    run_once(services)
    return {"routed": routed, "unrouted": unrouted}


def assert_escaped(client: FlaskClient, url: str, *, shown: bool = True) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    assert PAYLOAD not in page, f"{url} shows the markup unescaped"
    assert "<svg onload" not in page, url
    if shown:
        assert ESCAPED in page, f"{url} does not show the name at all"


class TestInstallerPages:
    def test_every_page_of_the_holder_escapes_the_name(
        self, client: FlaskClient, login: Any, leads: dict[str, int]
    ) -> None:
        login(client, "installer1")
        lead = leads["routed"]
        for url in (
            "/installer/",
            "/installer/tab/all",
            "/installer/tab/new",
            f"/leads/{lead}",
            f"/leads/{lead}/print",
        ):
            assert_escaped(client, url)
        # The status tab shows the history, not the contact: nothing to show, nothing raw.
        assert_escaped(client, f"/leads/{lead}/status", shown=False)

    def test_the_mail_reader_escapes_what_the_mails_carry(
        self, client: FlaskClient, login: Any, leads: dict[str, int], services: Services
    ) -> None:
        """R5/R10: the assignment mail names the customer; its reader shows it as text."""
        rep = services.directory.rep("rep1")
        assert rep is not None
        services.desk.assign(rep, leads["routed"], services.directory.installer("installer2"))
        run_once(services)
        with services.sessions() as db:
            mail = db.scalars(
                sa.select(PortalMail)
                .where(PortalMail.subject.contains(PAYLOAD))
                .order_by(PortalMail.id.desc())
            ).first()
        assert mail is not None, "the assignment mail should name the customer"
        login(client, "installer2")
        assert_escaped(client, "/mails/")
        assert_escaped(client, f"/mails/{mail.id}")


class TestRepPages:
    def test_the_reps_pages_escape_the_name(
        self, client: FlaskClient, login: Any, leads: dict[str, int]
    ) -> None:
        login(client, "rep1")
        assert_escaped(client, "/rep/")
        assert_escaped(client, f"/leads/{leads['routed']}")
        assert_escaped(client, f"/leads/{leads['routed']}/status", shown=False)
        assert_escaped(client, "/rep/installers")
        assert_escaped(client, "/admin/installers/")


class TestAdminPages:
    def test_the_admin_lists_escape_the_names(
        self, client: FlaskClient, login: Any, leads: dict[str, int]
    ) -> None:
        login(client, "admin")
        assert_escaped(client, "/admin/unrouted/")
        assert_escaped(client, f"/admin/unrouted/details/?id={leads['unrouted']}")
        assert_escaped(client, f"/admin/unrouted/assign/{leads['unrouted']}")
        assert_escaped(client, "/admin/installers/?search=svg")
        assert_escaped(client, "/admin/installers/details/?id=xss-installer")
        assert_escaped(client, "/admin/installers/edit/?id=xss-installer", shown=False)
        assert_escaped(client, "/admin/outbox/", shown=False)
        assert_escaped(client, "/admin/", shown=False)
        assert_escaped(client, "/rep/")
        assert_escaped(client, f"/leads/{leads['unrouted']}")
        assert_escaped(client, "/mails/", shown=False)

    def test_the_export_is_not_html_and_has_no_formula(
        self, client: FlaskClient, login: Any, leads: dict[str, int]
    ) -> None:
        login(client, "admin")
        response = client.get("/admin/installers/export/csv/")
        assert response.mimetype == "text/csv"
        assert PAYLOAD in response.get_data(as_text=True)  # data, not a page: kept as is
