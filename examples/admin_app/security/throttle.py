"""Throttling with Flask-Limiter: failed logins, "Passwort vergessen" and the intake API.

One :class:`~flask_limiter.Limiter` per app, made by :func:`init_throttle` in
``create_app`` (nothing at import time). Its counters live in the store that
``QLEADS_RATELIMIT_STORAGE_URI`` names; the default ``memory://`` counts per process, so
several processes or hosts would each allow the full limit — they need one shared store
(``redis://…``). When that store cannot be reached the limiter counts in memory until it
is back, so an outage of the store neither opens the portal to guessing nor takes it down.

Windows move (Flask-Limiter's ``moving-window``): "10 per 15 minutes" means at most ten in
any 15 minutes, not twenty across the turn of a fixed window.

The login counts only *failed* attempts (the view calls :func:`count_failure`), per
submitted user name — whether such an account exists or not, so the limit tells nothing
about accounts — and per client address. A full bucket refuses every attempt with 429,
the right password too, until the window moves on: the answer never confirms a guess.
The intake API counts every request per bearer token, and requests that fail to
authenticate per client address, checked before the token is even looked up.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, make_response, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from werkzeug.wrappers import Response

__all__ = [
    "EXTENSION_KEY",
    "account_key",
    "client_address",
    "count_failure",
    "current_limiter",
    "init_throttle",
    "limit_failures",
    "limit_intake",
    "limit_requests",
    "retry_after",
]

EXTENSION_KEY = "qleads.limiter"
_FAILED = "_qleads_throttle_failed"


def client_address() -> str:
    """Who is asking: the client's IP address; for IPv6 its /64 network, which one
    subscriber usually owns whole (counting single addresses there would let one client
    count as billions). Behind a reverse proxy this is only right with
    ``QLEADS_PROXY_COUNT`` set (``headers.py``)."""
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def account_key(username: str) -> str:
    """The counter key of a user name: case and surrounding blanks do not make a new one,
    and the name itself never reaches the store (only a digest of it)."""
    digest = hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()
    return f"account:{digest[:32]}"


def _submitted_account() -> str:
    return account_key(request.form.get("username", ""))


def _current_account() -> str:
    return account_key(str(getattr(current_user, "username", "")))


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_key() -> str:
    digest = hashlib.sha256(_bearer_token().encode("utf-8", "replace")).hexdigest()
    return f"token:{digest[:32]}"


def _without_token() -> bool:
    return not _bearer_token()


def count_failure() -> None:
    """The current request failed a credential check: count it against the limits
    :func:`limit_failures` put on its view."""
    setattr(g, _FAILED, True)


def _failed(_response: Any) -> bool:
    return bool(getattr(g, _FAILED, False))


def current_limiter(app: Flask | None = None) -> Limiter:
    limiter = (app or current_app).extensions[EXTENSION_KEY]
    assert isinstance(limiter, Limiter)
    return limiter


def _wrap(app: Flask, endpoint: str, *limits: Callable[[Any], Any]) -> None:
    view = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def limit_failures(app: Flask, endpoint: str, *, account: str = "form") -> None:
    """Failed credential checks at ``endpoint`` (POST) count per account and per client
    address; the account is the form's ``username`` or, with ``account="user"``, the
    logged-in user. Both share their buckets with the login, so that a password change
    form is no faster way to guess than the login page."""
    limiter = current_limiter(app)
    account_of = _submitted_account if account == "form" else _current_account
    _wrap(
        app,
        endpoint,
        limiter.shared_limit(
            str(app.config["QLEADS_RATELIMIT_LOGIN_ACCOUNT"]),
            scope="failures-per-account",
            key_func=account_of,
            methods=["POST"],
            deduct_when=_failed,
        ),
        limiter.shared_limit(
            str(app.config["QLEADS_RATELIMIT_LOGIN_CLIENT"]),
            scope="failures-per-client",
            key_func=client_address,
            methods=["POST"],
            deduct_when=_failed,
        ),
    )


def limit_requests(app: Flask, endpoint: str, *, per_account: str, per_client: str) -> None:
    """Every POST to ``endpoint`` counts, per submitted user name and per client address
    (for forms that send mail: a reset link may not become a mail bomb)."""
    limiter = current_limiter(app)
    _wrap(
        app,
        endpoint,
        limiter.limit(
            str(app.config[per_account]),
            key_func=_submitted_account,
            methods=["POST"],
            scope="per-account",
        ),
        limiter.limit(
            str(app.config[per_client]),
            key_func=client_address,
            methods=["POST"],
            scope="per-client",
        ),
    )


def _unauthenticated(response: Any) -> bool:
    return bool(getattr(response, "status_code", 0) == 401)


def limit_intake(app: Flask, endpoint: str) -> None:
    """The intake API: every request counts against its bearer token; requests that do
    not authenticate count against the client address, which is checked before the token
    is looked up (a flood of guessed tokens never reaches the database for long). Lead
    sources sharing an address are limited by their own tokens only."""
    limiter = current_limiter(app)
    _wrap(
        app,
        endpoint,
        limiter.limit(
            str(app.config["QLEADS_RATELIMIT_API_TOKEN"]),
            key_func=_token_key,
            exempt_when=_without_token,
            scope="per-token",
        ),
        limiter.limit(
            str(app.config["QLEADS_RATELIMIT_API_CLIENT"]),
            key_func=client_address,
            deduct_when=_unauthenticated,
            scope="unauthenticated-per-client",
        ),
    )


def retry_after() -> int:
    """Seconds until the limit the current request broke lets the next one through."""
    breached = current_limiter().current_limit
    if breached is None:
        return 60
    reset_time = float(breached.window[0])  # when the oldest counted request drops out
    return max(1, math.ceil(reset_time - time.time()))


def _too_many_requests(_error: RateLimitExceeded) -> Response:
    """The page for people (the intake API answers with a problem document of its own)."""
    seconds = retry_after()
    page = render_template("errors/429.html", minutes=max(1, math.ceil(seconds / 60)))
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def init_throttle(app: Flask) -> Limiter:
    """Make the app's limiter; views get their limits from :func:`limit_failures`,
    :func:`limit_requests` and :func:`limit_intake` once they are registered."""
    limiter = Limiter(
        key_func=client_address,
        storage_uri=str(app.config["QLEADS_RATELIMIT_STORAGE_URI"]),
        strategy="moving-window",
        in_memory_fallback_enabled=True,
        key_prefix="qleads",
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter
