"""Security headers, safe redirects and the server's name.

The portal serves no inline script and no third-party resource, so the content security
policy can be strict: everything from the portal itself, nothing framed, nothing posted
elsewhere. ``next=`` parameters are only followed when they are a path on this site.

Nothing the portal answers is cached (``Cache-Control: no-store``) except its static
files: every page of a logged-in user may show customers' contact data, every API answer
is about a lead, and the login and reset pages carry form tokens. Over HTTPS the browser
is told to stay on HTTPS (``Strict-Transport-Security``, ``QLEADS_HSTS``). Behind a
reverse proxy ``QLEADS_PROXY_COUNT`` says how many proxies' ``X-Forwarded-For`` and
``X-Forwarded-Proto`` to trust, so that HTTPS is recognised and throttling sees the
client's address instead of the proxy's.

The ``Server`` header is the HTTP server's, not the app's: werkzeug's development server
names werkzeug's and Python's versions, which :class:`PortalRequestHandler` replaces
(``python -m examples.admin_app`` uses it); gunicorn sends ``Server: gunicorn`` without a
version. A header set by the app would only be sent as a second ``Server`` line.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SERVER_NAME",
    "PortalRequestHandler",
    "init_headers",
    "safe_next",
]

#: What the portal's development server calls itself (no product versions).
SERVER_NAME = "qleads"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a relative path on this site, else ``None``.

    Refused: absolute URLs (``https://evil.example``), scheme-relative ones
    (``//evil.example``), backslash tricks browsers read as ``//`` (``/\\evil.example``),
    anything with a scheme (``javascript:``) and control characters.
    """
    if not target or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class PortalRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler without the ``Server: Werkzeug/… Python/…`` banner,
    on the app's answers and on the server's own error pages alike."""

    def version_string(self) -> str:
        return SERVER_NAME


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not _is_static():
        headers["Cache-Control"] = "no-store"
    hsts = str(current_app.config.get("QLEADS_HSTS") or "")
    if request.is_secure and hsts:
        headers.setdefault("Strict-Transport-Security", hsts)
    return response


def init_headers(app: Flask) -> None:
    """Every response gets the headers; cookie flags are set by ``load_config``."""
    proxies = int(app.config.get("QLEADS_PROXY_COUNT") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.after_request(_add_headers)
