"""Response headers: no server banner naming werkzeug or Python, nothing with personal
data cached, HSTS over HTTPS (also behind a trusted reverse proxy)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from portal_support import NOW, copy_database, log_in, portal_config
from werkzeug.serving import make_server

from examples.admin_app import __main__ as portal_main
from examples.admin_app import create_app
from examples.admin_app.api import create_source_token
from examples.admin_app.security import SERVER_NAME, PortalRequestHandler
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.model import LeadSource

BANNER_WORDS = ("werkzeug", "python")


@pytest.fixture
def served(app: Flask) -> Iterator[tuple[str, int]]:
    """The app on werkzeug's server with the portal's request handler, as
    ``python -m examples.admin_app`` serves it."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=PortalRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.shutdown()
        thread.join(5)


def banner_free(headers: list[tuple[str, str]]) -> bool:
    text = "\n".join(f"{k}: {v}" for k, v in headers).lower()
    return not any(word in text for word in BANNER_WORDS)


class TestServerBanner:
    def test_the_portal_server_names_no_versions(self, served: tuple[str, int]) -> None:
        conn = http.client.HTTPConnection(*served, timeout=10)
        conn.request("GET", "/login")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Server") == SERVER_NAME
        assert len([k for k, _v in response.getheaders() if k.lower() == "server"]) == 1
        assert banner_free(response.getheaders())

    def test_the_servers_own_error_page_names_no_versions(self, served: tuple[str, int]) -> None:
        """A request the HTTP server refuses before the app sees it."""
        with socket.create_connection(served, timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
            raw = b""
            while chunk := sock.recv(4096):
                raw += chunk
        head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        assert head.split("\r\n")[0].split(" ")[1] == "431"
        assert f"Server: {SERVER_NAME}" in head
        assert not any(word in head.lower() for word in BANNER_WORDS)

    def test_the_demo_command_serves_with_the_portal_handler(
        self, tmp_path: Path, monkeypatch: Any
    ) -> None:
        """The demo (the one use of the development server: without ``--demo`` it
        refuses) answers through the portal's handler, which sends no Werkzeug banner."""
        seen: dict[str, Any] = {}

        def run(app: Flask, **options: Any) -> None:
            seen.update(options)
            app.extensions["qleads"].close()

        monkeypatch.setattr(Flask, "run", run)
        monkeypatch.setenv("QLEADS_SECRET_KEY", "a-secret-for-this-test")
        database = f"sqlite:///{tmp_path / 'main.sqlite'}"
        assert (
            portal_main.main(["--demo", "--db", database, "--no-background", "--port", "5099"]) == 0
        )
        assert seen["request_handler"] is PortalRequestHandler


class TestNoStore:
    def test_every_page_of_a_logged_in_user_is_no_store(
        self, client: FlaskClient, login: Any
    ) -> None:
        login(client, "rep1")
        for url in ("/rep/", "/leads/1", "/mails/", "/account/password", "/rep/installers"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store", url

    def test_admin_pages_and_exports_are_no_store(self, client: FlaskClient, login: Any) -> None:
        login(client, "admin")
        for url in ("/admin/", "/admin/users/", "/admin/installers/export/csv/"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == "no-store", url

    def test_every_api_answer_is_no_store(self, client: FlaskClient, services: Services) -> None:
        services.directory.add_source(LeadSource("hdr-calc", "Header-Rechner"))
        token = create_source_token(services.directory, "hdr-calc")
        answers = [
            client.post("/api/v1/leads", json={}, headers={"Authorization": f"Bearer {token}"}),
            client.post("/api/v1/leads", json={}),
            client.get("/api/v1/openapi.json"),
        ]
        for response in answers:
            assert response.headers["Cache-Control"] == "no-store", response.status

    def test_login_and_error_pages_are_no_store(self, client: FlaskClient) -> None:
        for url in ("/login", "/password/forgot", "/no-such-page"):
            assert client.get(url).headers["Cache-Control"] == "no-store", url

    def test_static_files_may_be_cached(self, client: FlaskClient) -> None:
        response = client.get("/static/portal.css")
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


class TestStrictTransportSecurity:
    def test_https_answers_carry_hsts(self, client: FlaskClient) -> None:
        response = client.get("/login", base_url="https://portal.test")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"

    def test_plain_http_answers_do_not(self, client: FlaskClient) -> None:
        assert "Strict-Transport-Security" not in client.get("/login").headers

    def test_a_forwarded_https_counts_only_behind_a_trusted_proxy(
        self, client: FlaskClient, demo_database: Path, tmp_path: Path
    ) -> None:
        forwarded = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "198.51.100.20",
            "Referer": "https://localhost/login",  # Flask-WTF's strict check over HTTPS
        }
        # without QLEADS_PROXY_COUNT anyone could claim HTTPS (or another address)
        assert "Strict-Transport-Security" not in client.get("/login", headers=forwarded).headers
        database = tmp_path / "proxied.sqlite"
        copy_database(demo_database, database)
        proxied = create_app(
            portal_config(
                database,
                FrozenClock(NOW),
                QLEADS_PROXY_COUNT=1,
                QLEADS_RATELIMIT_LOGIN_CLIENT="3 per 15 minutes",
            )
        )
        try:
            response = proxied.test_client().get("/login", headers=forwarded)
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
            # the throttle sees the client behind the proxy, not the proxy
            bot = proxied.test_client()
            for n in range(3):
                assert log_in(bot, f"x{n}", "falsch", headers=forwarded).status_code == 200
            assert log_in(bot, "x", "falsch", headers=forwarded).status_code == 429
            assert log_in(bot, "installer1", "demo").status_code == 302
        finally:
            proxied.extensions["qleads"].close()
