"""CSRF: a POST without the form's token is refused with 400
and changes nothing — on the installer's claim and status forms and on every kind of
Flask-Admin form (create, edit, delete, batch action) and the admin's own forms. Each
refusal has a control next to it: the same POST *with* the token does go through, so the
refusals are not an accident of a wrong URL or missing data."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from portal_support import csrf_token, post_form

from examples.admin_app.models import PortalUser
from examples.admin_app.services import Services
from qleads.adapters.sql.schema import installer_table, lead_table, outbox_table, source_table
from qleads.lifecycle import Status
from qleads.mail.outbox import DeliveryState

Login = Any


def _lead(services: Services, **where: Any) -> tuple[int, int]:
    """(id, version) of the first lead matching ``where``."""
    conditions = [getattr(lead_table.c, k) == v for k, v in where.items()]
    with services.engine.connect() as conn:
        row = conn.execute(
            sa.select(lead_table.c.id, lead_table.c.version)
            .where(*conditions)
            .order_by(lead_table.c.id)
            .limit(1)
        ).one()
    return int(row.id), int(row.version)


def _version(services: Services, lead_id: int) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(lead_table.c.version).where(lead_table.c.id == lead_id)
            ).scalar_one()
        )


def _available_to_installer1(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(lead_table.c.id)
                .where(lead_table.c.status == "new", lead_table.c.territory_id == "sachsen")
                .order_by(lead_table.c.id)
                .limit(1)
            ).scalar_one()
        )


def _installer_name(services: Services, installer_id: str) -> str:
    with services.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(installer_table.c.name).where(installer_table.c.id == installer_id)
            ).scalar_one()
        )


def failed_mail(services: Services) -> tuple[int, str]:
    """A mail that failed for good: rep1 assigns a lead (R5 writes the notice to the
    outbox, R10) and the mail server refuses it."""
    rep = services.directory.rep("rep1")
    assert rep is not None
    lead_id = _available_to_installer1(services)
    services.desk.assign(rep, lead_id, services.directory.installer("installer1"))
    with services.engine.connect() as conn:
        row = conn.execute(
            sa.select(outbox_table.c.id, outbox_table.c.key)
            .where(outbox_table.c.lead_id == lead_id, outbox_table.c.state == "pending")
            .order_by(outbox_table.c.id.desc())
            .limit(1)
        ).one()
    services.outbox.mark_failed(row.key, "550 no such mailbox")
    return int(row.id), str(row.key)


class TestInstallerForms:
    def test_a_claim_without_token_is_400_and_claims_nothing(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R3 only through the form the portal rendered."""
        login(client, "installer1")
        lead_id = _available_to_installer1(services)
        before = _version(services, lead_id)
        response = client.post(f"/leads/{lead_id}/claim", data={})
        assert response.status_code == 400
        assert _version(services, lead_id) == before
        with services.repository.unit_of_work() as uow:
            assert uow.get(lead_id).status is Status.NEW

    def test_a_claim_with_a_forged_token_is_400(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "installer1")
        lead_id = _available_to_installer1(services)
        token = csrf_token(client, "/installer/")
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        response = post_form(client, f"/leads/{lead_id}/claim", token=forged)
        assert response.status_code == 400
        with services.repository.unit_of_work() as uow:
            assert uow.get(lead_id).status is Status.NEW

    def test_a_claim_with_the_token_goes_through(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "installer1")
        lead_id = _available_to_installer1(services)
        response = post_form(client, f"/leads/{lead_id}/claim", form="/installer/")
        assert response.status_code == 302
        with services.repository.unit_of_work() as uow:
            assert uow.get(lead_id).holder_id == "installer1"

    def test_a_status_change_without_token_is_400_and_records_nothing(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R6 only through the rendered form; the history stays as it was (R13)."""
        login(client, "installer1")
        lead_id, version = _lead(services, holder_id="installer1", status="claimed")
        events = len(services.desk.history(services.directory.admin("admin"), lead_id))
        response = client.post(
            f"/leads/{lead_id}/status",
            data={"status": Status.CONTACT_ATTEMPTED.value, "channel": "phone"},
        )
        assert response.status_code == 400
        assert _version(services, lead_id) == version
        assert len(services.desk.history(services.directory.admin("admin"), lead_id)) == events

    def test_a_status_change_with_the_token_goes_through(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "installer1")
        lead_id, version = _lead(services, holder_id="installer1", status="claimed")
        response = post_form(
            client,
            f"/leads/{lead_id}/status",
            data={"status": Status.CONTACT_ATTEMPTED.value, "channel": "phone"},
            form=f"/leads/{lead_id}/status",
        )
        assert response.status_code == 302
        assert _version(services, lead_id) == version + 1


class TestAdminForms:
    @pytest.fixture(autouse=True)
    def _admin(self, client: FlaskClient, login: Login) -> None:
        login(client, "admin")

    def test_the_admin_forms_carry_the_token(self, client: FlaskClient) -> None:
        """Edit, delete and batch-action forms all render Flask-WTF's token."""
        edit = client.get("/admin/installers/edit/?id=installer1").get_data(as_text=True)
        assert 'name="csrf_token"' in edit
        users = client.get("/admin/users/").get_data(as_text=True)
        delete_forms = re.findall(r"<form[^>]*delete/.*?</form>", users, re.S)
        assert delete_forms
        assert all('name="csrf_token"' in f for f in delete_forms)
        outbox = client.get("/admin/outbox/").get_data(as_text=True)
        action_form = re.search(r'<form id="action_form".*?</form>', outbox, re.S)
        assert action_form is not None
        assert 'name="csrf_token"' in action_form.group(0)

    def test_an_edit_without_token_is_400_and_changes_nothing(
        self, client: FlaskClient, services: Services
    ) -> None:
        before = _installer_name(services, "installer1")
        response = client.post(
            "/admin/installers/edit/?id=installer1",
            data={"name": "Umbenannt", "email": "x@example.org", "rep": "rep1"},
        )
        assert response.status_code == 400
        assert _installer_name(services, "installer1") == before

    def test_an_edit_with_the_token_goes_through(
        self, client: FlaskClient, services: Services
    ) -> None:
        page = client.get("/admin/installers/edit/?id=installer1").get_data(as_text=True)
        fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
        fields.update(
            {
                "name": "Umbenannt",
                "rep": "rep1",
                "language": "de",
                "country": "DE",
                "workdays": "0,1,2,3,4",
                "tz": "Europe/Berlin",
                "active": "y",
            }
        )
        edit = "/admin/installers/edit/?id=installer1"
        response = post_form(client, edit, data=fields, form=edit)
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        assert _installer_name(services, "installer1") == "Umbenannt"

    def test_a_create_without_token_is_400(self, client: FlaskClient, services: Services) -> None:
        response = client.post(
            "/admin/reps/new/",
            data={"id": "rep9", "name": "Neu", "email": "n@example.org", "tz": "Europe/Berlin"},
        )
        assert response.status_code == 400
        assert services.directory.rep("rep9") is None

    def test_a_delete_without_token_is_400(self, client: FlaskClient, services: Services) -> None:
        with services.sessions() as db:
            user_id = db.scalar(sa.select(PortalUser.id).where(PortalUser.username == "installer3"))
        response = client.post("/admin/users/delete/", data={"id": str(user_id)})
        assert response.status_code == 400
        with services.sessions() as db:
            assert db.get(PortalUser, user_id) is not None

    def test_a_batch_action_without_token_is_400(
        self, client: FlaskClient, services: Services
    ) -> None:
        """The outbox's retry action (R10) changes nothing without the token."""
        row_id, key = failed_mail(services)
        response = client.post(
            "/admin/failed_mails/action/", data={"action": "retry", "rowid": str(row_id)}
        )
        assert response.status_code == 400
        assert [e.key for e in services.outbox.failed()] == [key]
        assert services.outbox.failed()[0].state is DeliveryState.FAILED

    def test_the_policy_form_without_token_is_400(
        self, client: FlaskClient, services: Services
    ) -> None:
        before = services.desk.policy
        response = client.post(
            "/admin/policy/",
            data={
                "claim_hold_days": "9",
                "assignment_reminder_days": "9",
                "contact_before_claim": "shown",
            },
        )
        assert response.status_code == 400
        assert services.desk.policy == before

    def test_issuing_a_token_without_csrf_token_is_400(
        self, client: FlaskClient, services: Services
    ) -> None:
        def stored() -> str | None:
            with services.engine.connect() as conn:
                return conn.execute(
                    sa.select(source_table.c.token_hash).where(source_table.c.id == "solarrechner")
                ).scalar_one()

        before = stored()
        response = client.post("/admin/sources/token/", data={"id": "solarrechner"})
        assert response.status_code == 400
        assert stored() == before

    def test_assigning_an_unrouted_lead_without_token_is_400(
        self, client: FlaskClient, services: Services
    ) -> None:
        lead_id, version = _lead(services, territory_id=None, status="new")
        response = client.post(
            f"/admin/unrouted/assign/{lead_id}", data={"installer_id": "installer1"}
        )
        assert response.status_code == 400
        assert _version(services, lead_id) == version
