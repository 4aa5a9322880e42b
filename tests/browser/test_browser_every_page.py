"""Every page of every role, found by following the links a user can click: on a phone
(390×844) none scrolls sideways, none breaks the Content Security Policy (no violation
event, no inline handler or ``javascript:`` link waiting to become one) and axe-core finds
nothing serious or critical on any of them, on the phone or on a desktop (1280 px).

The pages are not listed here: a crawl from each role's start page finds them, and
:func:`test_every_page_of_the_url_map_is_reached` holds the crawl against the app's URL
map, so a page added later is checked the moment a link leads to it — and a page no link
leads to fails that test until it is linked or named in :data:`NOT_CRAWLED`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import LiveServer, Screenshots, serve  # type: ignore[import-not-found]
from flask import Flask
from playwright.sync_api import Browser, Page
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
#: The phone widths the layout is for besides 390 px: every page is checked at them too.
OTHER_WIDTHS = (360, 414)
#: axe-core runs at both widths: the phone's menu and cards, the desktop's bars and tables.
DESKTOP = {"width": 1280, "height": 900}
#: Who is crawled; ``None`` is a visitor who is not logged in.
ROLES = (None, "installer1", "rep1", "admin")
INVALID_RESET = "/password/reset/not-a-valid-token"
#: Where the crawl of a role starts; a visitor also gets the page of a reset link that
#: is not (or no longer) valid, which no link leads to, and the admin a searched list.
START_PAGES: dict[str | None, tuple[str, ...]] = {
    None: ("/login", INVALID_RESET),
    "installer1": ("/",),
    "rep1": ("/",),
    "admin": ("/", "/admin/users/?search=installer"),  # and a list with a search
}
#: Endpoints that are not pages: files, the API, POST-only forms, a download, and what
#: load balancers and monitoring ask (health checks and metrics, answered in JSON or in
#: Prometheus' text format, opened by no person).
NOT_CRAWLED = (
    "static",
    "admin.static",
    "api.",
    "auth.logout",
    "auth.language",
    "leads.claim",
    "leads.assign",
    ".export",
    ".delete_view",
    ".action_view",
    ".ajax_",
    "sources.issue_token",
    "favicon",
    "ops_health.healthz",
    "ops_health.readyz",
    "ops_metrics",
)
#: Pages the demo offers no link to, and the page with the same template that stands for
#: them: the demo has no failed mail, whose details are shown as any outbox row's.
SAME_PAGE_AS = {"failed_mails.details_view": "outbox.details_view"}
#: How many pages of one endpoint the crawl opens (lists with other sortings …).
PER_ENDPOINT = 2
#: Query parameters whose values make another page (the rep's tab); the values of the
#: others (ids, paging, return URLs) do not.
DISTINCT_VALUES = frozenset({"tab"})
#: axe-core's impacts that fail the test.
SERIOUS = frozenset({"serious", "critical"})

_WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
_INLINE_HANDLERS = """
() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const value = attr.value.trim().toLowerCase();
      if (attr.name.startsWith("on") || value.startsWith("javascript:")) {
        const tag = el.tagName.toLowerCase();
        found.push(`<${tag} class="${el.className}" ${attr.name}="${attr.value}">`);
      }
    }
  }
  return found;
}
"""


_UNLABELLED = """
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((e) => !["hidden", "submit", "button", "reset", "image"].includes(e.type))
  .filter((e) => e.getClientRects().length > 0)
  .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label")
    && !e.getAttribute("aria-labelledby"))
  .map((e) => `${e.tagName.toLowerCase()}#${e.id}[name=${e.name}]`)
"""


@attrs.frozen
class PageReport:
    url: str
    endpoint: str
    scroll_width: int
    viewport_width: int
    #: Too wide at the other phone widths (:data:`OTHER_WIDTHS`).
    too_wide_elsewhere: tuple[str, ...]
    csp: tuple[str, ...]
    axe: tuple[str, ...]
    status: int
    missing: tuple[str, ...]
    unlabelled: tuple[str, ...]


@attrs.define
class Survey:
    """What the crawl found for one role."""

    pages: list[PageReport] = attrs.Factory(list)

    @property
    def endpoints(self) -> set[str]:
        return {p.endpoint for p in self.pages}


def _skipped(endpoint: str) -> bool:
    return any(endpoint == n or endpoint.startswith(n) or n in endpoint for n in NOT_CRAWLED)


def _key(adapter: MapAdapter, url: str) -> tuple[str, tuple[Any, ...]] | None:
    parts = urlsplit(url)
    try:
        endpoint, args = adapter.match(parts.path, method="GET")
    except HTTPException:
        return None
    if _skipped(endpoint):
        return None
    shape = tuple(sorted((k, v) for k, v in args.items() if not isinstance(v, int)))
    query = tuple(
        sorted({(k, v if k in DISTINCT_VALUES else "") for k, v in parse_qsl(parts.query)})
    )
    return endpoint, (shape, query)


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()


def _links(page: Page, base: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    return [h.split("#", 1)[0] for h in hrefs if h.startswith(base + "/")]


def crawl(browser: Browser, server: LiveServer, username: str | None) -> Survey:
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    context.add_init_script(_WATCH_CSP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    missing: list[str] = []
    page.on(
        "response",
        lambda r: (
            missing.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    adapter = server.app.url_map.bind("127.0.0.1")
    axe = Axe()
    survey = Survey()
    try:
        if username is not None:
            _log_in(page, server.url, username)
        queue = [server.url + p for p in START_PAGES[username]]
        seen: set[tuple[str, tuple[Any, ...]]] = set()
        per_endpoint: dict[str, int] = {}
        while queue:
            url = queue.pop(0)
            key = _key(adapter, url.removeprefix(server.url))
            if key is None or key in seen or per_endpoint.get(key[0], 0) >= PER_ENDPOINT:
                continue
            seen.add(key)
            per_endpoint[key[0]] = per_endpoint.get(key[0], 0) + 1
            console.clear()
            missing.clear()
            response = page.goto(url)
            page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            inner = page.evaluate("window.innerWidth")
            narrower = []
            for other in OTHER_WIDTHS:  # the smallest and the largest phone as well
                page.set_viewport_size({"width": other, "height": PHONE["height"]})
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > other:
                    narrower.append(f"{wide}px at {other}px")
            page.set_viewport_size(PHONE)
            violations = page.evaluate("window.__csp")
            handlers = page.evaluate(_INLINE_HANDLERS)
            unlabelled = page.evaluate(_UNLABELLED)
            refused = [m for m in console if "Content Security Policy" in m]
            found = [(PHONE["width"], v) for v in axe.run(page).response["violations"]]
            page.set_viewport_size(DESKTOP)
            found += [(DESKTOP["width"], v) for v in axe.run(page).response["violations"]]
            page.set_viewport_size(PHONE)
            survey.pages.append(
                PageReport(
                    url=url.removeprefix(server.url),
                    endpoint=key[0],
                    scroll_width=int(width),
                    viewport_width=int(inner),
                    too_wide_elsewhere=tuple(narrower),
                    csp=tuple(violations + handlers + refused),
                    axe=tuple(
                        f"{at}px {v['id']} ({v['impact']}): "
                        + "; ".join(str(n["target"]) for n in v["nodes"][:3])
                        for at, v in found
                        if v["impact"] in SERIOUS
                    ),
                    status=response.status if response else 0,
                    missing=tuple(missing),
                    unlabelled=tuple(unlabelled),
                )
            )
            queue.extend(_links(page, server.url))
    finally:
        context.close()
    return survey


@pytest.fixture(scope="module")
def portal(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One portal for the whole module: the crawl only reads."""
    with serve(demo_template, tmp_path_factory.mktemp("every-page")) as server:
        yield server


@pytest.fixture(scope="module")
def surveys(browser: Browser, portal: LiveServer) -> dict[str | None, Survey]:
    return {role: crawl(browser, portal, role) for role in ROLES}


def _label(role: str | None) -> str:
    return role or "anonymous"


@pytest.mark.parametrize("role", ROLES, ids=_label)
def test_no_page_scrolls_sideways_on_a_phone(
    surveys: dict[str | None, Survey], role: str | None
) -> None:
    survey = surveys[role]
    assert len(survey.pages) >= 3, survey.pages
    wide = [
        f"{p.url}: {p.scroll_width}px" for p in survey.pages if p.scroll_width > p.viewport_width
    ]
    wide += [
        f"{p.url}: {', '.join(p.too_wide_elsewhere)}" for p in survey.pages if p.too_wide_elsewhere
    ]
    assert wide == [], f"wider than {PHONE['width']}px for {_label(role)}: {wide}"


@pytest.mark.parametrize("role", ROLES, ids=_label)
def test_no_page_breaks_the_content_security_policy(
    surveys: dict[str | None, Survey], role: str | None
) -> None:
    broken = {p.url: p.csp for p in surveys[role].pages if p.csp}
    assert broken == {}


@pytest.mark.parametrize("role", ROLES, ids=_label)
def test_axe_finds_nothing_serious_on_any_page(
    surveys: dict[str | None, Survey], role: str | None
) -> None:
    found = {p.url: p.axe for p in surveys[role].pages if p.axe}
    assert found == {}


@pytest.mark.parametrize("role", ROLES, ids=_label)
def test_every_form_field_has_a_label(surveys: dict[str | None, Survey], role: str | None) -> None:
    """A label element, or an ``aria-label``: never a placeholder alone."""
    found = {p.url: p.unlabelled for p in surveys[role].pages if p.unlabelled}
    assert found == {}


@pytest.mark.parametrize("role", ROLES, ids=_label)
def test_every_crawled_page_answers(surveys: dict[str | None, Survey], role: str | None) -> None:
    """Every page answers, and so does everything it loads (styles, scripts, the icon)."""
    failed = {
        p.url: p.status for p in surveys[role].pages if p.status >= 400 and p.url != INVALID_RESET
    }
    assert failed == {}
    missing = {p.url: p.missing for p in surveys[role].pages if p.missing}
    assert missing == {}


def _switched_off(app: Flask) -> set[str]:
    """The admin's create, edit and details pages of views that turn them off for
    everybody (a view that decides per user has a property here, and stays in)."""
    flags = {
        "can_create": "create_view",
        "can_edit": "edit_view",
        "can_view_details": "details_view",
    }
    off = set()
    for view in app.extensions["qleads_admin"]._views:
        for flag, page in flags.items():
            if getattr(type(view), flag, None) is False:
                off.add(f"{view.endpoint}.{page}")
    return off


def test_every_page_of_the_url_map_is_reached(
    surveys: dict[str | None, Survey], portal: LiveServer
) -> None:
    """A page that no role reaches by a link is a page no check above has seen."""
    pages = {
        rule.endpoint
        for rule in portal.app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not _skipped(rule.endpoint)
    } - _switched_off(portal.app)
    reached = set().union(*(s.endpoints for s in surveys.values()))
    reached |= {page for page, same in SAME_PAGE_AS.items() if same in reached}
    unreached = sorted(pages - reached)
    assert unreached == [], "no link leads to: " + ", ".join(unreached)


def test_phone_screenshots(browser: Browser, portal: LiveServer, screenshots: Screenshots) -> None:
    """The phone pictures of ``docs/portal.md``: the installer's start page with the
    lists as cards and the menu closed, and a lead's detail page."""
    context = browser.new_context(viewport=PHONE, locale="de-DE", device_scale_factor=1)
    page = context.new_page()
    try:
        _log_in(page, portal.url, "installer1")
        expect_cards = page.locator("#available table.leads tbody tr").first
        assert expect_cards.evaluate("e => getComputedStyle(e).display") != "table-row"
        screenshots.take(page, "phone-start.png", full_page=False)
        page.goto(portal.url + "/leads/1")
        page.locator("#claim").scroll_into_view_if_needed()
        assert page.locator("#claim").is_visible()
        screenshots.take(page, "phone-detail.png", full_page=False)
    finally:
        context.close()
