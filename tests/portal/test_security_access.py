"""Who may open what (R2, R12).

Every route of the app — the portal pages, the intake API and every Flask-Admin route of
every view (list, details, create, edit, delete, export, ajax, action) — is requested by
five users: anonymous, installer A (``installer1``), installer B of another territory
(``installer3``), the sales rep ``rep1`` and ``admin``. The answers must match the
checked-in allow-table ``access_matrix.csv`` (``method,rule,role,expected``), where
``expected`` is a status code or ``login`` (a redirect to the login page). A route the
table does not list fails the test, so a new route is an explicit decision.

Lead routes use a lead that installer A holds, so that only he (among installers) may
see it. POSTs carry a valid CSRF token (access is tested here, CSRF in
``test_security_csrf.py``) and no other data, so they change nothing.

To see what the app answers today (review every line before taking it into the file)::

    QLEADS_PRINT_ACCESS_MATRIX=1 .venv/bin/pytest tests/portal/test_security_access.py \
        -k every_route -s | grep '^MATRIX,' | cut -d, -f2-

The table's promises in short: anonymous visitors reach only the login page, static
files, the OpenAPI document, the health checks (which carry no data) and (with a token)
the intake API; an installer never sees
a lead another installer holds (404, R2); the admin area answers 403 to everyone but
admins, except the sales rep's read-only list of his own installers.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portal_support import csrf_token, log_in, post_form

from examples.admin_app.models import PortalMail
from examples.admin_app.services import Services
from qleads.adapters.sql.schema import lead_table

MATRIX = Path(__file__).with_name("access_matrix.csv")
ROLES = ("anonymous", "installer_a", "installer_b", "rep", "admin")
USERS = {"installer_a": "installer1", "installer_b": "installer3", "rep": "rep1", "admin": "admin"}


def load_matrix() -> dict[tuple[str, str, str], str]:
    with MATRIX.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    table = {(r["method"], r["rule"], r["role"]): r["expected"] for r in rows}
    assert len(table) == len(rows), "duplicate rows in access_matrix.csv"
    return table


def routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the app; HEAD and OPTIONS are Flask's own."""
    found = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((method, rule.rule))
    return sorted(found, key=lambda r: (r[1], r[0]))


def _held_by_installer_a(services: Services) -> int:
    with services.engine.connect() as conn:
        lead_id = conn.execute(
            sa.select(lead_table.c.id)
            .where(
                lead_table.c.holder_id == "installer1",
                lead_table.c.status.in_(["claimed", "contact_attempted", "first_contact"]),
            )
            .order_by(lead_table.c.id)
            .limit(1)
        ).scalar_one()
    return int(lead_id)


def _unrouted(services: Services) -> int:
    with services.engine.connect() as conn:
        lead_id = conn.execute(
            sa.select(lead_table.c.id)
            .where(lead_table.c.territory_id.is_(None), lead_table.c.status == "new")
            .order_by(lead_table.c.id)
            .limit(1)
        ).scalar_one()
    return int(lead_id)


def _mail_of_installer_a(services: Services) -> int:
    with services.sessions() as db:
        mail_id = db.scalar(
            sa.select(PortalMail.id)
            .where(PortalMail.recipients.contains("installer1"))
            .order_by(PortalMail.id)
            .limit(1)
        )
    if mail_id is None:
        with services.sessions() as db:
            mail_id = db.scalar(sa.select(PortalMail.id).order_by(PortalMail.id).limit(1))
    assert mail_id is not None, "the demo data has no mails"
    return int(mail_id)


def concrete_url(rule: str, values: dict[str, str]) -> str:
    """``rule`` with its converters replaced by real values."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        return values[name]

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule)


#: Query strings that make a Flask-Admin route address a real row.
QUERIES = {
    "reps": "?id=rep1",
    "installers": "?id=installer1",
    "territories": "?id=sachsen",
    "users": "?id=1",
    "sources": "?id=solarrechner",
    "unrouted": "?id={unrouted}",
    "outbox": "?id=1",
    "failed_mails": "?id=1",
}


def request_url(rule: str, values: dict[str, str]) -> str:
    url = concrete_url(rule, values)
    parts = rule.strip("/").split("/")
    if parts[0] == "admin" and len(parts) >= 3 and parts[2] in {"details", "edit"}:
        url += QUERIES.get(parts[1], "").format(unrouted=values["unrouted_id"])
    if rule.endswith("/ajax/lookup/"):
        url += "?name=rep&query=r"
    return url


def classify(response: Any) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if location.startswith(("/login", "http://localhost/login")):
            return "login"
        return "302"
    return str(response.status_code)


def observe(app: Flask, role: str) -> dict[tuple[str, str], str]:
    """What the app answers ``role`` for every route."""
    services: Services = app.extensions["qleads"]
    lead_id = _held_by_installer_a(services)
    values = {
        "lead_id": str(lead_id),
        "unrouted_id": str(_unrouted(services)),
        "mail_id": str(_mail_of_installer_a(services)),
        "name": "all",
        "export_type": "csv",
        "filename": "portal.css",
        "token": "no-such-reset-link",
    }
    client = app.test_client()
    if role != "anonymous":
        assert log_in(client, USERS[role]).status_code == 302
    csrf = csrf_token(client, "/login")
    seen: dict[tuple[str, str], str] = {}
    ordered = sorted(routes(app), key=lambda r: (r[0] != "GET", r[1] == "/logout", r[1]))
    for method, rule in ordered:
        given = dict(values)
        if rule.startswith("/admin/static/"):
            given["filename"] = "vendor/jquery.min.js"
        if rule.startswith("/admin/unrouted/"):
            given["lead_id"] = given["unrouted_id"]
        url = request_url(rule, given)
        if method == "GET":
            response = client.get(url)
        else:
            response = post_form(client, url, method=method, token=csrf)
        seen[(method, rule)] = classify(response)
    return seen


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_as_the_allow_table_says(app: Flask, role: str) -> None:
    """R12: each role reaches exactly what the allow-table grants, route by route."""
    seen = observe(app, role)
    if os.environ.get("QLEADS_PRINT_ACCESS_MATRIX") == "1":
        for (method, rule), got in seen.items():
            print(f"\nMATRIX,{method},{rule},{role},{got}")
    table = load_matrix()
    listed = {(m, r) for (m, r, who) in table if who == role}
    unknown = sorted(set(seen) - listed)
    assert not unknown, f"routes missing from access_matrix.csv (decide and add): {unknown}"
    gone = sorted(listed - set(seen))
    assert not gone, f"access_matrix.csv lists routes the app does not have: {gone}"
    wrong = {
        f"{method} {rule}": f"expected {table[(method, rule, role)]}, got {got}"
        for (method, rule), got in seen.items()
        if table[(method, rule, role)] != got
    }
    assert not wrong, wrong


def test_the_table_covers_every_role_for_every_route() -> None:
    table = load_matrix()
    pairs = {(m, r) for (m, r, _) in table}
    for method, rule in pairs:
        for role in ROLES:
            assert (method, rule, role) in table, f"{method} {rule}: no row for {role}"


def test_nobody_but_admin_gets_into_the_admin_area() -> None:
    """A cross-check of the table itself: outside the rep's read-only installer list,
    no admin route answers 200 to anyone but an admin."""
    rep_allowed = {"/admin/installers/", "/admin/installers/details/"}
    for (method, rule, role), expected in load_matrix().items():
        if not rule.startswith("/admin/") or rule.startswith("/admin/static/"):
            continue
        if role == "admin" or (role == "rep" and rule in rep_allowed and method == "GET"):
            continue
        assert expected in {"login", "403"}, f"{method} {rule} {role}: {expected}"


def test_login_redirects_come_back_to_the_page(client: FlaskClient) -> None:
    """An anonymous visitor of an admin page is sent to the login with ``next``."""
    response = client.get("/admin/outbox/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/outbox/")
