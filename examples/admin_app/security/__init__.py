"""Who gets in, and how the portal holds up against those who should not.

================== =========================================================================
``auth``           logging in and out, the language switch, sessions that end on the
                   server, and the role check of every page (R12)
``account``        a user's own password, and the "Passwort vergessen" pages
``password_reset`` single-use reset links, mailed through qleads' outbox (R10)
``throttle``       Flask-Limiter: failed logins, reset requests and the intake API
``headers``        security headers, safe ``next=`` redirects, the server's name
================== =========================================================================

``create_app`` wires them in this order: :func:`init_throttle` (the limiter the others
put their limits on), :func:`init_headers`, then, after the language,
:func:`init_auth` and :func:`init_account`.
"""

from __future__ import annotations

from .account import PASSWORD_RULES, init_account
from .auth import init_auth, role_required
from .headers import (
    CONTENT_SECURITY_POLICY,
    SERVER_NAME,
    PortalRequestHandler,
    init_headers,
    safe_next,
)
from .throttle import init_throttle

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PASSWORD_RULES",
    "SERVER_NAME",
    "PortalRequestHandler",
    "init_account",
    "init_auth",
    "init_headers",
    "init_throttle",
    "role_required",
    "safe_next",
]
