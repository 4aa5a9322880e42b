"""The OpenAPI 3.1 description of the intake API (``GET /api/v1/openapi.json``).

Nothing the server enforces is written here a second time: the lead document's schema is
:func:`qleads.document_schema.lead_document_schema`, built from the rules the intake
validates with (R1); the ``Idempotency-Key`` pattern, the body limit, the replay period,
the paths and the problem bodies come from the modules that enforce or make them; a
lead's status is one of :class:`~qleads.lifecycle.Status`. So what this document
promises is what the server does (a Schemathesis run in the test suite holds both to it).
"""

from __future__ import annotations

import json

from flask import Response

from qleads.document_schema import lead_document_schema
from qleads.lifecycle import Status

from .idempotency import IDEMPOTENCY_TTL, KEY_MAX_LENGTH, KEY_PATTERN
from .problems import PROBLEM, PROBLEM_SCHEMAS
from .routes import LEADS_PATH, MAX_BODY_BYTES, URL_PREFIX

__all__ = ["openapi_document", "serve_openapi_document"]


def _idempotency_key_description() -> str:
    hours = int(IDEMPOTENCY_TTL.total_seconds() // 3600)
    return (
        f"Required; 1-{KEY_MAX_LENGTH} visible ASCII characters, unique per lead document "
        "(a UUID does). The first request with a key takes the document in; a retry with "
        "the same key and the same body gets the first answer again (marked "
        "'Idempotent-Replayed: true'); the same key with another body is refused with 422; "
        "a request that arrives while the first with its key is still at work gets 409 and "
        "should retry. A request refused as an invalid document (422) or failed (5xx) does "
        f"not use its key up. Answers are kept for {hours} hours."
    )


def _problem_response(
    description: str, *, with_errors: bool = False, retry_after: bool = False
) -> dict[str, object]:
    schema: dict[str, object] = {"$ref": "#/components/schemas/Problem"}
    if with_errors:
        schema = {"$ref": "#/components/schemas/ValidationProblem"}
    response: dict[str, object] = {
        "description": description,
        "content": {PROBLEM: {"schema": schema}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


def _schemas() -> dict[str, object]:
    lead = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "source_id": {"type": "string"},
            # A new lead is "new"; a document sent again answers its lead as it is now.
            "status": {"type": "string", "enum": [status.value for status in Status]},
            "territory_id": {"type": ["string", "null"]},
            "received_at": {"type": "string", "format": "date-time"},
            "created": {"type": "boolean"},
            "submitted_by": {"type": "string"},
            # The original this submission repeats: held back, not distributed.
            "duplicate_of": {"type": ["integer", "null"]},
        },
        "required": ["id", "source_id", "status", "territory_id", "received_at", "created"],
    }
    return {"LeadDocument": lead_document_schema(), "Lead": lead, **PROBLEM_SCHEMAS}


def openapi_document() -> dict[str, object]:
    """The OpenAPI 3.1 description of the intake API."""
    location = {
        "Location": {
            "description": "The lead's page in the portal.",
            "required": True,
            "schema": {"type": "string", "pattern": "^/leads/[0-9]+$", "example": "/leads/42"},
        }
    }
    lead = {"application/json": {"schema": {"$ref": "#/components/schemas/Lead"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qleads intake API",
            "version": "1.0.0",
            "description": "Lead sources (the solar calculator) submit leads here (R1). "
            "Each source has its own bearer token; every request needs an "
            "Idempotency-Key; every error under /api/ is an RFC 9457 problem document "
            "(application/problem+json).",
        },
        "servers": [{"url": URL_PREFIX}],
        "security": [{"sourceToken": []}],
        "paths": {
            LEADS_PATH: {
                "post": {
                    "operationId": "submitLead",
                    "summary": "Submit a lead document",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "description": _idempotency_key_description(),
                            "schema": {"type": "string", "pattern": KEY_PATTERN},
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
                            "content": lead,
                        },
                        "200": {
                            "description": "The same document arrived before (R1); the "
                            "existing lead.",
                            "headers": location,
                            "content": lead,
                        },
                        "400": _problem_response(
                            "The body is not strict JSON (malformed, not UTF-8, NaN, "
                            "duplicate keys, lone surrogates, nested too deeply), or the "
                            "Idempotency-Key is missing or malformed."
                        ),
                        "401": _problem_response("No bearer token, or an unknown one."),
                        "409": _problem_response(
                            "Another document already arrived under this source_id (R1), "
                            "or a request with this Idempotency-Key is still at work."
                        ),
                        "413": _problem_response(f"The body exceeds {MAX_BODY_BYTES} bytes."),
                        "415": _problem_response(
                            "The content type is not application/json (UTF-8)."
                        ),
                        "422": _problem_response(
                            "The document is invalid (every field error is listed, R1), "
                            "or the Idempotency-Key was used with a different body.",
                            with_errors=True,
                        ),
                        "429": _problem_response(
                            "Too many requests from this source or client.", retry_after=True
                        ),
                        "503": _problem_response(
                            "The database is unavailable; retry with the same key.",
                            retry_after=True,
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
            "schemas": _schemas(),
        },
    }


def serve_openapi_document() -> Response:
    """``GET /api/v1/openapi.json``; public, it describes no data."""
    return Response(json.dumps(openapi_document(), indent=2), mimetype="application/json")
