"""The admin area: row filtering in ``get_query``, ``get_count_query``
and ``get_one``; leads never edited through Flask-Admin (R12); formula-safe exports of
whitelisted columns; the outbox retry action (R10); the policy, lead-source, user and
territory forms doing what they promise."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user
from portal_support import csrf_token, post_form

from examples.admin_app.admin import (
    FailedMailView,
    InstallerView,
    LeadRow,
    UnroutedLeadView,
    formula_safe,
)
from examples.admin_app.models import PortalUser, load_policy
from examples.admin_app.services import Services
from qleads.adapters.sql.schema import installer_table, lead_table, outbox_table, source_table
from qleads.lifecycle import Status
from qleads.mail.outbox import DeliveryState
from qleads.model import Installer
from qleads.tabs import Tab

Login = Any


def view_of(app: Flask, kind: type) -> Any:
    admin = app.extensions["qleads_admin"]
    return next(v for v in admin._views if type(v) is kind)


def acting_as(app: Flask, username: str) -> Iterator[None]:
    """A request context with ``username`` logged in (to call view methods directly)."""
    services: Services = app.extensions["qleads"]
    with services.sessions() as db:
        user = db.scalar(sa.select(PortalUser).where(PortalUser.username == username))
    assert user is not None
    with app.test_request_context("/admin/"):
        login_user(user)
        yield


@pytest.fixture
def as_rep(app: Flask) -> Iterator[None]:
    yield from acting_as(app, "rep1")


@pytest.fixture
def as_admin(app: Flask) -> Iterator[None]:
    yield from acting_as(app, "admin")


def _unrouted_new(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(lead_table.c.id)
                .where(lead_table.c.territory_id.is_(None), lead_table.c.status == "new")
                .order_by(lead_table.c.id)
                .limit(1)
            ).scalar_one()
        )


def _routed(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(lead_table.c.id)
                .where(lead_table.c.territory_id.is_not(None))
                .order_by(lead_table.c.id)
                .limit(1)
            ).scalar_one()
        )


def failed_mail(services: Services) -> tuple[int, str]:
    """rep1 assigns a lead (the notice lands in the outbox, R10) and the mail server
    refuses it for good."""
    rep = services.directory.rep("rep1")
    assert rep is not None
    with services.engine.connect() as conn:
        lead_id = conn.execute(
            sa.select(lead_table.c.id)
            .where(lead_table.c.status == "new", lead_table.c.territory_id == "sachsen")
            .limit(1)
        ).scalar_one()
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


class TestRowFilter:
    """The same filter for list, count and single rows — so a hidden row cannot be
    reached by its details, edit or delete URL either."""

    def test_a_rep_lists_and_counts_only_his_installers(self, app: Flask, as_rep: None) -> None:
        view = view_of(app, InstallerView)
        ids = {row.id for row in view.get_query().all()}
        assert ids == {"installer1", "installer2"}
        assert view.get_count_query().scalar() == 2

    def test_a_rep_cannot_fetch_another_reps_installer(self, app: Flask, as_rep: None) -> None:
        view = view_of(app, InstallerView)
        assert view.get_one("installer1") is not None
        assert view.get_one("installer3") is None

    def test_an_admin_sees_every_installer(
        self, app: Flask, as_admin: None, services: Services
    ) -> None:
        view = view_of(app, InstallerView)
        assert view.get_count_query().scalar() == len(services.directory.installers())
        assert view.get_one("installer3") is not None

    def test_the_unrouted_list_holds_only_unrouted_leads(
        self, app: Flask, as_admin: None, services: Services
    ) -> None:
        """R1: leads whose postal code matched no territory, and nothing else."""
        view = view_of(app, UnroutedLeadView)
        rows = view.get_query().all()
        assert rows
        assert all(row.territory_id is None for row in rows)
        assert view.get_count_query().scalar() == len(rows)
        assert view.get_one(str(_routed(services))) is None
        assert view.get_one(str(_unrouted_new(services))) is not None

    def test_the_failed_list_holds_only_failed_mails(self, app: Flask, services: Services) -> None:
        row_id, _key = failed_mail(services)
        for _ in acting_as(app, "admin"):
            view = view_of(app, FailedMailView)
            assert [r.id for r in view.get_query().all()] == [row_id]
            assert view.get_count_query().scalar() == 1
            with services.engine.connect() as conn:
                sent = conn.execute(
                    sa.select(outbox_table.c.id).where(outbox_table.c.state == "sent").limit(1)
                ).scalar_one()
            assert view.get_one(str(sent)) is None

    def test_a_rep_is_shown_only_his_installers(self, client: FlaskClient, login: Login) -> None:
        login(client, "rep1")
        page = client.get("/admin/installers/").get_data(as_text=True)
        assert "installer1@example.com" in page
        assert "installer3@example.com" not in page
        hidden = client.get("/admin/installers/details/?id=installer3")
        assert hidden.status_code == 302
        assert "installer3@example.com" not in client.get(hidden.headers["Location"]).get_data(
            as_text=True
        )

    def test_a_rep_may_not_write(self, client: FlaskClient, login: Login) -> None:
        login(client, "rep1")
        assert client.get("/admin/installers/edit/?id=installer1").status_code == 403
        response = post_form(client, "/admin/installers/edit/?id=installer1", data={"name": "X"})
        assert response.status_code == 403
        assert client.get("/admin/installers/export/csv/").status_code == 403
        page = client.get("/admin/installers/").get_data(as_text=True)
        assert "/admin/installers/new/" not in page
        assert "/admin/installers/edit/" not in page


class TestLeadsAreReadOnly:
    """R12: every change of a lead goes through the desk; the admin's lead list offers
    no create, edit or delete, and its routes refuse them."""

    def test_the_lead_view_has_no_write_permission(self) -> None:
        assert UnroutedLeadView.can_create is False
        assert UnroutedLeadView.can_edit is False
        assert UnroutedLeadView.can_delete is False
        assert LeadRow.__table__ is lead_table

    def test_edit_create_and_delete_routes_change_nothing(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        lead_id = _unrouted_new(services)
        with services.repository.unit_of_work() as uow:
            before = uow.get(lead_id)
        token = csrf_token(client, "/mails/")
        post_form(
            client,
            f"/admin/unrouted/edit/?id={lead_id}",
            data={"name": "Geändert", "status": "order_placed"},
            token=token,
        )
        post_form(client, "/admin/unrouted/delete/", data={"id": str(lead_id)}, token=token)
        post_form(
            client,
            "/admin/unrouted/action/",
            data={"action": "delete", "rowid": str(lead_id)},
            token=token,
        )
        post_form(client, "/admin/unrouted/new/", data={"name": "Neu"}, token=token)
        with services.repository.unit_of_work() as uow:
            assert uow.get(lead_id) == before

    def test_the_list_offers_assign_but_no_edit_or_delete(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        page = client.get("/admin/unrouted/").get_data(as_text=True)
        assert "/admin/unrouted/assign/" in page
        assert "/admin/unrouted/edit/" not in page
        assert "/admin/unrouted/delete/" not in page
        assert "/admin/unrouted/new/" not in page

    def test_assigning_goes_through_the_desk(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R5, R13: the admin's assignment is an ordinary assignment with its history
        event and the installer's mail."""
        login(client, "admin")
        lead_id = _unrouted_new(services)
        response = post_form(
            client,
            f"/admin/unrouted/assign/{lead_id}",
            data={"installer_id": "installer3"},
            form=f"/admin/unrouted/assign/{lead_id}",
        )
        assert response.status_code == 302
        admin = services.directory.admin("admin")
        assert admin is not None
        shown = services.desk.get(admin, lead_id)
        assert shown.lead.status is Status.ASSIGNED
        assert shown.lead.holder_id == "installer3"
        last = services.desk.history(admin, lead_id)[-1]
        assert last.actor_id == "admin"
        with services.engine.connect() as conn:
            kinds = conn.execute(
                sa.select(outbox_table.c.kind, outbox_table.c.recipient_id).where(
                    outbox_table.c.lead_id == lead_id
                )
            ).all()
        assert ("assigned", "installer3") in [tuple(k) for k in kinds]


class TestExport:
    def test_cells_that_would_be_formulas_are_quoted(self) -> None:
        assert formula_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
        for start in ("+", "-", "@", "\t", "\r"):
            assert formula_safe(start + "x") == "'" + start + "x"
        assert formula_safe("Müller GmbH") == "Müller GmbH"
        assert formula_safe(None) == ""
        assert formula_safe(42) == "42"

    def test_the_installer_export_is_whitelisted_and_formula_safe(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        services.directory.add_installer(
            Installer(
                id="evil",
                name='=HYPERLINK("http://evil.example","x")',
                email="@evil.example",
                rep_id="rep1",
            )
        )
        login(client, "admin")
        response = client.get("/admin/installers/export/csv/")
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert len(rows[0]) == len(InstallerView.column_export_list)
        assert "Zeitzone" not in rows[0]
        evil = next(r for r in rows if r[0] == "evil")
        assert evil[1] == "'" + '=HYPERLINK("http://evil.example","x")'
        assert evil[2] == "'@evil.example"
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))

    @pytest.mark.parametrize("view", ["users", "sources", "unrouted", "reps", "territories"])
    def test_other_views_do_not_export(self, client: FlaskClient, login: Login, view: str) -> None:
        """Logins, token hashes and customers' data never leave as a file."""
        login(client, "admin")
        response = client.get(f"/admin/{view}/export/csv/")
        assert response.status_code == 302
        assert response.mimetype != "text/csv"


class TestOutboxRetry:
    def test_retry_puts_a_failed_mail_back_in_line(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R10: the admin's retry goes through ``Outbox.retry``."""
        row_id, key = failed_mail(services)
        login(client, "admin")
        page = client.get("/admin/failed_mails/").get_data(as_text=True)
        assert "550 no such mailbox" in page
        response = post_form(
            client,
            "/admin/failed_mails/action/",
            data={"action": "retry", "rowid": str(row_id)},
            form="/admin/failed_mails/",
        )
        assert response.status_code == 302
        assert services.outbox.failed() == []
        with services.engine.connect() as conn:
            state = conn.execute(
                sa.select(outbox_table.c.state).where(outbox_table.c.key == key)
            ).scalar_one()
        assert state == DeliveryState.PENDING.value

    def test_retry_leaves_sent_mails_alone(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        with services.engine.connect() as conn:
            sent_id = conn.execute(
                sa.select(outbox_table.c.id).where(outbox_table.c.state == "sent").limit(1)
            ).scalar_one()
        login(client, "admin")
        post_form(
            client,
            "/admin/outbox/action/",
            data={"action": "retry", "rowid": str(sent_id)},
            form="/admin/outbox/",
        )
        with services.engine.connect() as conn:
            state = conn.execute(
                sa.select(outbox_table.c.state).where(outbox_table.c.id == sent_id)
            ).scalar_one()
        assert state == "sent"


class TestPolicy:
    def test_the_admin_changes_the_policy(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R3, R5, R16: saved, and in force for the next use case at once; the
        retention periods (R14) left out of the form keep their values."""
        before = services.desk.policy
        login(client, "admin")
        response = post_form(
            client,
            "/admin/policy/",
            data={
                "claim_hold_days": "3",
                "assignment_reminder_days": "4",
                "escalation_enabled": "y",
                "escalation_days": "5",
                "contact_before_claim": "shown",
            },
            form="/admin/policy/",
        )
        assert response.status_code == 302
        expected = attrs.evolve(
            before,
            claim_hold_days=3,
            assignment_reminder_days=4,
            escalation_days=5,
            contact_before_claim="shown",
        )
        assert services.desk.policy == expected
        assert load_policy(services.sessions) == expected

    def test_a_hold_of_zero_days_is_refused(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        before = services.desk.policy
        response = post_form(
            client,
            "/admin/policy/",
            data={
                "claim_hold_days": "0",
                "assignment_reminder_days": "2",
                "contact_before_claim": "hidden",
            },
            form="/admin/policy/",
        )
        assert response.status_code == 200
        assert services.desk.policy == before


class TestLeadSources:
    def _create(self, client: FlaskClient) -> Any:
        return post_form(
            client,
            "/admin/sources/new/",
            data={"id": "partner-web", "name": "Partner-Website"},
            form="/admin/sources/new/",
        )

    def test_the_token_is_shown_once_on_creation(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        response = self._create(client)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        page = response.get_data(as_text=True)
        shown = re.search(r'<pre[^>]*id="api-token">([^<]+)</pre>', page)
        assert shown is not None
        token = shown.group(1)
        with services.engine.connect() as conn:
            stored = conn.execute(
                sa.select(source_table.c.token_hash).where(source_table.c.id == "partner-web")
            ).scalar_one()
        assert stored
        assert token not in stored
        assert token not in client.get("/admin/sources/").get_data(as_text=True)
        assert token not in client.get("/admin/sources/details/?id=partner-web").get_data(
            as_text=True
        )
        api = client.post(
            "/api/v1/leads",
            data=json.dumps({}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "one"},
        )
        assert api.status_code == 422  # authenticated: it is the document that is empty

    def test_a_new_token_replaces_the_old_one(self, client: FlaskClient, login: Login) -> None:
        login(client, "admin")
        first = re.search(r'id="api-token">([^<]+)<', self._create(client).get_data(as_text=True))
        assert first is not None
        second_page = post_form(
            client, "/admin/sources/token/", data={"id": "partner-web"}, form="/admin/sources/"
        )
        second = re.search(r'id="api-token">([^<]+)<', second_page.get_data(as_text=True))
        assert second is not None
        assert second.group(1) != first.group(1)

        def call(bearer: str) -> int:
            return client.post(
                "/api/v1/leads",
                data="{}",
                content_type="application/json",
                headers={"Authorization": f"Bearer {bearer}", "Idempotency-Key": bearer[:20]},
            ).status_code

        assert call(first.group(1)) == 401
        assert call(second.group(1)) == 422


class TestUsers:
    def test_a_new_user_gets_a_hashed_password(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        response = post_form(
            client,
            "/admin/users/new/",
            data={
                "username": "installer2b",
                "password": "ein-langes-passwort",
                "role": "installer",
                "actor_id": "installer2",
                "language": "de",
                "active": "y",
            },
            form="/admin/users/new/",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        with services.sessions() as db:
            user = db.scalar(sa.select(PortalUser).where(PortalUser.username == "installer2b"))
        assert user is not None
        assert "ein-langes-passwort" not in user.password_hash
        assert user.check_password("ein-langes-passwort")

    def test_a_login_for_an_unknown_actor_is_refused(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        post_form(
            client,
            "/admin/users/new/",
            data={
                "username": "ghost",
                "password": "ein-langes-passwort",
                "role": "installer",
                "actor_id": "nobody",
                "language": "de",
            },
            form="/admin/users/new/",
        )
        with services.sessions() as db:
            assert db.scalar(sa.select(PortalUser).where(PortalUser.username == "ghost")) is None

    def test_the_password_hash_is_never_shown(self, client: FlaskClient, login: Login) -> None:
        login(client, "admin")
        for url in ("/admin/users/", "/admin/users/details/?id=1", "/admin/users/edit/?id=1"):
            page = client.get(url).get_data(as_text=True)
            assert "scrypt:" not in page
            assert "pbkdf2:" not in page


class TestTerritories:
    def test_prefixes_are_edited_as_a_list(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        """R1: new leads route by these prefixes."""
        login(client, "admin")
        response = post_form(
            client,
            "/admin/territories/edit/?id=hamburg",
            data={
                "name": "Hamburg",
                "country": "DE",
                "rep": "rep3",
                "prefix_list": "20, 21, 22, 23",
            },
            form="/admin/territories/edit/?id=hamburg",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        territory = services.directory.territory("hamburg")
        assert territory is not None
        assert territory.prefixes == frozenset({"20", "21", "22", "23"})

    def test_a_bad_prefix_is_refused(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        login(client, "admin")
        post_form(
            client,
            "/admin/territories/edit/?id=hamburg",
            data={"name": "Hamburg", "country": "DE", "rep": "rep3", "prefix_list": "20, <b>"},
            form="/admin/territories/edit/?id=hamburg",
        )
        territory = services.directory.territory("hamburg")
        assert territory is not None
        assert territory.prefixes == frozenset({"20", "21", "22"})


class TestIndex:
    def test_the_start_page_counts_what_needs_attention(
        self, client: FlaskClient, login: Login, services: Services
    ) -> None:
        failed_mail(services)
        login(client, "admin")
        page = client.get("/admin/").get_data(as_text=True)
        admin = services.directory.admin("admin")
        assert admin is not None
        unrouted = services.desk.tab(admin, Tab.UNROUTED).total
        assert f'href="/admin/unrouted/">{unrouted}<' in page
        assert 'href="/admin/failed_mails/">1<' in page

    def test_installer_names_in_the_directory_table(self, services: Services) -> None:
        """The read models map qleads' own tables (no copy of the directory)."""
        with services.engine.connect() as conn:
            names = conn.execute(sa.select(installer_table.c.id)).scalars().all()
        assert "installer1" in names
