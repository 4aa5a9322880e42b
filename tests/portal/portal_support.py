"""Helpers of the portal tests, importable from test modules (``conftest`` is not).

Forms carry Flask-WTF's CSRF token (protection is on in every portal test): a test reads
it with :func:`csrf_token` and sends a form with :func:`post_form` or :func:`log_in`, the
one place that knows where the token sits; no test builds the token field itself.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sqlite3
import sys
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``examples`` is a top-level package of the repository
    sys.path.insert(0, str(ROOT))

from qleads.adapters.clock import FrozenClock  # noqa: E402

#: "Now" for the portal tests: a Friday morning in Leipzig.
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)

#: The hidden field Flask-WTF renders into every form; the only place that knows it.
_CSRF = re.compile(r'(name="csrf_token" type="hidden" value=")([^"]+)(")')


def portal_config(database: Path, clock: FrozenClock, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "QLEADS_DATABASE_URL": f"sqlite:///{database}",
        "QLEADS_DEMO": True,
        "QLEADS_BACKGROUND": False,
        "QLEADS_CLOCK": clock,
        "QLEADS_BASE_URL": "http://portal.test",
        "WTF_CSRF_ENABLED": True,
        **extra,
    }


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a WAL-mode SQLite file (the backup API, not a file copy)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def csrf_token(client: FlaskClient, page: str = "/login") -> str:
    """The CSRF token of the client's session, read from the form on ``page``."""
    html = client.get(page).get_data(as_text=True)
    found = _CSRF.search(html)
    assert found is not None, f"no CSRF token on {page}"
    return found.group(2)


def without_csrf_token(html: str) -> str:
    """``html`` with its CSRF tokens' values blanked: two sessions' pages differ in
    nothing else."""
    return _CSRF.sub(r"\1\3", html)


def post_form(
    client: FlaskClient,
    url: str,
    data: dict[str, Any] | None = None,
    *,
    form: str = "/mails/",
    token: str | None = None,
    method: str = "POST",
    **kw: Any,
) -> Any:
    """Send ``data`` to ``url`` as a browser submits a form: with the session's CSRF
    token, read from the form on ``form`` (a page of the logged-in portal by default),
    or ``token`` as given (one read before the database went away, a forged one).
    ``kw`` goes to the request (``headers=…``)."""
    if token is None:
        token = csrf_token(client, form)
    return client.open(url, method=method, data={"csrf_token": token, **(data or {})}, **kw)


def log_in(client: FlaskClient, username: str, password: str = "demo", **kw: Any) -> Any:
    """Log in through the form, as a browser does; returns the response (a redirect).
    ``kw`` goes to the POST (``headers=…``)."""
    return post_form(
        client, "/login", {"username": username, "password": password}, form="/login", **kw
    )


def session_cookie(client: FlaskClient) -> str:
    """The raw value of the client's session cookie, as an attacker would copy it."""
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(client: FlaskClient, cookie: str) -> FlaskClient:
    """``client`` (a fresh one: another browser) carrying nothing but a copied cookie."""
    client.set_cookie("session", cookie)
    return client
