"""The intake API of the portal: lead sources submit leads at ``POST /api/v1/leads``
(R1, R12), described at ``GET /api/v1/openapi.json``.

==================  ========================================================================
``routes``          the endpoint: token, body, Idempotency-Key, intake, every answer
``problems``        RFC 9457 problem documents, the API's one form of error
``idempotency``     one lead per Idempotency-Key, however many requests race
``tokens``          the lead sources' bearer tokens, stored as SHA-256
``openapi``         the OpenAPI document, from the constraints the server enforces
==================  ========================================================================
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_limiter import RateLimitExceeded

from qleads.errors import ConfigurationError

from ..errors import STORAGE_FAILURES
from ..security.throttle import limit_intake
from .idempotency import IDEMPOTENCY_TTL, idempotency_records
from .openapi import openapi_document, serve_openapi_document
from .problems import as_problem
from .routes import (
    LEADS_PATH,
    MAX_BODY_BYTES,
    URL_PREFIX,
    storage_unavailable,
    submit_lead,
    too_many_requests,
)
from .tokens import TokenStore, create_source_token

__all__ = [
    "IDEMPOTENCY_TTL",
    "MAX_BODY_BYTES",
    "TokenStore",
    "create_source_token",
    "idempotency_records",
    "openapi_document",
    "register_api",
]


def register_api(app: Flask) -> None:
    """Register the intake API on ``app`` (called by ``create_app`` after CSRFProtect).

    The blueprint is exempt from CSRF: it is authenticated by a bearer token in a header,
    which a browser never attaches on its own, so a cross-site request cannot use it.
    Every error answer under ``/api/`` becomes a problem document
    (:func:`~.problems.as_problem`), whichever handler made it.
    """
    csrf = app.extensions.get("csrf")
    if csrf is None:
        raise ConfigurationError(
            "register_api() needs Flask-WTF's CSRFProtect initialised first, "
            "so that the token-authenticated API can be exempted"
        )
    bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
    # No automatic OPTIONS: the API serves no browser, and Allow names what it documents.
    bp.add_url_rule(
        LEADS_PATH, "submit_lead", submit_lead, methods=["POST"], provide_automatic_options=False
    )
    bp.add_url_rule(
        "/openapi.json",
        "openapi",
        serve_openapi_document,
        methods=["GET"],
        provide_automatic_options=False,
    )
    for failure in STORAGE_FAILURES:
        bp.register_error_handler(failure, storage_unavailable)
    bp.register_error_handler(RateLimitExceeded, too_many_requests)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.after_request(as_problem)
    limit_intake(app, "api.submit_lead")
