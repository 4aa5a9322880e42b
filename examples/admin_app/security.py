"""Security headers and safe redirects (issue 5, item 8).

The portal serves no inline script and no third-party resource, so the content security
policy can be strict: everything from the portal itself, nothing framed, nothing posted
elsewhere. ``next=`` parameters are only followed when they are a path on this site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

__all__ = ["CONTENT_SECURITY_POLICY", "init_security", "safe_next"]

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


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def init_security(app: Flask) -> None:
    """Every response gets the headers; cookie flags are set by ``load_config``."""
    app.after_request(_add_headers)
