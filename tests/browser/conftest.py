"""A live portal and Debian's Chromium for the browser tests.

Each test gets its own server: a copy of the demo database (generated once per session,
as of a fixed "now"), served by werkzeug's threaded server on a free 127.0.0.1 port in a
background thread, with the sweeper/dispatcher thread running every 0.2 s so that mails
appear as they would in the demo.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``examples`` is a top-level package of the repository
    sys.path.insert(0, str(ROOT))

from examples.admin_app import create_app  # noqa: E402
from examples.admin_app.background import run_once  # noqa: E402
from examples.admin_app.security import PortalRequestHandler  # noqa: E402
from examples.admin_app.services import Services  # noqa: E402
from qleads.adapters.clock import FrozenClock  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: "Now" inside the live portal: a Friday morning.
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
SCREENSHOTS = ROOT / "docs" / "screenshots"


def _config(database: Path, clock: FrozenClock, *, background: bool) -> dict[str, Any]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "QLEADS_DATABASE_URL": f"sqlite:///{database}",
        "QLEADS_DEMO": True,
        "QLEADS_BACKGROUND": background,
        "QLEADS_SWEEP_INTERVAL": 0.2,
        "QLEADS_CLOCK": clock,
    }


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser-demo") / "template.sqlite"
    app = create_app(_config(path, FrozenClock(NOW), background=False))
    # The demo's deadlines are due at NOW: fire them and deliver their mails once here, so
    # that every live server starts with an empty outbox and a mail a test causes is sent
    # in the next round instead of waiting behind the demo's backlog.
    run_once(app.extensions["qleads"])
    app.extensions["qleads"].close()
    return path


@attrs.define
class LiveServer:
    app: Flask
    server: BaseWSGIServer
    url: str

    @property
    def services(self) -> Services:
        found = self.app.extensions["qleads"]
        assert isinstance(found, Services)
        return found


@contextlib.contextmanager
def serve(demo_template: Path, folder: Path) -> Iterator[LiveServer]:
    """A live portal on a copy of the demo database in ``folder``."""
    database = folder / "live.sqlite"
    with sqlite3.connect(demo_template) as src, sqlite3.connect(database) as dst:
        src.backup(dst)
    app = create_app(_config(database, FrozenClock(NOW), background=True))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=PortalRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-portal", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, server, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["qleads.background"].stop()
        app.extensions["qleads"].close()


@pytest.fixture
def live_server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    with serve(demo_template, tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get)"
        if os.environ.get("QLEADS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@attrs.define
class Session:
    """One user in one browser context; ``errors`` collects console errors (a CSP
    violation shows up there)."""

    context: BrowserContext
    page: Page
    base: str
    errors: list[str]

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page


@pytest.fixture
def session_for(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Session]]:
    """``session_for("installer1")``: a logged-in user in a browser context of his own."""
    opened: list[Session] = []

    def open_session(username: str) -> Session:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        session = Session(context, page, live_server.url, errors)
        session.go("/login")
        page.fill("#username", username)
        page.fill("#password", "demo")
        page.click("form.stacked button[type=submit]")
        page.wait_for_load_state()
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.context.close()


@attrs.define
class Screenshots:
    """Where the tests would put the pictures of ``docs/portal.md``. They are written
    only when ``QLEADS_WRITE_SCREENSHOTS=1``, so that a normal run leaves the working
    tree as it was; set it once to refresh them after a change of the screens."""

    folder: Path
    enabled: bool

    def take(self, page: Page, name: str, *, full_page: bool = True) -> None:
        if self.enabled:
            self.folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(self.folder / name), full_page=full_page)


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots(SCREENSHOTS, os.environ.get("QLEADS_WRITE_SCREENSHOTS") == "1")
