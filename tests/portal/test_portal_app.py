"""The app itself: configuration, security headers and cookies, the language switch and
the library's labels in it, the product name and mail footer, the background jobs and the
demo data."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from portal_support import NOW, copy_database, portal_config, post_form

from examples.admin_app import create_app
from examples.admin_app.background import BackgroundWorker, run_once
from examples.admin_app.catalog import MO, compile_mo, extract_messages, missing
from examples.admin_app.config import load_config
from examples.admin_app.models import PortalMail
from examples.admin_app.security import safe_next
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.errors import ConfigurationError
from qleads.lifecycle import Status
from qleads.model import ReleaseReason
from qleads.tabs import Tab

MANUAL_LEAD = 1


class TestConfig:
    def test_no_secret_key_outside_the_demo_is_an_error(self) -> None:
        with pytest.raises(ConfigurationError, match="SECRET_KEY"):
            load_config({}, environ={})

    def test_secret_key_from_the_environment(self) -> None:
        config = load_config({}, environ={"QLEADS_SECRET_KEY": "from-env-" + "x" * 20})
        assert config["SECRET_KEY"] == "from-env-" + "x" * 20

    def test_demo_generates_a_random_secret_each_time(self) -> None:
        first = load_config({"QLEADS_DEMO": True}, environ={})["SECRET_KEY"]
        second = load_config({"QLEADS_DEMO": True}, environ={})["SECRET_KEY"]
        assert first != second
        assert len(first) >= 32

    def test_environment_values_are_typed(self) -> None:
        config = load_config(
            {},
            environ={
                "QLEADS_SECRET_KEY": "k" * 32,
                "QLEADS_BACKGROUND": "yes",
                "QLEADS_SWEEP_INTERVAL": "2.5",
                "MAIL_PORT": "2525",
            },
        )
        assert config["QLEADS_BACKGROUND"] is True
        assert config["QLEADS_SWEEP_INTERVAL"] == 2.5
        assert config["MAIL_PORT"] == 2525

    def test_product_name_and_mail_footer_default_to_the_librarys(self) -> None:
        config = load_config({"QLEADS_DEMO": True}, environ={})
        assert config["QLEADS_PRODUCT_NAME"] == "Lead Management Tool"
        assert config["QLEADS_MAIL_FOOTER"] == ""

    def test_product_name_and_mail_footer_from_the_environment(self) -> None:
        environ = {"QLEADS_PRODUCT_NAME": "Q.PARTNER Leads", "QLEADS_MAIL_FOOTER": "Q CELLS"}
        config = load_config({"QLEADS_DEMO": True}, environ=environ)
        assert config["QLEADS_PRODUCT_NAME"] == "Q.PARTNER Leads"
        assert config["QLEADS_MAIL_FOOTER"] == "Q CELLS"

    def test_a_blank_product_name_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="QLEADS_PRODUCT_NAME"):
            load_config({"QLEADS_DEMO": True, "QLEADS_PRODUCT_NAME": " "}, environ={})

    def test_bad_values_are_configuration_errors(self) -> None:
        with pytest.raises(ConfigurationError):
            load_config({}, environ={"QLEADS_SECRET_KEY": "k" * 32, "MAIL_PORT": "many"})
        with pytest.raises(ConfigurationError):
            load_config({"SECRET_KEY": "k" * 32, "QLEADS_MAILER": "pigeon"}, environ={})


class TestSecurityHeaders:
    def test_every_page_has_csp_and_frame_denial(self, client: FlaskClient) -> None:
        response = client.get("/login")
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_no_inline_script_in_the_pages(self, login: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        for url in ("/installer/", f"/leads/{MANUAL_LEAD}", f"/leads/{MANUAL_LEAD}/print"):
            page = client.get(url).get_data(as_text=True)
            for chunk in page.split("<script")[1:]:
                assert chunk.lstrip().startswith("src="), url
            assert " style=" not in page, url
            assert "onclick" not in page, url

    def test_session_cookie_is_httponly_and_lax(self, login: Any, client: FlaskClient) -> None:
        response = login(client, "installer1")
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie

    def test_cookie_is_secure_under_https(self, demo_database: Path, tmp_path: Path) -> None:
        database = tmp_path / "https.sqlite"
        copy_database(demo_database, database)
        app = create_app(portal_config(database, FrozenClock(NOW), PREFERRED_URL_SCHEME="https"))
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["REMEMBER_COOKIE_SECURE"] is True
        client = app.test_client()
        response = client.get("/login", base_url="https://localhost")
        assert "Secure" in response.headers["Set-Cookie"]
        app.extensions["qleads"].close()


class TestSafeNext:
    @pytest.mark.parametrize(
        "target",
        [
            "//evil.example",
            "https://evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            None,
            "/x\r\nLocation: //evil",
            "\\\\evil.example",
        ],
    )
    def test_foreign_targets_are_refused(self, target: str | None) -> None:
        assert safe_next(target) is None

    @pytest.mark.parametrize("target", ["/installer/", "/leads/1?x=1", "/rep/?tab=closed"])
    def test_site_paths_are_kept(self, target: str) -> None:
        assert safe_next(target) == target

    def test_login_with_a_foreign_next_stays_on_the_site(self, client: FlaskClient) -> None:
        response = post_form(
            client,
            "/login",
            data={"username": "installer1", "password": "demo", "next": "//evil.example"},
            form="/login?next=//evil.example",
        )
        assert response.headers["Location"] == "/installer/"

    def test_login_follows_a_site_next(self, client: FlaskClient) -> None:
        response = post_form(
            client,
            "/login",
            data={"username": "installer1", "password": "demo", "next": "/leads/1"},
            form="/login",
        )
        assert response.headers["Location"] == "/leads/1"


class TestLanguage:
    def test_german_is_the_default(self, login: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        page = client.get("/installer/").get_data(as_text=True)
        assert '<html lang="de">' in page
        assert "Verfügbare Anfragen" in page
        assert '<span class="product">LEAD MANAGEMENT TOOL</span>' in page

    def test_english_switch_is_kept_with_the_user(
        self, app: Flask, login: Any, post: Any, client: FlaskClient
    ) -> None:
        login(client, "installer1")
        post(client, "/language", {"language": "en", "next": "/installer/"})
        page = client.get("/installer/").get_data(as_text=True)
        assert '<html lang="en">' in page
        assert "Available requests" in page
        assert "My requests" in page
        assert "Show all entries" in page
        again = app.test_client()
        login(again, "installer1")
        assert "Available requests" in again.get("/installer/").get_data(as_text=True)

    def test_english_formats_dates_and_money(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        login(client, "rep1")
        post(client, "/language", {"language": "en"})
        page = client.get(f"/leads/{MANUAL_LEAD}").get_data(as_text=True)
        assert "Project information" in page
        assert "27/07/2018" in page
        assert "€9,132.00" in page

    def test_unknown_language_is_refused(self, login: Any, post: Any, client: FlaskClient) -> None:
        login(client, "installer1")
        assert post(client, "/language", {"language": "xx"}).status_code == 400

    def test_anonymous_choice_lives_in_the_session(self, client: FlaskClient) -> None:
        post_form(client, "/language", data={"language": "en"}, form="/login")
        assert "Log in" in client.get("/login").get_data(as_text=True)

    def test_english_forms_and_history_use_the_librarys_labels(
        self, login: Any, post: Any, client: FlaskClient
    ) -> None:
        """Channels and release reasons are named by ``qleads.texts`` in the user's
        language, in the status form and in the history."""
        login(client, "installer1")
        post(client, f"/leads/{MANUAL_LEAD}/claim")
        post(client, "/language", {"language": "en"})
        post(
            client,
            f"/leads/{MANUAL_LEAD}/status",
            {"status": "first_contact", "date": "2026-11-20", "channel": "on_site"},
        )
        page = client.get(f"/leads/{MANUAL_LEAD}/status").get_data(as_text=True)
        assert '<option value="out_of_area">Outside my area</option>' in page
        assert '<option value="letter">Letter</option>' in page
        assert "Contact channel: On site" in page
        assert "First contact made" in page

    def test_the_portal_keeps_no_copy_of_the_librarys_labels(self) -> None:
        """Statuses, tabs and release reasons are named once, by the library: no text of
        the portal's code or templates is one of their labels."""
        labels = {member.label() for member in (*Status, *Tab, *ReleaseReason)}
        assert labels.isdisjoint(extract_messages())

    def test_catalogue_covers_every_text(self) -> None:
        assert missing() == []

    def test_compiled_catalogue_matches_its_source(self) -> None:
        """Run ``python -m examples.admin_app.catalog`` after editing the .po file."""
        assert MO.read_bytes() == compile_mo()


class TestBackground:
    def test_run_once_expires_a_claim_and_mails_the_former_holder(
        self,
        app: Flask,
        login: Any,
        post: Any,
        client: FlaskClient,
        services: Services,
        clock: FrozenClock,
    ) -> None:
        """R4, R10, R11 inside the app."""
        login(client, "installer1")
        post(client, f"/leads/{MANUAL_LEAD}/claim")
        clock.advance(dt.timedelta(days=5))
        report = run_once(services)
        assert report.swept.expired >= 1
        installer = services.directory.installer("installer1")
        assert services.desk.get(installer, MANUAL_LEAD).lead.status is Status.NEW
        assert services.desk.get(installer, MANUAL_LEAD).previously_handled
        assert run_once(services).swept.total == 0  # idempotent

    def test_the_product_name_and_footer_reach_the_banner_and_the_mails(
        self, demo_database: Path, tmp_path: Path, login: Any, post: Any
    ) -> None:
        """R10: the lead mails end with the configured footer, the reset mail and the
        banner name the configured product."""
        database = tmp_path / "branded.sqlite"
        copy_database(demo_database, database)
        clock = FrozenClock(NOW)
        settings = {"QLEADS_PRODUCT_NAME": "Q.PARTNER Leads", "QLEADS_MAIL_FOOTER": "Q CELLS"}
        app = create_app(portal_config(database, clock, **settings))
        services = app.extensions["qleads"]
        try:
            client = app.test_client()
            login(client, "installer1")
            page = client.get("/installer/").get_data(as_text=True)
            assert '<span class="product">Q.PARTNER LEADS</span>' in page
            post(client, f"/leads/{MANUAL_LEAD}/claim")
            forgot = app.test_client()
            post_form(forgot, "/password/forgot", {"username": "rep1"}, form="/password/forgot")
            # the link and its mail are stored on the after-answer thread: wait for it
            services.after_answer.submit(lambda: None).result(timeout=30)
            with app.app_context():
                run_once(services)  # the reset mail, while its link works
                clock.advance(dt.timedelta(days=5))
                run_once(services)  # the claim expires: its mail to the installer
            with services.read_sessions() as db:
                mails = {m.recipients: m.text_body() for m in db.query(PortalMail)}
            assert mails["installer1@example.com"].endswith("\n-- \nQ CELLS\n")
            assert "im Q.PARTNER Leads wurde ein neues Passwort" in mails["rep1@example.com"]
        finally:
            services.close()

    def test_worker_thread_starts_and_stops(self, services: Services) -> None:
        worker = BackgroundWorker(services, interval=0.05)
        worker.start()
        assert worker.alive
        worker.stop()
        assert not worker.alive

    def test_interval_must_be_positive(self, services: Services) -> None:
        with pytest.raises(ValueError, match="positive"):
            BackgroundWorker(services, interval=0)


class TestDemoData:
    def test_every_status_is_present(self, services: Services) -> None:
        admin = services.directory.admin("admin")
        leads = [v.lead for v in services.desk.tab(admin, Tab.ALL, per_page=500).items]
        assert len(leads) > 200
        assert {lead.status for lead in leads} == set(Status)
        assert services.desk.tab(admin, Tab.UNROUTED).total > 0

    def test_the_manuals_lead_is_there(self, services: Services) -> None:
        admin = services.directory.admin("admin")
        lead = services.desk.get(admin, MANUAL_LEAD).lead
        assert lead.document.contact.postal_code == "04107"
        assert lead.document.roof.module_count == 16
        assert lead.document.eco_balance.co2_saving_kg == 14365
        assert lead.status is Status.NEW

    def test_demo_logins_share_and_split_territories(self, services: Services) -> None:
        one, two, three = (services.directory.installer(f"installer{i}") for i in (1, 2, 3))
        assert one.rep_id == two.rep_id == "rep1"
        assert three.rep_id != "rep1"

    def test_same_day_same_data(self, demo_database: Path, tmp_path: Path) -> None:
        """Seeded: a second load as of the same instant writes the same leads."""
        app = create_app(portal_config(tmp_path / "again.sqlite", FrozenClock(NOW)))
        app.extensions["qleads"].close()

        def rows(path: Path) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as db:
                return db.execute(
                    "SELECT id, status, holder_id, territory_id FROM qleads_lead ORDER BY id"
                ).fetchall()

        assert rows(demo_database) == rows(tmp_path / "again.sqlite")
