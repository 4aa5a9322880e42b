"""``POST /api/v1/leads``: a lead source submits a lead document (R1, R12).

A lead source (the solar calculator) authenticates with a bearer token of its own
(``tokens.py``); R12: a source may only submit leads, so the token opens this one
endpoint and nothing else. Every request carries an ``Idempotency-Key``
(``idempotency.py``): one key stores at most one lead, however many requests with it
race. The first request reserves the key; a retry with the same key and body gets the
first answer again (status and body), the same key with another body is refused with
422, and a request that arrives while the first is still at work gets 409. A document
refused by validation (422) does not use its key up. This sits in front of R1's own
idempotency on ``source_id``: a client that lost the response to a network error can
retry blindly.

Every error is an RFC 9457 problem document (``problems.py``):

====  =====================================================================
400   the body is not strict JSON (malformed, not UTF-8, NaN, duplicate keys, lone
      surrogates, nested too deeply), or the ``Idempotency-Key`` header is missing or
      malformed
401   no bearer token, or one no source owns
409   another document already arrived under this ``source_id`` (R1 conflict), or a
      request with this ``Idempotency-Key`` is still at work
413   the body is larger than 64 KiB (by ``Content-Length`` and by what arrives)
415   the content type is not ``application/json``
429   too many requests with this token, or without a valid one from this client
      address (``Retry-After`` says when to try again)
422   the document is invalid (``errors`` lists every field path, R1), or the
      ``Idempotency-Key`` was used before with another body
503   the database is unavailable (nothing stored; retry with the same key)
====  =====================================================================

201 answers a new lead (``Location: /leads/{id}``), 200 a document that was already
there (R1: the same document twice is the same lead).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re

from flask import Response, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import RequestEntityTooLarge

from qleads.documents import decode_json
from qleads.errors import FieldError, IntakeConflict, InvalidDocument, StorageError
from qleads.model import Lead, LeadSource

from ..security.throttle import retry_after
from ..services import current_services
from .idempotency import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    Answer,
    KeyInUse,
    Reserved,
    complete,
    release,
    reserve,
)
from .problems import PROBLEM, invalid_document, problem, unauthorized

__all__ = [
    "LEADS_PATH",
    "MAX_BODY_BYTES",
    "URL_PREFIX",
    "storage_unavailable",
    "submit_lead",
    "too_many_requests",
]

log = logging.getLogger(__name__)

#: Where the API is mounted, and its one endpoint below that.
URL_PREFIX = "/api/v1"
LEADS_PATH = "/leads"
#: The largest accepted request body; a real lead document is 2-3 KiB.
MAX_BODY_BYTES = 64 * 1024
_IDEMPOTENCY_KEY = re.compile(KEY_PATTERN)


def _too_large() -> Response:
    return problem(
        413,
        "body-too-large",
        "Request body too large",
        f"The body may be at most {MAX_BODY_BYTES} bytes.",
        max_bytes=MAX_BODY_BYTES,
    )


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


def _lead_body(
    lead: Lead, created: bool, source: LeadSource, duplicate_of: int | None = None
) -> dict[str, object]:
    """The lead as the API answers it; ``duplicate_of`` names the original a submission
    repeats (held back as a duplicate, ``qleads.duplicates``), else ``null``."""
    return {
        "id": lead.id,
        "source_id": lead.source_id,
        "status": lead.status.value,
        "territory_id": lead.territory_id,
        "received_at": lead.received_at.isoformat(),
        "created": created,
        "submitted_by": source.id,
        "duplicate_of": duplicate_of,
    }


def _request_hash(document: object) -> str:
    """SHA-256 of the document's canonical JSON, so that a retry that re-serialised the
    same document (other key order, other white space) still matches. Numbers keep the
    digits they were sent with (``decode_json`` reads them as ``Decimal``)."""
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def submit_lead() -> Response:
    """``POST /api/v1/leads``: see the module docstring for every answer."""
    services = current_services()
    token = _bearer_token()
    if token is None:
        return unauthorized("Send the lead source's token as 'Authorization: Bearer <token>'.")
    source = services.directory.source_by_token(token) if len(token) <= 200 else None
    if source is None:
        return unauthorized("The bearer token is not valid.")

    body = _read_body()
    if body is None:
        return _too_large()
    if request.mimetype != "application/json":
        return problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the lead document as 'Content-Type: application/json'.",
        )
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        return problem(
            415, "unsupported-media-type", "Unsupported media type", "JSON must be UTF-8."
        )

    key = request.headers.get("Idempotency-Key", "")
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        return problem(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            f"Send an 'Idempotency-Key' header of 1-{KEY_MAX_LENGTH} visible ASCII "
            "characters, unique per lead document.",
        )
    try:
        document = decode_json(body)
    except InvalidDocument as exc:
        reason = exc.errors[0].message if exc.errors else "malformed"
        return problem(
            400, "malformed-json", "Malformed JSON", f"The body is not strict JSON: it {reason}"
        )

    request_hash = _request_hash(document)
    held = reserve(services.engine, source.id, key, request_hash, services.desk.clock.now())
    if isinstance(held, KeyInUse):
        return problem(
            409,
            "idempotency-key-in-use",
            "Idempotency-Key in use",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )
    if isinstance(held, Answer):
        return _answer_again(held, request_hash)
    return _take_in(held, source, document)


def _take_in(held: Reserved, source: LeadSource, document: object) -> Response:
    """Take the document in under the reserved key, then complete or release the key."""
    engine = current_services().engine
    try:
        response = _intake(source, document)
    except BaseException:
        # Nothing was stored (the intake is one transaction): the key is not used up. If
        # the database is gone, the reservation lapses after its lease instead.
        with contextlib.suppress(StorageError):
            release(engine, held)
        raise
    if response.status_code == 422:
        release(engine, held)  # refused by validation: the key may carry a fixed document
        return response
    complete(
        engine,
        held,
        response.status_code,
        response.get_data(as_text=True),
        response.headers.get("Location"),
    )
    return response


def _answer_again(previous: Answer, request_hash: str) -> Response:
    """A retry: the stored answer for the same body, 422 for another one."""
    if previous.request_hash != request_hash:
        return problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was used before with a different body; "
            "use a new key for a new document.",
        )
    mimetype = "application/json" if previous.status < 400 else PROBLEM
    response = Response(previous.body, status=previous.status, mimetype=mimetype)
    if previous.location:
        response.headers["Location"] = previous.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _intake(source: LeadSource, document: object) -> Response:
    services = current_services()
    try:
        if not isinstance(document, dict):
            kind = "an array" if isinstance(document, list) else f"a {type(document).__name__}"
            raise InvalidDocument([FieldError("$", f"expected a JSON object, got {kind}")])
        result = services.desk.intake(source, document)
    except InvalidDocument as exc:
        return invalid_document(exc.errors)
    except IntakeConflict as exc:
        return problem(
            409,
            "intake-conflict",
            "Conflicting lead document",
            f"source_id {exc.source_id!r} arrived before with a different document.",
            source_id=exc.source_id,
        )
    body = _lead_body(result.lead, result.created, source, result.duplicate_of)
    response = Response(
        json.dumps(body, ensure_ascii=False),
        status=201 if result.created else 200,
        mimetype="application/json",
    )
    response.headers["Location"] = f"/leads/{result.lead.id}"
    return response


def storage_unavailable(error: Exception) -> Response:
    """The database failed or cannot be reached (any of ``STORAGE_FAILURES``): nothing
    was stored (one transaction), so the client may retry with the same Idempotency-Key."""
    # The class only: a driver's message may quote the lead it was writing.
    log.warning("intake answered 503: the database is unavailable (%s)", type(error).__name__)
    return problem(
        503,
        "storage-unavailable",
        "Service unavailable",
        "The lead could not be stored right now; retry later with the same Idempotency-Key.",
        headers={"Retry-After": "30"},
    )


def too_many_requests(_error: RateLimitExceeded) -> Response:
    """Throttled (``security.throttle.limit_intake``): per token, and failed authentications per
    client address."""
    seconds = retry_after()
    return problem(
        429,
        "too-many-requests",
        "Too many requests",
        f"Too many requests; retry in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )
