"""The portal for daily use, in Chromium: on a phone, on paper, in the admin area, in
the forms, and by keyboard alone. (That every page of every role fits a phone, keeps the
Content Security Policy and passes axe-core is ``test_browser_every_page``.)"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterator

import pytest
from conftest import (  # type: ignore[import-not-found]
    NOW,
    LiveServer,
    Screenshots,
    Session,
)
from playwright.sync_api import Browser, Dialog, Page, expect
from pypdf import PdfReader

from qleads.holding import held_since
from qleads.lifecycle import Status
from qleads.tabs import Tab

pytestmark = pytest.mark.browser

MANUAL_LEAD = 1
Open = Callable[[str], Session]
PHONE = {"width": 390, "height": 844}
#: A4 in PDF points (1/72 inch), portrait.
A4 = (595.0, 842.0)


def _claim(installer: Session, lead_id: int = MANUAL_LEAD) -> Page:
    page = installer.go(f"/leads/{lead_id}")
    page.click("#claim")
    expect(page.locator(".flash-success")).to_contain_text("Sie haben die Anfrage übernommen.")
    return page


def _record(page: Page, lead_id: int, status: str, day: str | None = None, note: str = "") -> None:
    page.goto(page.url.split("/leads/")[0] + f"/leads/{lead_id}/status")
    page.select_option("#status", status)
    if day is not None:
        page.fill("#date", day)
    if note:
        page.fill("#note", note)
    page.click("#save-status")


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """``phone("installer1")``: a logged-in page 390 px wide."""
    contexts = []

    def open_phone(username: str) -> Page:
        context = browser.new_context(viewport=PHONE, locale="de-DE", has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + "/login")
        page.fill("#username", username)
        page.fill("#password", "demo")
        page.click("form.stacked button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_phone
    for context in contexts:
        context.close()


def _inside_the_screen(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= PHONE["width"], (selector, box)


class TestPhone:
    def test_the_tabs_are_a_menu_and_the_lists_are_cards(
        self, phone: Callable[[str], Page], live_server: LiveServer
    ) -> None:
        page = phone("installer1")
        toggle = page.locator("button.navtoggle").first
        expect(toggle).to_be_visible()
        expect(toggle).to_contain_text("Menü: Startseite")
        expect(page.locator('#mainnav a[data-tab="new"]')).to_be_hidden()
        assert (toggle.bounding_box() or {}).get("height", 999) < 60  # one line, not a screen
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.click('#mainnav a[data-tab="new"]')
        expect(page.locator("h2")).to_contain_text("Neue Anfragen")
        row = page.locator("table.leads tbody tr").first
        assert row.evaluate("e => getComputedStyle(e).display") == "block"
        expect(row.locator("td.received")).to_be_visible()
        label = row.locator("td.received").evaluate("e => getComputedStyle(e, '::before').content")
        assert "Eingangsdatum" in label, label
        _inside_the_screen(page, "table.leads tbody tr >> nth=0")
        _inside_the_screen(page, "table.leads tbody tr .button >> nth=0")

    def test_claim_and_save_are_within_reach(
        self, phone: Callable[[str], Page], live_server: LiveServer
    ) -> None:
        page = phone("installer1")
        page.goto(live_server.url + f"/leads/{MANUAL_LEAD}")
        page.locator("#claim").scroll_into_view_if_needed()
        _inside_the_screen(page, "#claim")
        _inside_the_screen(page, "#print-link")
        page.locator("#claim").tap()
        expect(page.locator(".flash-success")).to_be_visible()
        page.locator("#save-status").scroll_into_view_if_needed()
        _inside_the_screen(page, "#save-status")
        _inside_the_screen(page, "#status")
        _inside_the_screen(page, "#note")
        page.select_option("#status", "first_contact")
        page.locator("#save-status").tap()
        expect(page.locator(".flash-success")).to_contain_text("Die Änderung wurde gespeichert.")

    def test_the_reps_views_are_a_menu_too(self, phone: Callable[[str], Page]) -> None:
        page = phone("rep1")
        views = page.locator("button.navtoggle", has_text="Ansicht")
        expect(views).to_be_visible()
        expect(page.locator('#subtabs a[data-tab="all"]')).to_be_hidden()
        views.click()
        page.click('#subtabs a[data-tab="all"]')
        expect(page).to_have_url(re.compile(r"tab=all"))


class TestPrint:
    def test_print_and_back_show_on_screen_and_not_on_paper(self, session_for: Open) -> None:
        one = session_for("installer1")
        page = one.go(f"/leads/{MANUAL_LEAD}/print")
        expect(page.locator("#print-now")).to_be_visible()
        expect(page.locator("#print-now")).to_have_text("Drucken")
        expect(page.locator("#print-back")).to_be_visible()
        expect(page.locator("#print-back")).to_contain_text("Zurück")
        # the print stylesheet is for paper only: on screen the page keeps the portal's look
        media = page.eval_on_selector_all(
            'link[rel="stylesheet"]', "els => els.map(e => [e.href, e.media])"
        )
        assert [m for href, m in media if href.endswith("print.css")] == ["print"]
        page.emulate_media(media="print")
        expect(page.locator("#print-now")).to_be_hidden()
        expect(page.locator("#print-back")).to_be_hidden()
        page.emulate_media(media="screen")
        page.click("#print-back")
        expect(page).to_have_url(re.compile(rf"/leads/{MANUAL_LEAD}$"))
        assert one.errors == []

    def test_the_detail_fits_a4_portrait(self, session_for: Open) -> None:
        """One or two A4 pages, every figure on them and nothing beyond their edge."""
        one = session_for("installer1")
        page = _claim(one)
        for status, note in (
            ("contact_attempted", "Mailbox, rufe morgen an"),
            ("first_contact", "Termin vor Ort am Dienstag vereinbart"),
        ):
            _record(page, MANUAL_LEAD, status, note=note)
            expect(page.locator(".flash-success")).to_be_visible()
        page = one.go(f"/leads/{MANUAL_LEAD}/print")
        page.emulate_media(media="print")
        figures = [
            re.sub(r"\s+", "", t)
            for t in page.locator("table.facts td").all_inner_texts()
            if t.strip()
        ]
        assert len(figures) >= 25  # contact, consumption, roof, costs, eco balance
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=False)))
        assert 1 <= len(pdf.pages) <= 2, len(pdf.pages)
        text = ""
        outside: list[str] = []
        for sheet in pdf.pages:
            width, height = float(sheet.mediabox.width), float(sheet.mediabox.height)
            assert abs(width - A4[0]) < 2, width
            assert abs(height - A4[1]) < 2, height

            def visit(
                part: str,
                cm: list[float],
                tm: list[float],
                _font: object,
                _size: object,
                width: float = width,
            ) -> None:
                x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
                if part.strip() and not 0 <= x <= width:
                    outside.append(part)

            text += sheet.extract_text(visitor_text=visit)
        assert outside == []
        flat = re.sub(r"\s+", "", text)
        assert [f for f in figures if f not in flat] == []
        assert "Terminvor OrtamDienstag".replace(" ", "") in flat  # the history's last line


class TestAdmin:
    def test_delete_asks_first_and_cancel_keeps_the_row(self, session_for: Open) -> None:
        admin = session_for("admin")
        page = admin.go("/admin/users/")
        row = page.locator("tr", has=page.locator("td.col-username", has_text="installer3"))
        expect(row).to_have_count(1)
        asked: list[str] = []

        def answer(accept: bool) -> Callable[[Dialog], None]:
            def handle(dialog: Dialog) -> None:
                asked.append(dialog.message)
                dialog.accept() if accept else dialog.dismiss()

            return handle

        page.once("dialog", answer(False))
        row.locator("button[data-confirm]").click()
        page.wait_for_timeout(300)
        assert len(asked) == 1
        assert asked[0]
        expect(row).to_have_count(1)
        page.once("dialog", answer(True))
        row.locator("button[data-confirm]").click()
        page.wait_for_load_state()
        expect(page.locator(".alert-success")).to_be_visible()
        expect(row).to_have_count(0)
        assert len(asked) == 2
        assert admin.errors == []

    def test_a_batch_action_asks_first(self, session_for: Open) -> None:
        admin = session_for("admin")
        page = admin.go("/admin/users/")
        before = page.locator("tbody tr").count()
        page.locator("tbody input.action-checkbox").first.check()
        asked: list[str] = []

        def dismiss(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        page.locator("a.dropdown-toggle", has_text=re.compile("Auswahl|selected")).click()
        page.locator('button[form="action_form"][value="delete"]').click()
        page.wait_for_timeout(300)
        assert len(asked) == 1
        assert asked[0]
        expect(page.locator("tbody tr")).to_have_count(before)
        assert admin.errors == []

    def test_the_admin_speaks_the_portals_language(self, session_for: Open) -> None:
        admin = session_for("admin")
        page = admin.go("/admin/users/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator(".admin-masthead .logo")).to_have_text("Q CELLS")
        expect(page.locator("thead")).to_contain_text("Rolle")
        roles = set(page.locator("td.col-role").all_inner_texts())
        assert {"Installateur", "Vertriebsmitarbeiter", "Administrator"} <= roles, roles
        assert not roles & {"installer", "rep", "admin"}
        expect(page.locator("td.col-active").first).to_have_text(re.compile("^(ja|nein)$"))

        page = admin.go("/admin/outbox/")
        kinds = set(page.locator("td.col-kind").all_inner_texts())
        assert "Neue Anfrage" in kinds, kinds
        assert "new_lead" not in kinds
        assert set(page.locator("td.col-state").all_inner_texts()) <= {
            "wartend",
            "gesendet",
            "fehlgeschlagen",
        }
        created = page.locator("td.col-created_at").first.inner_text()
        assert re.fullmatch(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr", created), created

        page = admin.go("/admin/policy/")
        labels = " ".join(page.locator("label").all_inner_texts())
        assert "Haltefrist" in labels
        assert re.search(r"\bR\d+\b", labels) is None, labels

        page = admin.go("/rep/")
        page.click('form.language button[value="en"]')
        page = admin.go("/admin/users/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        roles = set(page.locator("td.col-role").all_inner_texts())
        assert {"Installer", "Sales rep", "Administrator"} <= roles, roles
        expect(page.locator("thead")).to_contain_text("Role")
        page = admin.go("/admin/outbox/")
        created = page.locator("td.col-created_at").first.inner_text()
        assert re.fullmatch(r"\d\d/\d\d/\d{4}, \d\d:\d\d", created), created
        assert "New request" in set(page.locator("td.col-kind").all_inner_texts())
        assert admin.errors == []

    def test_the_favicon_is_there(self, session_for: Open, live_server: LiveServer) -> None:
        admin = session_for("admin")
        answer = admin.page.request.get(live_server.url + "/favicon.ico")
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        icon = admin.go("/admin/").locator('link[rel="icon"]')
        expect(icon).to_have_count(1)


class TestForms:
    def test_the_release_form_asks_only_reason_and_note(self, session_for: Open) -> None:
        one = session_for("installer1")
        _claim(one)
        page = one.page
        for field in ("#date", "#channel", "#note"):
            expect(page.locator(field)).to_be_visible()
        page.select_option("#status", "release")
        expect(page.locator("#reason")).to_be_visible()
        expect(page.locator("#note")).to_be_visible()
        for field in ("#date", "#channel", "#due_date", "#due_time"):
            expect(page.locator(field)).to_be_hidden()
        page.select_option("#status", "first_contact")
        expect(page.locator("#date")).to_be_visible()
        expect(page.locator("#reason")).to_be_hidden()

    def test_a_status_cannot_be_dated_before_the_claim(
        self, session_for: Open, live_server: LiveServer
    ) -> None:
        """R6: the form offers no earlier day, and the desk refuses one sent anyway."""
        one = session_for("installer1")
        page = _claim(one)
        today = NOW.date().isoformat()
        expect(page.locator("#date")).to_have_attribute("min", today)
        expect(page.locator("#date-hint")).to_contain_text("20.11.2026")
        page.select_option("#status", "first_contact")
        page.evaluate("document.getElementById('date').removeAttribute('min')")
        page.fill("#date", (NOW.date() - dt.timedelta(days=1)).isoformat())
        page.click("#save-status")
        expect(page.locator(".flash-error")).to_contain_text(
            "Das Datum darf nicht vor der Übernahme bzw. Zuteilung der Anfrage (20.11.2026) liegen."
        )
        lead = live_server.services.desk.get(
            live_server.services.directory.admin("admin"), MANUAL_LEAD
        ).lead
        assert lead.status is Status.CLAIMED

    def test_the_history_goes_by_effective_date(
        self, session_for: Open, live_server: LiveServer
    ) -> None:
        """R13: a status dated back stands where it happened, with the time it was
        entered beside it."""
        desk = live_server.services.desk
        installer = live_server.services.directory.installer("installer1")
        assert installer is not None
        lead_id = next(
            row.lead.id
            for row in desk.tab(installer, Tab.IN_PROGRESS, per_page=200).items
            if (since := held_since(desk.history(installer, row.lead.id))) is not None
            and since.date() <= NOW.date() - dt.timedelta(days=3)
        )
        one = session_for("installer1")
        page = one.go(f"/leads/{lead_id}/status")
        yesterday = NOW.date() - dt.timedelta(days=1)
        _record(page, lead_id, "first_contact", NOW.date().isoformat())
        expect(page.locator(".flash-success")).to_be_visible()
        _record(page, lead_id, "offer_sent", yesterday.isoformat())
        expect(page.locator(".flash-success")).to_be_visible()
        entries = page.locator("ol.history li")
        expect(entries.nth(0).locator(".status")).to_have_class(re.compile("status-first_contact"))
        expect(entries.nth(1).locator(".status")).to_have_class(re.compile("status-offer_sent"))
        expect(entries.nth(1).locator(".date")).to_have_text(yesterday.strftime("%d.%m.%Y"))
        expect(entries.nth(1).locator(".entered")).to_contain_text("eingetragen am 20.11.2026")
        expect(entries.nth(0).locator(".entered")).to_have_count(0)
        shown = [
            dt.datetime.strptime(d, "%d.%m.%Y").date()
            for d in entries.locator(".date").all_inner_texts()
        ]
        assert shown == sorted(shown, reverse=True)

    def test_links_in_a_mail_open_the_lead(self, session_for: Open) -> None:
        admin = session_for("admin")
        page = admin.go("/mails/")
        page.locator("table.mails a").first.click()
        link = page.locator('pre.mail-body a[href^="/leads/"]').first
        expect(link).to_be_visible()
        lead_id = re.search(r"/leads/(\d+)", str(link.get_attribute("href")))
        assert lead_id is not None
        link.click()
        expect(page.locator("h1")).to_contain_text(f"ID: {lead_id.group(1)}")

    @pytest.mark.parametrize("width", [360, 390, 1280])
    def test_the_login_hint_does_not_overlap_the_button(
        self, browser: Browser, live_server: LiveServer, width: int
    ) -> None:
        context = browser.new_context(viewport={"width": width, "height": 800}, locale="de-DE")
        try:
            page = context.new_page()
            page.goto(live_server.url + "/login")
            boxes = [
                page.locator(s).bounding_box()
                for s in ("form.stacked button[type=submit]", "#forgot-password", "p.hint")
            ]
            for upper, lower in itertools.pairwise(boxes):
                assert upper is not None
                assert lower is not None
                assert upper["y"] + upper["height"] <= lower["y"], (upper, lower)
        finally:
            context.close()


class TestKeyboard:
    def test_claim_and_record_a_status_by_keyboard_alone(self, session_for: Open) -> None:
        one = session_for("installer1")
        page = one.go(f"/leads/{MANUAL_LEAD}")

        def tab_to(selector: str) -> None:
            target = page.locator(selector)
            for _ in range(80):
                page.keyboard.press("Tab")
                if target.evaluate("e => e === document.activeElement"):
                    outline = target.evaluate("e => getComputedStyle(e).outlineStyle")
                    assert outline != "none", f"{selector} shows no focus"
                    return
            raise AssertionError(f"Tab never reaches {selector}")

        tab_to("#claim")
        page.keyboard.press("Enter")
        expect(page.locator(".flash-success")).to_contain_text("Sie haben die Anfrage übernommen.")
        tab_to("#status")
        page.keyboard.press("ArrowDown")  # Kontaktversuch erfolgt → Erstkontakt erfolgt
        expect(page.locator("#status")).to_have_value("first_contact")
        tab_to("#channel")
        page.keyboard.press("ArrowDown")
        expect(page.locator("#channel")).to_have_value("phone")
        tab_to("#note")
        page.keyboard.type("Am Telefon erreicht")
        tab_to("#save-status")
        page.keyboard.press("Enter")
        expect(page.locator(".flash-success")).to_contain_text("Die Änderung wurde gespeichert.")
        expect(page.locator("ol.history")).to_contain_text("Am Telefon erreicht")
        expect(page.locator("ol.history li").first.locator(".status")).to_have_class(
            re.compile("status-first_contact")
        )


def test_screenshots_of_the_admin_area(session_for: Open, screenshots: Screenshots) -> None:
    """The admin's pictures of ``docs/portal.md`` (written with QLEADS_WRITE_SCREENSHOTS=1)."""
    admin = session_for("admin")
    page = admin.go("/admin/users/")
    expect(page.locator(".admin-masthead")).to_be_visible()
    screenshots.take(page, "admin-users.png")
