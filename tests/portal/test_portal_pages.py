"""Every page renders for the roles that may see it, and refuses the others (R2, R12):
the installer's, the rep's and the admin's pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from examples.admin_app.services import Services
from qleads.lifecycle import Status
from qleads.tabs import Tab
from qleads.testing.documents import manual_example_document

INSTALLER_PAGES = [
    "/installer/",
    "/installer/tab/all",
    "/installer/tab/new",
    "/installer/tab/follow_up",
    "/installer/tab/in_progress",
    "/installer/tab/closed",
    "/leads/1",
    "/leads/1/status",
    "/leads/1/print",
    "/mails/",
]
STAFF_PAGES = [
    "/rep/",
    *(f"/rep/?tab={t}" for t in ("all", "available", "new", "follow_up", "in_progress", "closed")),
    "/rep/installers",
    "/leads/1",
    "/leads/1/status",
    "/leads/1/print",
    "/mails/",
]


class TestLogin:
    def test_anonymous_is_sent_to_the_login_page(self, client: FlaskClient) -> None:
        response = client.get("/installer/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")

    def test_wrong_password_is_refused_with_a_message(self, login, client: FlaskClient) -> None:
        response = login(client, "installer1", "wrong")
        assert response.status_code == 200
        assert "Benutzername oder Passwort ist falsch." in response.get_data(as_text=True)
        assert client.get("/installer/").status_code == 302

    @pytest.mark.parametrize(
        ("username", "home"),
        [("installer1", "/installer/"), ("rep1", "/rep/"), ("admin", "/rep/")],
    )
    def test_each_role_lands_on_its_home(
        self, login, client: FlaskClient, username: str, home: str
    ) -> None:
        response = login(client, username)
        assert response.status_code == 302
        assert response.headers["Location"] == home

    def test_header_greets_like_the_manual(self, login, client: FlaskClient) -> None:
        login(client, "installer1")
        page = client.get("/installer/").get_data(as_text=True)
        assert "Willkommen Solartechnik Müller GmbH" in page
        assert "Installateur" in page
        assert "Abmelden" in page
        assert "Zur Website" in page

    def test_logout_ends_the_session(self, login, client: FlaskClient, post) -> None:
        login(client, "installer1")
        response = post(client, "/logout")
        assert response.status_code == 302
        assert client.get("/installer/").status_code == 302

    def test_passwords_are_stored_hashed(self, services) -> None:
        from examples.admin_app.models import PortalUser

        with services.read_sessions() as db:
            users = db.query(PortalUser).all()
        assert users
        assert all(u.password_hash.startswith(("scrypt:", "pbkdf2:")) for u in users)
        assert all(u.check_password("demo") for u in users)


class TestPagesRender:
    @pytest.mark.parametrize("url", INSTALLER_PAGES)
    def test_installer_pages(self, login, client: FlaskClient, url: str) -> None:
        login(client, "installer1")
        response = client.get(url)
        assert response.status_code == 200, url
        assert "text/html" in response.content_type

    @pytest.mark.parametrize("username", ["rep1", "admin"])
    @pytest.mark.parametrize("url", STAFF_PAGES)
    def test_staff_pages(self, login, client: FlaskClient, username: str, url: str) -> None:
        login(client, username)
        assert client.get(url).status_code == 200, url

    def test_admin_has_the_unrouted_tab(self, login, client: FlaskClient) -> None:
        login(client, "admin")
        page = client.get("/rep/?tab=unrouted").get_data(as_text=True)
        assert "Nicht zugeordnet" in page

    def test_rep_has_no_unrouted_tab(self, login, client: FlaskClient) -> None:
        login(client, "rep1")
        assert client.get("/rep/?tab=unrouted").status_code == 404


class TestRoles:
    @pytest.mark.parametrize("url", ["/rep/", "/rep/installers"])
    def test_installer_may_not_open_staff_pages(self, login, client: FlaskClient, url: str) -> None:
        login(client, "installer1")
        response = client.get(url)
        assert response.status_code == 403
        assert "Kein Zugriff" in response.get_data(as_text=True)

    def test_rep_may_not_open_installer_pages(self, login, client: FlaskClient) -> None:
        login(client, "rep1")
        assert client.get("/installer/").status_code == 403

    def test_unknown_tab_is_not_found(self, login, client: FlaskClient) -> None:
        login(client, "installer1")
        assert client.get("/installer/tab/nonsense").status_code == 404
        assert client.get("/installer/tab/available").status_code == 404


class TestStartPage:
    """Anlage 1 (R8)."""

    def test_shows_both_lists_with_counts(self, login, client: FlaskClient, services) -> None:
        login(client, "installer1")
        installer = services.directory.installer("installer1")
        counts = services.desk.counts(installer)
        page = client.get("/installer/").get_data(as_text=True)
        assert f'Verfügbare Anfragen <span class="count">({counts[Tab.AVAILABLE]})' in page
        assert f'Meine Anfragen <span class="count">({counts[Tab.MINE]})' in page

    def test_tab_bar_has_the_five_tabs_with_counts(
        self, login, client: FlaskClient, services
    ) -> None:
        login(client, "installer1")
        counts = services.desk.counts(services.directory.installer("installer1"))
        page = client.get("/installer/").get_data(as_text=True)
        for tab in (Tab.ALL, Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED):
            assert f'{tab.label_de} <span class="count">({counts[tab]})</span>' in page

    def test_paging_moves_through_the_pool(self, login, client: FlaskClient, services) -> None:
        login(client, "installer1")
        installer = services.directory.installer("installer1")
        first = services.desk.tab(installer, Tab.AVAILABLE, page=1, per_page=20)
        assert first.pages > 1
        second = services.desk.tab(installer, Tab.AVAILABLE, page=2, per_page=20)
        page = client.get("/installer/?available=2").get_data(as_text=True)
        assert f'data-lead-id="{second.items[0].lead.id}"' in page
        assert f'data-lead-id="{first.items[0].lead.id}"' not in page.split('id="mine"')[0]
        assert "Seite 2 von" in page

    def test_new_lead_rows_hide_the_name(self, login, client: FlaskClient) -> None:
        """R16: before a claim an installer sees postal code and city, not the name."""
        login(client, "installer1")
        page = client.get("/installer/tab/all?page=99").get_data(as_text=True)
        assert page  # an empty page past the end still renders
        detail = client.get("/leads/1").get_data(as_text=True)
        assert "Test3 DEipzig" not in detail
        assert "Härtelstraße" not in detail
        assert "nach Übernahme sichtbar" in detail
        assert "04107 Leipzig" in detail


class TestContactWithheld:
    """R16 on the detail page: what is withheld says so, field by field."""

    REACH = "nur abends, Handy 0171 5550199"
    COMMENT = "Bitte Herrn Krause verlangen"

    def _lead(self, services: Services) -> int:
        document = manual_example_document()
        document["source_id"] = "r16-free-text"
        document["contact"]["reachability"] = self.REACH
        document["contact"]["comment"] = self.COMMENT
        document["contact"]["phone"] = ""
        return services.desk.intake(services.directory.admin("admin"), document).lead.id

    def test_every_personal_field_says_visible_after_claiming(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R16: name, street, e-mail, phone, reachability and comment are withheld
        before the claim, each marked "nach Übernahme sichtbar" (not left blank) —
        the empty phone too, since whether it is empty is the customer's business."""
        lead_id = self._lead(services)
        login(client, "installer1")
        page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert self.REACH not in page
        assert self.COMMENT not in page
        assert page.count('class="muted withheld">nach Übernahme sichtbar<') == 6
        post(client, "/language", {"language": "en"})
        english = client.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert english.count('class="muted withheld">visible after claiming<') == 6

    def test_the_holder_reads_them(
        self, login: Any, post: Any, client: FlaskClient, services: Services
    ) -> None:
        """R16: once claimed, the free texts are his; the empty phone stays empty."""
        lead_id = self._lead(services)
        login(client, "installer1")
        post(client, f"/leads/{lead_id}/claim")
        page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
        assert self.REACH in page
        assert self.COMMENT in page
        assert "withheld" not in page


class TestDetailPage:
    """Anlage 2: every field of the manual's example lead."""

    def test_manual_example_lead_as_a_rep_sees_it(self, login, client: FlaskClient) -> None:
        login(client, "rep1")
        page = client.get("/leads/1").get_data(as_text=True)
        for text in (
            "Anfragedetails",
            "27.07.2018",
            "Test3 DEipzig",
            "Härtelstraße 32",
            "04107 Leipzig",
            "q-cells@mellowmessage.de",
            "034114065515",
            "immer",
            "3</td>",
            "3800 kWh",
            "29 ct / kWh",
            "Wochentags",
            "99 m²",
            "30 °",
            "180 °",
            "Q.PEAK DUO BLK-G5 und Q.PEAK DUO-G5",
            "16</td>",
            "Nein",
            "15,00\xa0€",
            "92,00\xa0€",
            "77,00\xa0€",
            "174,00\xa0€",
            "1.102,00\xa0€",
            "928,00\xa0€",
            "9.132,00\xa0€",
            "29.611,00\xa0€",
            "20.479,00\xa0€",
            "14365 kg",
            "195",
        ):
            assert text in page, text

    def test_installer_sees_the_claim_button_on_a_new_lead(
        self, login, client: FlaskClient
    ) -> None:
        login(client, "installer1")
        page = client.get("/leads/1").get_data(as_text=True)
        assert "Anfrage übernehmen" in page

    def test_installer_of_another_territory_gets_not_found(
        self, login, client: FlaskClient
    ) -> None:
        """R2: never reveal a lead one may not see."""
        login(client, "installer3")
        response = client.get("/leads/1")
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "Nicht gefunden" in body
        assert "04107" not in body

    def test_unknown_lead_is_a_friendly_404(self, login, client: FlaskClient) -> None:
        login(client, "installer1")
        response = client.get("/leads/999999")
        assert response.status_code == 404
        assert "Zur Startseite" in response.get_data(as_text=True)

    def test_print_page_has_no_navigation_and_the_print_css(
        self, login, client: FlaskClient
    ) -> None:
        login(client, "rep1")
        page = client.get("/leads/1/print").get_data(as_text=True)
        assert "print.css" in page
        assert 'class="mainnav"' not in page
        assert "Projektinformationen" in page
        assert "9.132,00\xa0€" in page


class TestMails:
    def test_installer_reads_only_his_own_mails(self, login, client: FlaskClient, services) -> None:
        from examples.admin_app.models import PortalMail

        login(client, "installer1")
        page = client.get("/mails/").get_data(as_text=True)
        assert "installer1@example.com" in page
        assert "installer2@example.com" not in page
        with services.read_sessions() as db:
            foreign = (
                db.query(PortalMail)
                .filter(PortalMail.recipients == "installer2@example.com")
                .first()
            )
        assert foreign is not None
        assert client.get(f"/mails/{foreign.id}").status_code == 404

    def test_a_mail_shows_its_text_and_deep_link(
        self, login, client: FlaskClient, services
    ) -> None:
        from examples.admin_app.models import PortalMail

        login(client, "installer1")
        with services.read_sessions() as db:
            mine = (
                db.query(PortalMail)
                .filter(PortalMail.recipients == "installer1@example.com")
                .first()
            )
        assert mine is not None
        page = client.get(f"/mails/{mine.id}").get_data(as_text=True)
        assert "http://portal.test/leads/" in page


def test_status_labels_are_the_manuals(login, client: FlaskClient) -> None:
    """Anlage 3's words appear as the status badges."""
    login(client, "rep1")
    page = client.get("/rep/?tab=all").get_data(as_text=True)
    assert Status.NEW.label_de.upper() in page.upper()
