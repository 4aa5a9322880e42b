"""Problem details (RFC 9457): the one form of every error answer under ``/api/``.

The API's own refusals are made with :func:`problem`; :func:`as_problem` turns what
Flask, Werkzeug and extensions answer on their own (404, 405, 429, 500 …) into the same
form. A refused lead document lists every field error with its dotted path and its JSON
Pointer (:func:`invalid_document`). The JSON Schemas of both bodies are here too
(:data:`PROBLEM_SCHEMAS`), beside the code that makes them, for the OpenAPI document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from flask import Response, request
from werkzeug.http import HTTP_STATUS_CODES

from qleads.errors import FieldError

__all__ = [
    "API_PREFIX",
    "PROBLEM",
    "PROBLEM_SCHEMAS",
    "as_problem",
    "invalid_document",
    "json_pointer",
    "problem",
    "unauthorized",
]

#: The media type of every error answer (RFC 9457).
PROBLEM = "application/problem+json"
#: Where the API's answers are: every error below it is a problem document.
API_PREFIX = "/api/"
#: What an error answer of Flask or an extension says, by status, under /api/.
_DETAILS: Mapping[int, str] = {
    404: "There is nothing here; the intake API is POST /api/v1/leads.",
    405: "This method is not allowed here; the Allow header names those that are.",
    429: "Too many requests; retry after the time the Retry-After header gives.",
    500: "The request failed on the server; retry later with the same Idempotency-Key.",
}

#: The JSON Schemas of :func:`problem` and :func:`invalid_document` bodies.
PROBLEM_SCHEMAS: Mapping[str, object] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    },
    "ValidationProblem": {
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
    },
}


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> Response:
    """A problem document of type ``urn:qleads:problem:<slug>``; ``extra`` members are
    added to the body, ``headers`` to the answer."""
    body: dict[str, object] = {
        "type": f"urn:qleads:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unauthorized(detail: str) -> Response:
    return problem(
        401,
        "unauthorized",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="qleads-intake"'},
    )


def invalid_document(errors: Sequence[FieldError]) -> Response:
    """422: the lead document is invalid; every field error at once (R1)."""
    return problem(
        422,
        "invalid-document",
        "Invalid lead document",
        f"The lead document has {len(errors)} invalid field(s); nothing was stored.",
        errors=[
            {"path": e.path, "pointer": json_pointer(e.path), "detail": e.message} for e in errors
        ],
    )


def json_pointer(path: str) -> str:
    """The JSON Pointer (RFC 6901) of a dotted qleads field path."""
    if path in ("", "$"):
        return ""
    parts = path.split(".")
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def as_problem(response: Response) -> Response:
    """Every error answer under /api/ as a problem document, whoever made it.

    The API's own answers already are; this catches what Flask, Werkzeug and extensions
    answer on their own (an unknown path, a wrong method, a rate limit, an unhandled
    exception), by status code alone. Their headers (``Allow``, ``Retry-After``, rate
    limit headers) are kept; their bodies, HTML pages, are not.
    """
    if (
        response.status_code < 400
        or response.mimetype == PROBLEM
        or not request.path.startswith(API_PREFIX)
    ):
        return response
    status = response.status_code
    title = HTTP_STATUS_CODES.get(status, "Error")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    answer = problem(status, slug, title, _DETAILS.get(status, f"{title}."))
    for name, value in response.headers.items():
        if name.lower() not in {"content-type", "content-length"}:
            answer.headers.add(name, value)
    return answer
