"""The portal in a real browser: Debian's Chromium through Playwright against a live
server. Each scenario — claim, race, work, follow-up, release, the rep's assignment,
print and language — is one test."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import LiveServer, Screenshots, Session  # type: ignore[import-not-found]
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MANUAL_LEAD = 1
ROW = f'tr[data-lead-id="{MANUAL_LEAD}"]'

Open = Callable[[str], Session]


def _claim(installer: Session, lead_id: int = MANUAL_LEAD) -> None:
    page = installer.go(f"/leads/{lead_id}")
    page.click("#claim")
    expect(page.locator(".flash-success")).to_contain_text("Sie haben die Anfrage übernommen.")


def _record(installer: Session, status: str, **fields: str) -> None:
    page = installer.go(f"/leads/{MANUAL_LEAD}/status")
    page.select_option("#status", status)
    for name, value in fields.items():
        if name == "channel":
            page.select_option("#channel", value)
        else:
            page.fill(f"#{name}", value)
    page.click("#save-status")


class TestClaim:
    def test_installer1_claims_and_installer2_no_longer_sees_it(
        self, session_for: Open, screenshots: Screenshots
    ) -> None:
        """R2, R3."""
        one = session_for("installer1")
        two = session_for("installer2")
        start = one.go("/installer/")
        expect(start.locator("#available h2")).to_contain_text("Verfügbare Anfragen")
        expect(start.locator("#mine h2")).to_contain_text("Meine Anfragen")
        screenshots.take(start, "start.png")

        detail = one.go(f"/leads/{MANUAL_LEAD}")
        expect(detail.locator("h1")).to_contain_text(f"Anfragedetails ID: {MANUAL_LEAD}")
        expect(detail.locator("#claim")).to_have_text(re.compile("Anfrage übernehmen", re.I))
        screenshots.take(detail, "detail.png")

        two.go(f"/leads/{MANUAL_LEAD}")
        expect(two.page.locator("#claim")).to_be_visible()

        _claim(one)
        expect(one.page.locator("ol.history")).to_contain_text(
            "Anfrage wurde von Solartechnik Müller GmbH übernommen"
        )
        one.go(f"/leads/{MANUAL_LEAD}")
        expect(one.page.locator("table.facts").first).to_contain_text("Test3 DEipzig")

        two.go("/installer/")
        expect(two.page.locator(ROW)).to_have_count(0)
        two.go(f"/leads/{MANUAL_LEAD}")
        expect(two.page.locator("h1")).to_have_text("Nicht gefunden")
        assert one.errors == []  # installer2's 404 page is the one expected console error

    def test_two_browsers_claim_at_the_same_moment_and_one_wins(
        self, session_for: Open, live_server: LiveServer
    ) -> None:
        """R3: both requests are inside the server at once (a barrier holds the first
        until the second arrives); exactly one wins, the other reads a clear message."""
        one = session_for("installer1")
        two = session_for("installer2")
        one.go(f"/leads/{MANUAL_LEAD}")
        two.go(f"/leads/{MANUAL_LEAD}")

        desk = live_server.services.desk
        claim = desk.claim
        barrier = threading.Barrier(2, timeout=20)

        def claim_together(actor: Any, lead_id: int, **options: Any) -> Any:
            barrier.wait()
            return claim(actor, lead_id, **options)

        desk.claim = claim_together  # type: ignore[method-assign]
        try:
            one.page.locator("#claim").click(no_wait_after=True)
            two.page.locator("#claim").click(no_wait_after=True)
            for session in (one, two):
                expect(session.page.locator(".flash")).to_be_visible(timeout=20_000)
        finally:
            desk.claim = claim  # type: ignore[method-assign]

        messages = [s.page.locator(".flash").first.inner_text() for s in (one, two)]
        won = [m for m in messages if "Sie haben die Anfrage übernommen." in m]
        lost = [m for m in messages if "Diese Anfrage ist nicht mehr verfügbar" in m]
        assert len(won) == 1, messages
        assert len(lost) == 1, messages
        lead = desk.get(live_server.services.directory.admin("admin"), MANUAL_LEAD).lead
        assert lead.holder_id in {"installer1", "installer2"}


class TestWork:
    def test_contact_attempt_moves_the_lead_to_in_progress(
        self, session_for: Open, screenshots: Screenshots
    ) -> None:
        """R6, R8."""
        one = session_for("installer1")
        _claim(one)
        _record(one, "contact_attempted", channel="phone", note="Mailbox, rufe morgen an")
        page = one.page
        expect(page.locator(".flash-success")).to_contain_text("Die Änderung wurde gespeichert.")
        expect(page.locator("ol.history")).to_contain_text("Kontaktversuch erfolgt")
        expect(page.locator("ol.history")).to_contain_text("Mailbox, rufe morgen an")
        screenshots.take(page, "status.png")

        page.click('nav.mainnav a[data-tab="in_progress"]')
        expect(page.locator(ROW)).to_be_visible()
        expect(page.locator(ROW)).to_contain_text("Kontaktversuch erfolgt", ignore_case=True)
        page.click('nav.mainnav a[data-tab="new"]')
        expect(page.locator(ROW)).to_have_count(0)
        assert one.errors == []

    def test_release_returns_it_and_installer1_sees_the_marker(self, session_for: Open) -> None:
        """R7, R2c: "Lead wieder verfügbar" with a reason; the newest lead of the pool, so
        that it is on the first page of both lists."""
        one = session_for("installer1")
        two = session_for("installer2")
        page = one.go("/installer/")
        lead_id = page.locator("#available tr[data-lead-id]").first.get_attribute("data-lead-id")
        row = f'tr[data-lead-id="{lead_id}"]'
        _claim(one, int(str(lead_id)))
        page = one.go(f"/leads/{lead_id}/status")
        expect(page.locator("#reason")).to_be_hidden()
        page.select_option("#status", "release")
        expect(page.locator("#reason")).to_be_visible()
        page.select_option("#reason", "no_capacity")
        page.click("#save-status")
        expect(page.locator(".flash-success")).to_contain_text("wieder für andere Partner")

        page = one.go("/installer/")
        expect(page.locator(f"#available {row} img.marker")).to_be_visible()
        two.go("/installer/")
        expect(two.page.locator(f"#available {row}")).to_be_visible()
        expect(two.page.locator(f"#available {row} img.marker")).to_have_count(0)

    def test_follow_up_shows_under_its_tab(self, session_for: Open) -> None:
        """R6, R8: the due date fields appear for "Wiedervorlage"."""
        one = session_for("installer1")
        _claim(one)
        page = one.go(f"/leads/{MANUAL_LEAD}/status")
        expect(page.locator("#due_date")).to_be_hidden()
        page.select_option("#status", "follow_up")
        expect(page.locator("#due_date")).to_be_visible()
        page.fill("#due_date", "2026-11-26")
        page.fill("#due_time", "10:15")
        page.select_option("#channel", "phone")
        page.click("#save-status")
        expect(page.locator(".flash-success")).to_be_visible()
        page.click('nav.mainnav a[data-tab="follow_up"]')
        expect(page.locator(ROW)).to_contain_text("26.11.2026, 10:15 Uhr")


class TestRep:
    def test_rep_assigns_and_installer2_gets_it_with_a_mail(self, session_for: Open) -> None:
        """R5, R10."""
        rep = session_for("rep1")
        page = rep.go(f"/leads/{MANUAL_LEAD}")
        page.select_option("#installer_id", "installer2")
        page.click("#assign")
        expect(page.locator(".flash-success")).to_contain_text("Die Anfrage wurde zugeteilt.")

        two = session_for("installer2")
        page = two.go("/installer/tab/new")
        expect(page.locator(ROW)).to_contain_text("Lead zugeteilt", ignore_case=True)
        mail = page.locator("table.mails a", has_text=f"{MANUAL_LEAD}")
        for _ in range(50):  # the dispatcher runs every 0.2 s
            two.go("/mails/")
            if mail.count():
                break
            page.wait_for_timeout(200)
        expect(mail.first).to_be_visible()
        mail.first.click()
        expect(page.locator("pre.mail-body")).to_contain_text(f"/leads/{MANUAL_LEAD}")

    def test_rep_overview_has_the_chart(self, session_for: Open) -> None:
        rep = session_for("rep1")
        page = rep.go("/rep/installers")
        expect(page.locator("#installer-stats")).to_contain_text("Solartechnik Müller GmbH")
        expect(page.locator("svg.chart")).to_have_count(3)
        assert rep.errors == []


class TestPrintAndLanguage:
    def test_print_page_is_clean(self, session_for: Open) -> None:
        """ "Drucken": the lead without navigation, with the print stylesheet."""
        one = session_for("installer1")
        page = one.go(f"/leads/{MANUAL_LEAD}")
        page.click("#print-link")
        expect(page.locator("h1")).to_contain_text(f"Anfragedetails ID: {MANUAL_LEAD}")
        expect(page.locator("nav.mainnav")).to_have_count(0)
        page.emulate_media(media="print")
        expect(page.locator(".print-toolbar")).to_be_hidden()
        expect(page.locator("table.facts").first).to_be_visible()
        assert one.errors == []

    def test_english_switch(self, session_for: Open) -> None:
        one = session_for("installer1")
        page = one.go("/installer/")
        page.click('form.language button[value="en"]')
        expect(page.locator("#available h2")).to_contain_text("Available requests")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page = one.go(f"/leads/{MANUAL_LEAD}")
        expect(page.locator("#claim")).to_have_text(re.compile("Claim request", re.I))
        expect(page.locator("dl.received dd")).to_have_text("27/07/2018")
        page.click('form.language button[value="de"]')
        expect(page.locator("#claim")).to_have_text(re.compile("Anfrage übernehmen", re.I))
