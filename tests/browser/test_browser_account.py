"""Accounts in a real browser: "Passwort vergessen" end to end through the demo
mailbox, and a session cookie copied into another browser that stops working on logout.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from conftest import LiveServer, Session  # type: ignore[import-not-found]
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

MANUAL_LEAD = 1
CUSTOMER = "Test3 DEipzig"
RESET_PATH = re.compile(r"/password/reset/[A-Za-z0-9_-]+")

Open = Callable[[str], Session]


def _fresh_page(browser: Browser) -> Page:
    return browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE").new_page()


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()


class TestForgottenPassword:
    def test_the_link_from_the_demo_mailbox_sets_a_new_password(
        self, browser: Browser, live_server: LiveServer, session_for: Open
    ) -> None:
        page = _fresh_page(browser)
        try:
            page.goto(live_server.url + "/login")
            page.click("#forgot-password")
            page.fill("#username", "installer2")
            page.click("form.stacked button[type=submit]")
            expect(page.locator(".flash-info")).to_contain_text(
                "Wenn es zu diesem Benutzernamen ein aktives Konto gibt"
            )

            # the demo mailbox: the admin reads every mail the portal sent
            admin = session_for("admin")
            mail = admin.page.locator("table.mails tr", has_text="installer2@example.com").locator(
                "a", has_text="Passwort zurücksetzen"
            )
            for _ in range(50):  # the background worker delivers the outbox
                admin.go("/mails/")
                if mail.count():
                    break
                admin.page.wait_for_timeout(200)
            mail.first.click()
            body = admin.page.locator("pre.mail-body").inner_text()
            assert "60 Minuten und nur einmal" in body
            found = RESET_PATH.search(body)
            assert found is not None, body

            page.goto(live_server.url + found.group(0))
            page.fill("#new", "im-browser-gesetzt")
            page.fill("#repeat", "im-browser-gesetzt")
            page.click("form.stacked button[type=submit]")
            expect(page.locator(".flash-success")).to_contain_text("Ihr Passwort wurde geändert")

            _log_in(page, live_server.url, "installer2", "im-browser-gesetzt")
            expect(page).to_have_url(re.compile(r"/installer/$"))

            page.goto(live_server.url + found.group(0))
            expect(page.locator("h1")).to_have_text("Link ungültig")
        finally:
            page.context.close()


class TestReplayedCookie:
    def test_a_cookie_copied_before_logout_opens_nothing_after_it(
        self, browser: Browser, live_server: LiveServer, session_for: Open
    ) -> None:
        installer = session_for("installer1")
        page = installer.go(f"/leads/{MANUAL_LEAD}")
        page.click("#claim")
        page = installer.go(f"/leads/{MANUAL_LEAD}")
        expect(page.locator("main")).to_contain_text(CUSTOMER)
        stolen = installer.context.cookies()

        thief = browser.new_context(locale="de-DE")
        try:
            thief.add_cookies(stolen)  # type: ignore[arg-type]
            other = thief.new_page()
            other.goto(f"{live_server.url}/leads/{MANUAL_LEAD}")
            expect(other.locator("main")).to_contain_text(CUSTOMER)  # the copy works …

            installer.page.click("#logout")
            expect(installer.page.locator(".flash-info")).to_contain_text("abgemeldet")

            other.goto(f"{live_server.url}/leads/{MANUAL_LEAD}")  # … until the logout
            expect(other).to_have_url(re.compile(r"/login"))
            expect(other.locator("main")).not_to_contain_text(CUSTOMER)
        finally:
            thief.close()

    def test_the_live_server_names_no_versions(
        self, live_server: LiveServer, session_for: Open
    ) -> None:
        installer = session_for("installer1")
        response = installer.page.goto(f"{live_server.url}/installer/")
        assert response is not None
        server = response.headers.get("server", "")
        assert "werkzeug" not in server.lower()
        assert "python" not in server.lower()
        assert response.headers.get("cache-control") == "no-store"
