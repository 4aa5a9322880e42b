"""Fixtures shared by every test layer, and the Hypothesis profile they run under.

PostgreSQL tests ask for ``postgres_url``: a fresh database of their own, dropped at the end,
so that parallel runs and other suites never see each other's rows. Without a reachable
server they skip with the reason, unless ``QLEADS_REQUIRE_POSTGRES=1`` (CI) makes that a
failure.

The profiles of :mod:`qleads.testing.profiles` (``dev``, ``ci``, ``thorough``) are
registered here, once, and ``HYPOTHESIS_PROFILE`` picks one (``ci`` when unset) before any
test module is imported; pytest's ``--hypothesis-profile`` overrides it.

The layers are marked here too, by directory, so that a new test cannot miss its mark:
every test of the slow layers (:data:`SLOW_LAYERS`: state machines, real servers and
subprocesses, a portal per test, a browser) is ``slow``, a browser test ``browser``, a
test that takes a PostgreSQL database ``postgres``. ``pytest -m "not slow"`` leaves the
unit and contract layers: the fast inner loop.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from qleads.testing.profiles import load_profile, register_profiles

register_profiles()
load_profile()

POSTGRES_URL = os.environ.get(
    "QLEADS_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("QLEADS_REQUIRE_POSTGRES") == "1"


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _server_reachable() -> str | None:
    try:
        with _admin_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect is the reason we report
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}"
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (CI) when the server is missing."""
    reason = _server_reachable()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"QLEADS_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _fresh_database() -> Iterator[str]:
    require_postgres()
    name = f"qleads_t_{uuid.uuid4().hex[:12]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL database that exists for this test only."""
    yield from _fresh_database()


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    """Like ``postgres_url`` but shared by the tests of one module (cheaper)."""
    yield from _fresh_database()


TESTS = Path(__file__).parent
#: The layers whose every test is slow; unit and contract make the fast inner loop.
SLOW_LAYERS = frozenset({"stateful", "integration", "portal", "browser", "packaging"})
_POSTGRES_FIXTURES = frozenset({"postgres_url", "postgres_module_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = item.path.relative_to(TESTS).parts[0]
        if layer in SLOW_LAYERS:
            item.add_marker(pytest.mark.slow)
        if layer == "browser":
            item.add_marker(pytest.mark.browser)
        if _POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
