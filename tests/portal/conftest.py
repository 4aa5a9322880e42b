"""Fixtures of the portal tests.

``app`` is a fresh portal on its own SQLite file holding the demo data, with a frozen
clock (:data:`portal_support.NOW`), background jobs off, ``TESTING`` on and CSRF
protection ON (forms in tests carry the token like a browser's do). The demo data is
generated once per test session and copied for each test, so tests never share a database.
Helpers: the ``login`` and ``post`` fixtures (or import them from ``portal_support``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``examples`` is a top-level package of the repository
    sys.path.insert(0, str(ROOT))

from portal_support import NOW, copy_database, log_in, portal_config, post_form  # noqa: E402

from examples.admin_app import create_app  # noqa: E402
from examples.admin_app.services import Services  # noqa: E402
from qleads.adapters.clock import FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data, generated once as of :data:`NOW`."""
    path = tmp_path_factory.mktemp("demo") / "template.sqlite"
    app = create_app(portal_config(path, FrozenClock(NOW)))
    app.extensions["qleads"].close()
    return path


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def app(demo_database: Path, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    database = tmp_path / "portal.sqlite"
    copy_database(demo_database, database)
    app = create_app(portal_config(database, clock))
    yield app
    app.extensions["qleads"].close()


@pytest.fixture
def services(app: Flask) -> Services:
    found = app.extensions["qleads"]
    assert isinstance(found, Services)
    return found


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(name="login")
def login_fixture() -> Any:
    """``login(client, username, password="demo")``: log in through the form."""
    return log_in


@pytest.fixture(name="post")
def post_fixture() -> Any:
    """``post(client, url, data)``: POST a form with the session's CSRF token."""
    return post_form
