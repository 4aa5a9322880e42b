"""The OpenAPI 3.1 description of the intake API (``GET /api/v1/openapi.json``).

The lead document's schema is not written here: it is
:func:`qleads.document_schema.lead_document_schema`, built from the rules the intake
validates with, so that what this document promises is what the server enforces (a
Schemathesis run in the test suite holds both to it).
"""

from __future__ import annotations

from qleads.document_schema import lead_document_schema

__all__ = ["MAX_BODY_BYTES", "PROBLEM", "openapi_document"]

#: The largest accepted request body; a real lead document is 2-3 KiB.
MAX_BODY_BYTES = 64 * 1024
#: The media type of every error answer (RFC 9457).
PROBLEM = "application/problem+json"

_IDEMPOTENCY_KEY_DESCRIPTION = (
    "Required; 1-255 visible ASCII characters, unique per lead document (a UUID does). "
    "The first request with a key takes the document in; a retry with the same key and "
    "the same body gets the first answer again (marked 'Idempotent-Replayed: true'); "
    "the same key with another body is refused with 422; a request that arrives while "
    "the first with its key is still at work gets 409 and should retry. A request "
    "refused as an invalid document (422) or failed (5xx) does not use its key up. "
    "Answers are kept for 24 hours."
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
    return {
        "LeadDocument": lead_document_schema(),
        "Lead": lead,
        "Problem": problem,
        "ValidationProblem": validation_problem,
    }


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
                            "description": _IDEMPOTENCY_KEY_DESCRIPTION,
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
