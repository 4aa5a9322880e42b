"""The intake API of the example portal: ``POST /api/v1/leads`` (R1, R12).

A lead source (the solar calculator) authenticates with a bearer token of its own; the
portal stores only the token's SHA-256 (the token is shown once, when it is made, see
:func:`create_source_token`), so a leaked database does not leak a usable token. R12: a
source may only submit leads, so the token opens this one endpoint and nothing else.

Every request carries an ``Idempotency-Key``. The first answer to a key is stored with a
hash of the request body; a retry with the same key and body gets that answer again
(status and body), the same key with another body is refused with 422. This sits in front
of R1's own idempotency on ``source_id``: a client that lost the response to a network
error can retry blindly.

Every error is an RFC 9457 problem document (``application/problem+json``):

====  =====================================================================
400   the body is not JSON (malformed, not UTF-8, NaN, duplicate keys), or the
      ``Idempotency-Key`` header is missing or malformed
401   no bearer token, or one no source owns
413   the body is larger than 64 KiB (by ``Content-Length`` and by what arrives)
415   the content type is not ``application/json``
429   too many requests with this token, or without a valid one from this client
      address (``Retry-After`` says when to try again)
409   another document already arrived under this ``source_id`` (R1 conflict)
422   the document is invalid (``errors`` lists every field path, R1), or the
      ``Idempotency-Key`` was used before with another body
====  =====================================================================

201 answers a new lead (``Location: /leads/{id}``), 200 a document that was already
there (R1: the same document twice is the same lead). The OpenAPI 3.1 description is
served at ``GET /api/v1/openapi.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import RequestEntityTooLarge

from examples.admin_app.errors import STORAGE_FAILURES
from examples.admin_app.models import PortalBase
from examples.admin_app.services import current_services
from examples.admin_app.throttle import limit_intake, retry_after
from qleads.errors import (
    ConfigurationError,
    FieldError,
    IntakeConflict,
    InvalidDocument,
)
from qleads.model import Lead, LeadSource

__all__ = [
    "IDEMPOTENCY_TTL",
    "MAX_BODY_BYTES",
    "TokenStore",
    "create_source_token",
    "idempotency_records",
    "openapi_document",
    "register_api",
]

#: The largest accepted request body; a real lead document is 2-3 KiB.
MAX_BODY_BYTES = 64 * 1024
#: How long an answer is kept for replays; a key older than this counts as new.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
_TOKEN_PREFIX = "qls_"  # noqa: S105 - a public marker, not a secret
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_PROBLEM = "application/problem+json"

#: The first answer per (source, Idempotency-Key), replayed for retries.
idempotency_records = sa.Table(
    "portal_api_idempotency",
    PortalBase.metadata,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


# --- tokens ------------------------------------------------------------------------------


class TokenStore(Protocol):
    """What issuing a token needs from the directory (``SqlAlchemyDirectory`` has it)."""

    def set_source_token(self, source_id: str, token: str | None) -> None: ...


def create_source_token(directory: TokenStore, source_id: str) -> str:
    """Issue a new bearer token for the lead source ``source_id`` and return it.

    The token is returned exactly once; the directory keeps only its SHA-256, and the
    source's previous token stops working at once (rotation). Raises
    :class:`~qleads.errors.InvalidInput` for an unknown source.
    """
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    directory.set_source_token(source_id, token)
    return token


# --- problem documents (RFC 9457) --------------------------------------------------------


def _problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> Response:
    body: dict[str, object] = {
        "type": f"urn:qleads:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=_PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _unauthorized(detail: str) -> Response:
    return _problem(
        401,
        "unauthorized",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="qleads-intake"'},
    )


def _too_large() -> Response:
    return _problem(
        413,
        "body-too-large",
        "Request body too large",
        f"The body may be at most {MAX_BODY_BYTES} bytes.",
        max_bytes=MAX_BODY_BYTES,
    )


# --- the endpoint ------------------------------------------------------------------------


class _Malformed(ValueError):
    """The body is not the JSON object the endpoint takes (answered with 400)."""


def _reject_constant(name: str) -> object:
    raise _Malformed(f"{name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Malformed(f"duplicate key {key!r}")
        result[key] = value
    return result


def _decode(body: bytes) -> object:
    """Strict JSON (RFC 8259): UTF-8, no NaN/Infinity, no duplicate keys."""
    try:
        text = body.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise _Malformed(f"the body is not UTF-8: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise _Malformed(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise _Malformed("the body is nested too deeply") from None
    except ValueError as exc:  # _Malformed, or integers beyond Python's digit limit
        raise _Malformed(str(exc)) from None


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _read_body() -> bytes | None:
    """The body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`.

    ``Content-Length`` is checked first; the read itself is bounded too, so a chunked
    body or a lying header cannot push more than the limit into memory.
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    # One byte of headroom: a stream without a length is cut at the limit without an
    # error, so reading limit + 1 bytes is what tells "exactly 64 KiB" from "more".
    request.max_content_length = MAX_BODY_BYTES + 1
    try:
        body = request.stream.read(MAX_BODY_BYTES + 1)
    except RequestEntityTooLarge:
        return None
    if len(body) > MAX_BODY_BYTES:
        return None
    return body


def _lead_body(lead: Lead, created: bool, source: LeadSource) -> dict[str, object]:
    return {
        "id": lead.id,
        "source_id": lead.source_id,
        "status": lead.status.value,
        "territory_id": lead.territory_id,
        "received_at": lead.received_at.isoformat(),
        "created": created,
        "submitted_by": source.id,
    }


def _replay(row: Any) -> Response:
    response = Response(row.body, status=row.status, mimetype=_mimetype_for(row.status))
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _mimetype_for(status: int) -> str:
    return "application/json" if status < 400 else _PROBLEM


def submit_lead() -> Response:
    """``POST /api/v1/leads``: see the module docstring for every answer."""
    services = current_services()
    token = _bearer_token()
    if token is None:
        return _unauthorized("Send the lead source's token as 'Authorization: Bearer <token>'.")
    source = services.directory.source_by_token(token) if len(token) <= 200 else None
    if source is None:
        return _unauthorized("The bearer token is not valid.")

    body = _read_body()
    if body is None:
        return _too_large()
    if request.mimetype != "application/json":
        return _problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the lead document as 'Content-Type: application/json'.",
        )
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        return _problem(
            415, "unsupported-media-type", "Unsupported media type", "JSON must be UTF-8."
        )

    key = request.headers.get("Idempotency-Key", "")
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        return _problem(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            "Send an 'Idempotency-Key' header of 1-255 visible ASCII characters, "
            "unique per lead document.",
        )
    try:
        document = _decode(body)
    except _Malformed as exc:
        return _problem(400, "malformed-json", "Malformed JSON", f"The body is not JSON: {exc}")

    # Canonical JSON, so that a retry that re-serialised the same document still matches.
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    request_hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    now = services.desk.clock.now()
    previous = _stored_answer(source, key)
    if previous is not None and _aware(previous.created_at) < now - IDEMPOTENCY_TTL:
        # Expired: a new key. ``_remember`` deletes the old row before its insert, in the
        # same transaction (every row older than the window goes, this one included).
        previous = None
    if previous is not None:
        return _answer_again(previous, request_hash)

    response = _intake(source, document)
    return _remember(source, key, request_hash, response, now)


def _stored_answer(source: LeadSource, key: str) -> Any:
    """The stored first answer to ``key`` from ``source``, or ``None``."""
    with current_services().engine.connect() as conn:
        return conn.execute(
            sa.select(idempotency_records).where(
                idempotency_records.c.source_id == source.id,
                idempotency_records.c.idempotency_key == key,
            )
        ).first()


def _answer_again(previous: Any, request_hash: str) -> Response:
    """A retry: the stored answer for the same body, 422 for another one."""
    if previous.request_hash != request_hash:
        return _key_reused()
    return _replay(previous)


def _key_reused() -> Response:
    return _problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "This Idempotency-Key was used before with a different body; "
        "use a new key for a new document.",
    )


def _intake(source: LeadSource, document: object) -> Response:
    services = current_services()
    try:
        if not isinstance(document, dict):
            kind = "an array" if isinstance(document, list) else f"a {type(document).__name__}"
            raise InvalidDocument([FieldError("$", f"expected a JSON object, got {kind}")])
        result = services.desk.intake(source, document)
    except InvalidDocument as exc:
        return _problem(
            422,
            "invalid-document",
            "Invalid lead document",
            f"The lead document has {len(exc.errors)} invalid field(s); nothing was stored.",
            errors=[
                {"path": e.path, "pointer": _pointer(e.path), "detail": e.message}
                for e in exc.errors
            ],
        )
    except IntakeConflict as exc:
        return _problem(
            409,
            "intake-conflict",
            "Conflicting lead document",
            f"source_id {exc.source_id!r} arrived before with a different document.",
            source_id=exc.source_id,
        )
    body = _lead_body(result.lead, result.created, source)
    response = Response(
        json.dumps(body, ensure_ascii=False),
        status=201 if result.created else 200,
        mimetype="application/json",
    )
    response.headers["Location"] = f"/leads/{result.lead.id}"
    return response


def _pointer(path: str) -> str:
    """The JSON Pointer (RFC 6901) of a dotted qleads field path."""
    if path in ("", "$"):
        return ""
    parts = path.split(".")
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _remember(
    source: LeadSource, key: str, request_hash: str, response: Response, now: dt.datetime
) -> Response:
    """Store the first answer for replays; if a concurrent request with the same key got
    there first, answer as that one did."""
    services = current_services()
    row = {
        "source_id": source.id,
        "idempotency_key": key,
        "request_hash": request_hash,
        "status": response.status_code,
        "body": response.get_data(as_text=True),
        "location": response.headers.get("Location"),
        "created_at": now,
    }
    try:
        with services.engine.begin() as conn:
            # Forget answers older than the replay window, so the table stays small; an
            # expired answer to this very key goes too, which frees the key for the insert.
            conn.execute(
                idempotency_records.delete().where(
                    idempotency_records.c.created_at < now - IDEMPOTENCY_TTL
                )
            )
            conn.execute(idempotency_records.insert().values(**row))
    except sa.exc.IntegrityError:
        existing = _stored_answer(source, key)
        if existing is None:
            raise
        return _answer_again(existing, request_hash)
    return response


def _aware(instant: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


# --- OpenAPI -----------------------------------------------------------------------------


def _string(max_length: int, **more: object) -> dict[str, object]:
    return {"type": "string", "maxLength": max_length, **more}


def _optional(schema: dict[str, object]) -> dict[str, object]:
    return {"anyOf": [schema, {"type": "null"}]}


def _integer(minimum: int, maximum: int) -> dict[str, object]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _decimal(minimum: int, maximum: int, description: str) -> dict[str, object]:
    return {
        "description": description + " A JSON number or a decimal string, at most two "
        "decimal places.",
        "anyOf": [
            {"type": "number", "minimum": minimum, "maximum": maximum},
            {"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"},
        ],
    }


def _object(properties: dict[str, object], required: list[str]) -> dict[str, object]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required,
    }


def _lead_document_schema() -> dict[str, object]:
    money = _decimal(0, 10**9 - 1, "Money in euros, >= 0.")
    cost_row = _object(
        {
            "with_pv": money,
            "without_pv": money,
            "savings": {
                **_decimal(-(10**9), 10**9, "Optional; must equal without_pv - with_pv."),
            },
        },
        ["with_pv", "without_pv"],
    )
    return {
        **_object(
            {
                "source_id": _string(
                    64,
                    minLength=1,
                    pattern=r"^[A-Za-z0-9._:-]+$",
                    description="The calculator's own id; intake is idempotent on it (R1).",
                ),
                "received_at": _optional(
                    {
                        "type": "string",
                        "format": "date-time",
                        "description": "ISO 8601 with a UTC offset; a naive time is refused.",
                    }
                ),
                "contact": _object(
                    {
                        "name": _string(200, minLength=1),
                        "street": _string(200, minLength=1),
                        "postal_code": _string(
                            10,
                            minLength=3,
                            description="DE: five digits; AT, CH: four digits; NL: '1234 AB'.",
                        ),
                        "city": _string(100, minLength=1),
                        "country": {
                            "type": "string",
                            "pattern": "^[A-Z]{2}$",
                            "description": "ISO 3166-1 alpha-2.",
                        },
                        "email": _string(254, format="email"),
                        "phone": _optional(_string(40, pattern=r"^\+?[0-9(][0-9 ()/.-]*$")),
                        "reachability": _optional(_string(200)),
                        "comment": _optional(_string(2000)),
                    },
                    ["name", "street", "postal_code", "city", "country", "email"],
                ),
                "consumption": _object(
                    {
                        "persons": _integer(1, 50),
                        "annual_kwh": _integer(1, 1_000_000),
                        "price_ct_per_kwh": _decimal(0, 500, "Cent per kWh."),
                        "main_usage": _optional(_string(100)),
                    },
                    ["persons", "annual_kwh", "price_ct_per_kwh"],
                ),
                "roof": _object(
                    {
                        "area_m2": _decimal(0, 100_000, "Square metres."),
                        "tilt_deg": _integer(0, 90),
                        "azimuth_deg": _integer(0, 360),
                        "modules": _string(500, minLength=1),
                        "module_count": _integer(1, 10_000),
                        "storage_interest": {"type": "boolean"},
                    },
                    [
                        "area_m2",
                        "tilt_deg",
                        "azimuth_deg",
                        "modules",
                        "module_count",
                        "storage_interest",
                    ],
                ),
                "costs": _object(
                    {"per_month": cost_row, "per_year": cost_row, "after_20_years": cost_row},
                    ["per_month", "per_year", "after_20_years"],
                ),
                "eco_balance": _object(
                    {
                        "co2_saving_kg": _integer(0, 999_999_999),
                        "trees_planted": _integer(0, 999_999_999),
                    },
                    ["co2_saving_kg", "trees_planted"],
                ),
            },
            ["source_id", "contact", "consumption", "roof", "costs", "eco_balance"],
        ),
        "description": "A lead of the solar calculator (Anlage 2 of the manual). Strings "
        "are stripped and NFC-normalised; control characters are refused (only "
        "contact.comment may contain line breaks); nothing is coerced.",
    }


def _problem_response(description: str, *, with_errors: bool = False) -> dict[str, object]:
    schema: dict[str, object] = {"$ref": "#/components/schemas/Problem"}
    if with_errors:
        schema = {"$ref": "#/components/schemas/ValidationProblem"}
    return {"description": description, "content": {_PROBLEM: {"schema": schema}}}


def openapi_document() -> dict[str, object]:
    """The OpenAPI 3.1 description of the intake API."""
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    }
    validation_problem = {
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "properties": {
                    "errors": {
                        "type": "array",
                        "description": "Every field error at once (R1).",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {
                                    "type": "string",
                                    "description": "Dotted path, '$' for the document.",
                                },
                                "pointer": {"type": "string", "description": "JSON Pointer."},
                                "detail": {"type": "string"},
                            },
                            "required": ["path", "pointer", "detail"],
                        },
                    }
                },
            },
        ]
    }
    lead = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "source_id": {"type": "string"},
            "status": {"type": "string", "enum": ["new"]},
            "territory_id": {"type": ["string", "null"]},
            "received_at": {"type": "string", "format": "date-time"},
            "created": {"type": "boolean"},
            "submitted_by": {"type": "string"},
        },
        "required": ["id", "source_id", "status", "territory_id", "received_at", "created"],
    }
    location = {
        "Location": {
            "description": "The lead's page in the portal.",
            "schema": {"type": "string", "example": "/leads/42"},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qleads intake API",
            "version": "1.0.0",
            "description": "Lead sources (the solar calculator) submit leads here (R1). "
            "Each source has its own bearer token; every request needs an "
            "Idempotency-Key; errors are RFC 9457 problem documents.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"sourceToken": []}],
        "paths": {
            "/leads": {
                "post": {
                    "operationId": "submitLead",
                    "summary": "Submit a lead document",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "description": "Unique per document; a retry with the same key "
                            "and body gets the first answer again, the same key with "
                            "another body is refused (422). Kept for 24 hours.",
                            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/LeadDocument"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "A new lead was created.",
                            "headers": location,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Lead"}
                                }
                            },
                        },
                        "200": {
                            "description": "The same document arrived before (R1); the "
                            "existing lead.",
                            "headers": location,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Lead"}
                                }
                            },
                        },
                        "400": _problem_response(
                            "Malformed JSON, or a missing or malformed Idempotency-Key."
                        ),
                        "401": _problem_response("No bearer token, or an unknown one."),
                        "409": _problem_response(
                            "Another document already arrived under this source_id."
                        ),
                        "413": _problem_response(f"The body exceeds {MAX_BODY_BYTES} bytes."),
                        "415": _problem_response("The content type is not application/json."),
                        "429": _problem_response(
                            "Too many requests with this token, or without a valid "
                            "token from this address; Retry-After says when to try again."
                        ),
                        "503": _problem_response(
                            "The database is unavailable; retry with the same key."
                        ),
                        "422": _problem_response(
                            "The document is invalid (every field error is listed), or "
                            "the Idempotency-Key was used with a different body.",
                            with_errors=True,
                        ),
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {
                "sourceToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "One token per lead source, issued by an admin.",
                }
            },
            "schemas": {
                "LeadDocument": _lead_document_schema(),
                "Lead": lead,
                "Problem": problem,
                "ValidationProblem": validation_problem,
            },
        },
    }


def openapi() -> Response:
    """``GET /api/v1/openapi.json``; public, it describes no data."""
    return Response(json.dumps(openapi_document(), indent=2), mimetype="application/json")


def _storage_unavailable(error: Exception) -> Response:
    """The database failed or cannot be reached (any of ``STORAGE_FAILURES``): nothing
    was stored (one transaction), so the client may retry with the same Idempotency-Key."""
    return _problem(
        503,
        "storage-unavailable",
        "Service unavailable",
        "The lead could not be stored right now; retry later with the same Idempotency-Key.",
        headers={"Retry-After": "30"},
    )


def _too_many_requests(_error: RateLimitExceeded) -> Response:
    """Throttled (``throttle.limit_intake``): per token, and failed authentications per
    client address."""
    seconds = retry_after()
    return _problem(
        429,
        "too-many-requests",
        "Too many requests",
        f"Too many requests; retry in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def register_api(app: Flask) -> None:
    """Register the intake API on ``app`` (called by ``create_app`` after CSRFProtect).

    The blueprint is exempt from CSRF: it is authenticated by a bearer token in a header,
    which a browser never attaches on its own, so a cross-site request cannot use it.
    """
    csrf = app.extensions.get("csrf")
    if csrf is None:
        raise ConfigurationError(
            "register_api() needs Flask-WTF's CSRFProtect initialised first, "
            "so that the token-authenticated API can be exempted"
        )
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.add_url_rule("/leads", "submit_lead", submit_lead, methods=["POST"])
    bp.add_url_rule("/openapi.json", "openapi", openapi, methods=["GET"])
    for failure in STORAGE_FAILURES:
        bp.register_error_handler(failure, _storage_unavailable)
    bp.register_error_handler(RateLimitExceeded, _too_many_requests)
    csrf.exempt(bp)
    app.register_blueprint(bp)
    limit_intake(app, "api.submit_lead")
