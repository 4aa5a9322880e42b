"""The portal's share of R14: every route that can show contact data writes an access
record (the routes are read from the app's URL map, so a new one cannot slip through),
the "Zugriffsprotokoll" for admins, the "Auskunft" download and "Personendaten löschen"."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from portal_support import log_in, post_form

from examples.admin_app.api.idempotency import idempotency_records
from examples.admin_app.models import PortalMail
from examples.admin_app.services import Services
from qleads.model import Admin, ReleaseReason
from qleads.tabs import Tab

#: Routes that show no customer contact data, each with the reason. Flask-Admin views
#: are named by their endpoint prefix (every route of the view).
NO_CONTACT_VIEWS = {
    "reps": "the sales reps (staff, not customers)",
    "installers": "the installers (staff)",
    "territories": "territories and their postal-code prefixes",
    "users": "the portal's logins",
    "sources": "the lead sources",
    "outbox": "outbox rows: lead ids, recipients (staff ids), states",
    "failed_mails": "outbox rows, as above",
}
NO_CONTACT = {
    "static": "files",
    "admin.static": "files",
    "admin.index": "counts only",
    "auth.index": "a redirect to the user's start page",
    "auth.login": "the login form",
    "auth.logout": "POST, a redirect",
    "auth.language": "POST, a redirect",
    "account.change_password": "the user's own password form",
    "account.forgot_password": "a form",
    "account.reset_password": "a form",
    "policy.index": "the rules' settings",
    "access_log.index": "ids, kinds, times and networks only (R14)",
    "access_log.export": "the same as CSV",
    "api.openapi": "the API description",
    "api.submit_lead": "answers ids, status and dates, not the contact",
    "leads.claim": "POST, a redirect to the status page (which records)",
    "leads.assign": "POST, a redirect to the detail page (which records)",
    "rep.installers": "figures per installer (it reads leads, and records, but shows none)",
    # The unrouted view is read-only (R12): these routes answer 403 or redirect.
    "unrouted.action_view": "no batch actions",
    "unrouted.ajax_lookup": "no lookups",
    "unrouted.ajax_update": "no inline edits",
    "unrouted.delete_view": "no deletes",
    "unrouted.edit_view": "no edits",
    "unrouted.create_view": "no creates",
    "unrouted.export": "no exports (a redirect); get_list records them if one is switched on",
    "ops_health.healthz": "the process answers",
    "ops_health.readyz": "the database's and the outbox's state",
    "ops_metrics": "figures for Prometheus, counts only",
    "favicon": "a file",
    "partners.scorecards": "figures per installer, no lead",
    "partners.lift_pause": "POST, a redirect",
    "routing_check.explain": "where a postcode would go: territories and installers, no lead",
    "territory_policy.index": "a territory's rules",
    "queue.return_to_pool": "POST, a redirect",
    "queue.unlink": "POST, a redirect",
    "queue.spam": "POST, a redirect",
}

Url = Callable[[Services], str]


def _held_by(services: Services, installer_id: str) -> int:
    installer = services.directory.installer(installer_id)
    assert installer is not None
    return services.desk.tab(installer, Tab.MINE).items[0].lead.id


def _unrouted(services: Services) -> int:
    return services.desk.tab(_admin(services), Tab.UNROUTED).items[0].lead.id


def _admin(services: Services) -> Admin:
    found = services.directory.admin("admin")
    assert found is not None
    return found


def _queued(services: Services) -> int:
    """A lead of installer1's released as outside his area: it waits in rep1's queue."""
    installer = services.directory.installer("installer1")
    assert installer is not None
    lead_id = _held_by(services, "installer1")
    services.desk.release(installer, lead_id, reason=ReleaseReason.OUT_OF_SCOPE)
    return lead_id


def _assigned_mail(services: Services) -> int:
    with services.read_sessions() as db:
        mail = db.scalar(
            sa.select(PortalMail).where(PortalMail.subject.contains("zugeteilt")).limit(1)
        )
    assert mail is not None
    return mail.id


#: Every route that shows contact data: who opens it, and where.
CONTACT: dict[str, tuple[str, Url]] = {
    "leads.detail": ("installer1", lambda s: f"/leads/{_held_by(s, 'installer1')}"),
    "leads.status": ("installer1", lambda s: f"/leads/{_held_by(s, 'installer1')}/status"),
    "leads.print_view": ("installer1", lambda s: f"/leads/{_held_by(s, 'installer1')}/print"),
    "installer.start": ("installer1", lambda s: "/installer/"),
    "installer.tab": ("installer1", lambda s: "/installer/tab/all"),
    "rep.leads": ("rep1", lambda s: "/rep/"),
    "mails.inbox": ("admin", lambda s: "/mails/"),
    "mails.show": ("admin", lambda s: f"/mails/{_assigned_mail(s)}"),
    "unrouted.index_view": ("admin", lambda s: "/admin/unrouted/"),
    "unrouted.details_view": ("admin", lambda s: f"/admin/unrouted/details/?id={_unrouted(s)}"),
    "unrouted.assign_view": ("admin", lambda s: f"/admin/unrouted/assign/{_unrouted(s)}"),
    "queue.index": ("rep1", lambda s: (_queued(s), "/queue/")[1]),
    "queue.lead": ("rep1", lambda s: f"/queue/lead/{_held_by(s, 'installer1')}"),
    "personal_data.export": ("admin", lambda s: f"/leads/{_held_by(s, 'installer1')}/auskunft"),
    "personal_data.erase": (
        "admin",
        lambda s: f"/leads/{_held_by(s, 'installer1')}/personendaten-loeschen",
    ),
}


def _records_of(services: Services, user_id: str) -> int:
    return len(services.desk.access_log(_admin(services), user_id=user_id, limit=100_000))


def test_every_route_is_classified(app: Flask) -> None:
    """R14: each route of the URL map either records its access or is listed, with a
    reason, as showing no contact data; a new route fails here until it is placed."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    placed = set(CONTACT) | set(NO_CONTACT)
    unplaced = {e for e in endpoints - placed if e.split(".", 1)[0] not in NO_CONTACT_VIEWS}
    assert unplaced == set()
    # /metrics is registered only where an operator switches it on.
    assert placed - endpoints - {"ops_metrics"} == set(), "listed routes that no longer exist"


@pytest.mark.parametrize("endpoint", sorted(CONTACT))
def test_a_route_with_contact_data_writes_an_access_record(
    endpoint: str, client: FlaskClient, services: Services
) -> None:
    """R14: opening the page adds an access record of the user who opened it."""
    username, url = CONTACT[endpoint]
    address = url(services)
    before = _records_of(services, username)
    client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    log_in(client, username)
    response = client.get(address)
    assert response.status_code == 200, (endpoint, address, response.status_code)
    assert _records_of(services, username) > before, endpoint
    newest = services.desk.access_log(_admin(services), user_id=username, limit=1)[0]
    assert newest.client == "198.51.100.0"


class TestTheLogItself:
    def test_admins_filter_and_export_the_log(
        self, client: FlaskClient, services: Services
    ) -> None:
        lead_id = _held_by(services, "installer1")
        log_in(client, "installer1")
        client.get(f"/leads/{lead_id}")
        client.post("/logout", data={})
        other = client.application.test_client()
        log_in(other, "admin")
        page = other.get(f"/admin/access-log/?lead_id={lead_id}&user_id=installer1")
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "Zugriffsprotokoll" in text
        assert f"/leads/{lead_id}" in text
        csv = other.get(f"/admin/access-log/export.csv?lead_id={lead_id}")
        assert csv.mimetype == "text/csv"
        rows = csv.get_data(as_text=True).splitlines()
        assert rows[0] == "at,user_id,role,lead_id,kind,client"
        assert any(",installer1,installer," in row for row in rows[1:])
        assert other.get("/admin/access-log/?since=gestern").status_code == 200

    @pytest.mark.parametrize("username", ["installer1", "rep1"])
    def test_normal_roles_can_neither_read_nor_change_the_log(
        self, username: str, client: FlaskClient, services: Services
    ) -> None:
        """R12, R14: the admin view is closed to them; no route writes the log; the
        table refuses updates and deletes."""
        services.desk.get(_admin(services), _unrouted(services))  # one record at least
        log_in(client, username)
        assert client.get("/admin/access-log/").status_code == 403
        assert client.post("/admin/access-log/", data={}).status_code in (400, 405)
        with pytest.raises(sa.exc.DBAPIError), services.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE qleads_access_log SET user_id = 'x'")
        with pytest.raises(sa.exc.DBAPIError), services.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM qleads_access_log")


class TestAuskunftAndErasure:
    def test_auskunft_is_a_json_download_for_admins(
        self, client: FlaskClient, services: Services
    ) -> None:
        lead_id = _held_by(services, "installer1")
        log_in(client, "installer1")
        assert client.get(f"/leads/{lead_id}/auskunft").status_code == 403
        client.post("/logout", data={})
        admin = client.application.test_client()
        log_in(admin, "admin")
        response = admin.get(f"/leads/{lead_id}/auskunft")
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        document = json.loads(response.get_data(as_text=True))
        assert lead_id in [lead["id"] for lead in document["leads"]]

    def test_erasure_needs_a_reason_and_a_yes_then_clears_the_portal_too(
        self, client: FlaskClient, services: Services, caplog: pytest.LogCaptureFixture
    ) -> None:
        """R14: the confirmation refuses without a reason; then the person is gone from
        the lead, the demo mailbox and the API's stored answers; no log line named him."""
        caplog.set_level(logging.DEBUG)
        lead_id = _held_by(services, "installer1")
        lead = services.desk.get(_admin(services), lead_id).lead
        name = lead.document.contact.name
        with services.engine.begin() as conn:
            conn.execute(
                idempotency_records.insert().values(
                    source_id="calculator",
                    idempotency_key="k-erase",
                    request_hash="0" * 64,
                    status=201,
                    body=json.dumps({"id": lead_id}),
                    location=f"/api/v1/leads/{lead_id}",
                    created_at=services.clock.now(),
                )
            )
        log_in(client, "admin")
        url = f"/leads/{lead_id}/personendaten-loeschen"
        page = client.get(url)
        assert page.status_code == 200
        assert "Grund der Löschung" in page.get_data(as_text=True)
        refused = post_form(client, url, {"reason": "", "confirm": "y"}, form=url)
        assert refused.status_code == 200
        assert services.desk.get(_admin(services), lead_id).lead.document.contact.name == name
        unconfirmed = post_form(client, url, {"reason": "Brief vom 1.12."}, form=url)
        assert unconfirmed.status_code == 200
        done = post_form(client, url, {"reason": "Brief vom 1.12.", "confirm": "y"}, form=url)
        assert done.status_code == 302
        assert services.desk.get(_admin(services), lead_id).lead.document.contact.name == ""
        with services.engine.connect() as conn:
            raws = [row.raw for row in conn.execute(sa.select(PortalMail.__table__.c.raw))]
            answers = conn.execute(sa.select(idempotency_records.c.body)).scalars().all()
        shown = [" ".join((raw, PortalMail(raw=raw).text_body())) for raw in raws]
        assert raws
        assert not any(name in text for text in shown)
        assert json.dumps({"id": lead_id}) not in answers
        assert name not in caplog.text
        assert lead.document.contact.email not in caplog.text
        records = services.repository.personal_data.erasures([lead_id])
        assert [(r.actor_id, r.reason) for r in records] == [("admin", "Brief vom 1.12.")]


def test_the_admin_sets_the_retention_periods(client: FlaskClient, services: Services) -> None:
    """R14: the periods are part of the rules an admin saves, kept across restarts."""
    from examples.admin_app.models import load_policy

    log_in(client, "admin")
    data = {
        "claim_hold_days": "2",
        "assignment_reminder_days": "2",
        "contact_before_claim": "hidden",
        "retention_closed_months": "36",
        "retention_unclaimed_months": "6",
        "retention_access_log_months": "9",
    }
    assert post_form(client, "/admin/policy/", data, form="/admin/policy/").status_code == 302
    saved = load_policy(services.sessions)
    assert (
        saved.retention_closed_months,
        saved.retention_unclaimed_months,
        saved.retention_access_log_months,
    ) == (36, 6, 9)
    assert services.desk.policy == saved
    refused = post_form(
        client, "/admin/policy/", {**data, "retention_closed_months": "0"}, form="/admin/policy/"
    )
    assert refused.status_code == 200
    assert load_policy(services.sessions).retention_closed_months == 36
