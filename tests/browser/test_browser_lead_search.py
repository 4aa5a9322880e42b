"""Search, filters and sort of the lead lists in Chromium: typed into the form, clicked in
the column headers, kept in the URL and by the pager (R2, R8, R16)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import LiveServer, Session  # type: ignore[import-not-found]
from playwright.sync_api import expect

from qleads.filters import LeadFilter, SortKey
from qleads.lifecycle import Status
from qleads.tabs import Tab

pytestmark = pytest.mark.browser

Open = Callable[[str], Session]


def _row_ids(session: Session) -> list[int]:
    rows = session.page.locator("tr[data-lead-id]")
    return [int(rows.nth(n).get_attribute("data-lead-id") or 0) for n in range(rows.count())]


def _query(session: Session) -> dict[str, list[str]]:
    return parse_qs(urlparse(session.page.url).query)


class TestRepSearch:
    def test_search_filter_sort_and_page_stay_in_the_url(
        self, session_for: Open, live_server: LiveServer
    ) -> None:
        rep = session_for("rep1")
        page = rep.go("/rep/?tab=all")
        page.fill("#list-q", "0")
        page.locator("summary", has_text="Filter").click()
        page.select_option("#list-status", "new")
        page.click("#list-search")
        page.wait_for_load_state()
        assert _query(rep) == {"tab": ["all"], "q": ["0"], "status": ["new"]}
        actor = live_server.services.directory.rep("rep1")
        assert actor is not None
        expected = live_server.services.desk.search(
            actor, Tab.ALL, LeadFilter(text="0", statuses=frozenset({Status.NEW})), per_page=20
        )
        assert _row_ids(rep) == [r.lead.id for r in expected.items]

        page.click("th >> a[data-sort=id]")
        page.wait_for_load_state()
        assert _query(rep)["sort"] == ["id"]
        expect(page.locator("th[aria-sort=ascending]")).to_have_count(1)
        ids = _row_ids(rep)
        assert ids == sorted(ids)
        page.click("th >> a[data-sort=id]")
        page.wait_for_load_state()
        assert _query(rep)["sort"] == ["-id"]
        ids = _row_ids(rep)
        assert ids == sorted(ids, reverse=True)
        assert page.input_value("#list-q") == "0"

        # A bookmark: the same URL in a new tab shows the same view.
        again = rep.context.new_page()
        again.goto(page.url)
        assert again.input_value("#list-q") == "0"
        assert again.locator("#list-status").input_value() == "new"
        again.close()

    def test_the_pager_keeps_the_filter(self, session_for: Open, live_server: LiveServer) -> None:
        rep = session_for("rep1")
        page = rep.go("/rep/?tab=all&sort=received")
        nxt = page.locator("a[rel=next]")
        if nxt.count() == 0:
            pytest.fail("the demo's rep list has a single page: nothing to page through")
        nxt.first.click()
        page.wait_for_load_state()
        assert _query(rep)["sort"] == ["received"]
        assert _query(rep)["page"] == ["2"]
        actor = live_server.services.directory.rep("rep1")
        assert actor is not None
        expected = live_server.services.desk.search(
            actor, Tab.ALL, LeadFilter(sort=SortKey.RECEIVED), page=2, per_page=20
        )
        assert _row_ids(rep) == [r.lead.id for r in expected.items]

    def test_bad_input_is_a_message(self, session_for: Open) -> None:
        rep = session_for("rep1")
        page = rep.go("/rep/?tab=all&from=2026-11-20&to=2026-11-01")
        expect(page.locator("#list-error")).to_contain_text("nicht vor dem Anfang")
        assert _row_ids(rep)
        page.click("#list-reset")
        page.wait_for_load_state()
        assert _query(rep) == {"tab": ["all"]}
        expect(page.locator("#list-error")).to_have_count(0)
        assert not [e for e in rep.errors if re.search("Content Security Policy", e)]


class TestInstallerSearch:
    def test_the_installer_searches_his_tab(self, session_for: Open) -> None:
        installer = session_for("installer1")
        page = installer.go("/installer/tab/all")
        expect(page.locator("#list-installer")).to_have_count(0)
        page.fill("#list-q", "Leipzig")
        page.press("#list-q", "Enter")
        page.wait_for_load_state()
        assert _query(installer) == {"q": ["Leipzig"]}
        cities = page.locator("tr[data-lead-id] td:nth-child(2)").all_inner_texts()
        assert all("Leipzig" in text for text in cities)
        assert not installer.errors
