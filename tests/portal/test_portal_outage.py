"""The portal while its database is away (R15): pages answer 503 in German and English,
the intake API 503 ``application/problem+json``, never a 500 or a stack trace; and
after a restart no request fails.

The portal runs on PostgreSQL behind a TCP proxy (``tests/integration/tcp_proxy.py``)
that plays the outage: ``refuse()`` is a server that is down, ``drop()`` one that has
restarted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from portal_support import NOW, csrf_token, log_in, portal_config, post_form

from examples.admin_app import create_app
from examples.admin_app.api import create_source_token
from examples.admin_app.services import Services
from qleads.adapters.clock import FrozenClock
from qleads.model import LeadSource
from qleads.tabs import Tab

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(INTEGRATION) not in sys.path:  # the TCP proxy lives with the outage tests
    sys.path.insert(0, str(INTEGRATION))

from tcp_proxy import TcpProxy  # noqa: E402

pytestmark = pytest.mark.postgres

GERMAN = "Vorübergehend nicht erreichbar"
ENGLISH = "Temporarily unavailable"


@pytest.fixture(scope="module")
def proxy(postgres_module_url: str) -> Iterator[TcpProxy]:
    with TcpProxy.in_front_of(postgres_module_url) as running:
        yield running


@pytest.fixture(scope="module")
def app(
    postgres_module_url: str, proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The demo portal on PostgreSQL, reached through the proxy (loaded once: the demo
    data takes a while on PostgreSQL)."""
    config = portal_config(
        tmp_path_factory.mktemp("outage") / "unused.sqlite",
        FrozenClock(NOW),
        QLEADS_DATABASE_URL=proxy.url(postgres_module_url),
    )
    portal = create_app(config)
    assert portal.extensions["qleads"].engine.dialect.name == "postgresql"
    yield portal
    portal.extensions["qleads"].close()


@pytest.fixture
def services(app: Flask) -> Services:
    found = app.extensions["qleads"]
    assert isinstance(found, Services)
    return found


@pytest.fixture
def client(app: Flask, proxy: TcpProxy) -> Iterator[FlaskClient]:
    proxy.restore()
    yield app.test_client()
    proxy.restore()


def unavailable(response: Any) -> str:
    """Assert the 503 page; return its text."""
    page = str(response.get_data(as_text=True))
    assert response.status_code == 503, page[:500]
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "30"
    assert GERMAN in page
    assert ENGLISH in page
    assert "Traceback" not in page
    return page


class TestPages:
    def test_a_database_gone_mid_request_is_a_503_page(
        self, client: FlaskClient, services: Services, proxy: TcpProxy, monkeypatch: Any
    ) -> None:
        """The user was loaded, then the database went away before the lists were read
        (the start page reads them through ``LeadDesk.search``): 503 in German and
        English; once it is back, the page works again."""
        log_in(client, "installer1")
        assert client.get("/installer/").status_code == 200
        real_search = services.desk.search

        def search_during_outage(*args: Any, **kwargs: Any) -> Any:
            proxy.refuse()
            return real_search(*args, **kwargs)

        monkeypatch.setattr(services.desk, "search", search_during_outage)
        page = unavailable(client.get("/installer/"))
        assert page.index(GERMAN) < page.index(ENGLISH)
        assert '<html lang="de">' in page
        monkeypatch.undo()
        proxy.restore()
        assert client.get("/installer/").status_code == 200

    def test_a_database_down_before_the_request_is_a_503_page(
        self, client: FlaskClient, proxy: TcpProxy
    ) -> None:
        """The portal's own tables (the logged-in user) fail first: 503 too, for pages
        and for actions, and no 500."""
        log_in(client, "installer1")
        proxy.refuse()
        unavailable(client.get("/installer/"))
        unavailable(client.get(f"/installer/tab/{Tab.NEW.value}"))
        proxy.restore()
        token = csrf_token(client, "/installer/")
        proxy.refuse()
        unavailable(post_form(client, "/leads/1/claim", token=token))

    def test_the_login_form_answers_503_without_the_database(
        self, client: FlaskClient, proxy: TcpProxy
    ) -> None:
        client.get("/login")  # the session (and its CSRF token) before the outage
        proxy.refuse()
        unavailable(log_in(client, "installer1"))

    def test_an_english_session_gets_english_first(
        self, client: FlaskClient, proxy: TcpProxy
    ) -> None:
        log_in(client, "installer2")
        post_form(client, "/language", {"language": "en", "next": "/installer/"})
        proxy.refuse()
        page = unavailable(client.get("/installer/"))
        assert page.index(ENGLISH) < page.index(GERMAN)
        assert '<html lang="en">' in page

    def test_after_a_restart_no_request_fails(self, client: FlaskClient, proxy: TcpProxy) -> None:
        """The restart killed the pooled connections between two requests; they are
        replaced before use, so the next request does not notice."""
        log_in(client, "installer1")
        assert client.get("/installer/").status_code == 200
        accepted = proxy.accepted
        assert proxy.drop() >= 1
        assert client.get("/installer/").status_code == 200
        assert client.get(f"/installer/tab/{Tab.ALL.value}").status_code == 200
        assert proxy.accepted > accepted


class TestIntakeApi:
    @pytest.fixture
    def token(self, services: Services) -> str:
        if services.directory.source("outage-calc") is None:
            services.directory.add_source(LeadSource("outage-calc", "Ausfall-Rechner"))
        return create_source_token(services.directory, "outage-calc")

    def submit(self, client: FlaskClient, token: str, key: str) -> Any:
        return client.post(
            "/api/v1/leads",
            data=json.dumps({"source_id": key}),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            content_type="application/json",
        )

    def problem_503(self, response: Any) -> None:
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"]
        assert response.get_json()["status"] == 503

    def test_a_database_that_is_down_is_503_problem_json(
        self, client: FlaskClient, token: str, proxy: TcpProxy
    ) -> None:
        proxy.refuse()
        self.problem_503(self.submit(client, token, "down-1"))

    def test_a_database_gone_after_the_token_check_is_503_problem_json(
        self, client: FlaskClient, token: str, services: Services, proxy: TcpProxy, monkeypatch: Any
    ) -> None:
        """The token was checked, then the database went away: the portal's own
        idempotency table (SQLAlchemy, not qleads) fails, and the answer is the same
        503 problem."""
        real = services.directory.source_by_token

        def check_then_fail(*args: Any, **kwargs: Any) -> Any:
            found = real(*args, **kwargs)
            proxy.refuse()
            return found

        monkeypatch.setattr(services.directory, "source_by_token", check_then_fail)
        self.problem_503(self.submit(client, token, "gone-1"))
