"""The partner scorecard and "Zuordnung prüfen" in a real browser: sorting by a column
through the headings' links, the SVG charts, the routing form — no script errors, nothing
the CSP blocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import Session  # type: ignore[import-not-found]
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

Open = Callable[[str], Session]


class TestScorecard:
    def test_rep_sorts_his_installers_by_a_column(self, session_for: Open) -> None:
        rep = session_for("rep1")
        page = rep.go("/partners/")
        expect(page.locator("#scorecards")).to_contain_text("Solartechnik Müller GmbH")
        expect(page.locator("svg.chart")).to_have_count(2)
        page.click('#scorecards th a[data-column="claimed"]')
        expect(page.locator('#scorecards th[aria-sort="ascending"]')).to_contain_text("Beansprucht")
        page.click('#scorecards th a[data-column="claimed"]')
        expect(page.locator('#scorecards th[aria-sort="descending"]')).to_contain_text(
            "Beansprucht"
        )
        assert rep.errors == []

    def test_installer_sees_his_own_row(self, session_for: Open) -> None:
        one = session_for("installer1")
        page = one.go("/installer/")
        page.click("nav.mainnav >> text=Scorecard")
        expect(page.locator("#scorecards tbody tr")).to_have_count(1)
        assert one.errors == []


class TestRoutingCheck:
    def test_admin_checks_a_postal_code(self, session_for: Open) -> None:
        admin = session_for("admin")
        page = admin.go("/routing/")
        page.fill("#postal_code", "04107")
        page.click("#explain")
        expect(page.locator("#explanation #territory")).to_contain_text("Gebiet")
        expect(page.locator('#installers tr[data-installer="installer1"]')).to_be_visible()
        assert admin.errors == []
