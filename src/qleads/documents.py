"""The lead document on the wire and in storage: one codec for every place that reads or
writes it.

A lead document crosses three borders, and each is here once:

* **JSON in** — :func:`decode_json` is the strict loader the intake (``qleads.intake``)
  and the portal's API both read request bodies with: UTF-8 only, no duplicate keys, no
  ``NaN``/``Infinity``, no lone surrogates, bounded nesting, numbers as exact ``Decimal``
  (I-JSON, RFC 7493). It decodes; what the fields may hold is the intake's validation.
* **stored form** — :func:`unstructure_document` writes a validated document as plain JSON
  (money as decimal strings, instants as UTC ISO 8601) and
  :func:`structure_stored_document` reads it back without re-validating, because the
  library wrote it itself and it is read for every row of a tab (R8).
* **identity** — :func:`document_fingerprint` is the hash of that stored form that makes
  intake idempotent (R1): the same ``source_id`` with the same fingerprint is the same lead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from qleads.errors import FieldError, InvalidDocument, StorageError
from qleads.model import (
    Consent,
    Consumption,
    Contact,
    CostRow,
    Costs,
    EcoBalance,
    LeadDocument,
    Roof,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "EncodedDocument",
    "decode_json",
    "document_fingerprint",
    "encoded_document",
    "printable",
    "structure_stored_document",
    "unstructure_document",
]

#: The deepest nesting :func:`decode_json` reads; a lead document is three levels deep.
MAX_JSON_DEPTH = 32

_CENT = Decimal("0.01")
_LONGEST_INTEGER = 40  # digits; longer JSON integers are read as Decimal, not int
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class _Refused(Exception):
    """What :func:`decode_json`'s hooks raise; it becomes an error at path ``$``."""


def printable(text: str) -> str:
    """``text`` with control characters and surrogates escaped (``\\u000a``), so that a key
    from the wire can be named in a message or a log line without carrying them."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- JSON in ------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise _Refused(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {printable(key)!r}")
        result[key] = value
    return result


def _json_integer(text: str) -> int | Decimal:
    # Python refuses to turn 4300+ digits into an int (and it would be slow); no field
    # takes more than ten, so a longer one is read exactly but cheaply, as a Decimal.
    return int(text) if len(text) <= _LONGEST_INTEGER else Decimal(text)


def _check_structure(value: object, *, strings: bool) -> None:
    """Refuse nesting beyond MAX_JSON_DEPTH and, with ``strings``, lone surrogates (in
    keys and values).

    JSON's ``\\ud800`` escape yields a string that is not Unicode text: it cannot be
    stored, encoded or shown, so it is refused with the document (RFC 7493, I-JSON)."""
    stack: list[tuple[object, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            children: Iterable[tuple[Any, object]] = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            if strings and isinstance(item, str) and _SURROGATE.search(item):
                raise _Refused(f"has a lone surrogate in the string at '{_pointer(path)}'")
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise _Refused(f"is nested more than {MAX_JSON_DEPTH} levels deep")
        for key, child in children:
            if strings and isinstance(key, str) and _SURROGATE.search(key):
                raise _Refused(f"has a lone surrogate in the key '{_pointer((*path, key))}'")
            if strings or isinstance(child, dict | list):
                stack.append((child, (*path, str(key))))


def _pointer(path: tuple[str, ...]) -> str:
    """The JSON Pointer of ``path``, safe to show (surrogates escaped)."""
    return printable("".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path))


def _may_hold_surrogates(text: str) -> bool:
    """Whether decoding ``text`` can have made a lone surrogate: only a ``\\u`` escape
    can, or a str that holds one already; most bodies have neither."""
    if "\\u" in text:
        return True
    return not text.isascii() and _SURROGATE.search(text) is not None


def decode_json(text: str | bytes) -> object:
    """Strict JSON (RFC 8259 narrowed to I-JSON, RFC 7493), as the intake and the portal's
    API read a lead document.

    UTF-8 only; no ``NaN``/``Infinity``, no duplicate keys, no lone surrogates, nesting at
    most :data:`MAX_JSON_DEPTH` deep. Numbers with a fraction or an exponent become exact
    ``Decimal`` values (``0.57`` is 57 cents, not a binary float near it), and so do
    integers of more than 40 digits. Raises :class:`InvalidDocument` at path ``$``.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
            parse_float=Decimal,
            parse_int=_json_integer,
        )
        _check_structure(value, strings=_may_hold_surrogates(text))
    except UnicodeDecodeError as exc:
        raise InvalidDocument([FieldError("$", f"is not UTF-8: {exc.reason}")]) from None
    except _Refused as exc:
        raise InvalidDocument([FieldError("$", str(exc))]) from None
    except json.JSONDecodeError as exc:
        message = f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InvalidDocument([FieldError("$", message)]) from None
    except RecursionError:
        raise InvalidDocument([FieldError("$", "is nested too deeply")]) from None
    return value


# --- the stored form -------------------------------------------------------------------


def _decimal_text(number: Decimal) -> str:
    """Plain notation, at least cents, so equal documents serialise equally."""
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        number = number.quantize(_CENT)
    return format(number, "f")


def _instant_text(instant: dt.datetime) -> str:
    if instant.utcoffset() is not None:
        instant = instant.astimezone(dt.UTC)
    return instant.isoformat()


def _cost_row(row: CostRow) -> dict[str, object]:
    return {
        "with_pv": _decimal_text(row.with_pv),
        "without_pv": _decimal_text(row.without_pv),
        "savings": _decimal_text(row.savings),
    }


def unstructure_document(doc: LeadDocument) -> dict[str, object]:
    """The document in the wire format: money as decimal strings, instants as UTC ISO 8601.

    Every field is written (optional ones as ``""`` or ``null``; the consent block only
    when the document has one, R14) and ``savings`` is included, so the result is
    itself valid input for :func:`parse_document` and
    ``parse_document(unstructure_document(d)) == d``.
    """
    contact = doc.contact
    consumption = doc.consumption
    roof = doc.roof
    costs = doc.costs
    stored: dict[str, object] = {
        "source_id": doc.source_id,
        "received_at": None if doc.received_at is None else _instant_text(doc.received_at),
        "contact": {
            "name": contact.name,
            "street": contact.street,
            "postal_code": contact.postal_code,
            "city": contact.city,
            "country": contact.country,
            "email": contact.email,
            "phone": contact.phone,
            "reachability": contact.reachability,
            "comment": contact.comment,
        },
        "consumption": {
            "persons": consumption.persons,
            "annual_kwh": consumption.annual_kwh,
            "price_ct_per_kwh": _decimal_text(consumption.price_ct_per_kwh),
            "main_usage": consumption.main_usage,
        },
        "roof": {
            "area_m2": _decimal_text(roof.area_m2),
            "tilt_deg": roof.tilt_deg,
            "azimuth_deg": roof.azimuth_deg,
            "modules": roof.modules,
            "module_count": roof.module_count,
            "storage_interest": roof.storage_interest,
        },
        "costs": {
            "per_month": _cost_row(costs.per_month),
            "per_year": _cost_row(costs.per_year),
            "after_20_years": _cost_row(costs.after_20_years),
        },
        "eco_balance": {
            "co2_saving_kg": doc.eco_balance.co2_saving_kg,
            "trees_planted": doc.eco_balance.trees_planted,
        },
    }
    if doc.consent is not None:
        # Only when given: a document without one keeps the fingerprint it always had.
        stored["consent"] = {
            "text_version": doc.consent.text_version,
            "given_at": _instant_text(doc.consent.given_at),
            "source_page": doc.consent.source_page,
        }
    return stored


def _stored_decimal(value: Any) -> Decimal:
    # Stored decimals are strings (``_decimal_text``); numbers from older rows go through
    # ``str`` so that a float keeps its written digits rather than its binary expansion.
    return Decimal(value) if value.__class__ is str else Decimal(str(value))


def _stored_row(row: Mapping[str, Any]) -> CostRow:
    with_pv = row["with_pv"]
    without_pv = row["without_pv"]
    return CostRow(
        Decimal(with_pv) if with_pv.__class__ is str else Decimal(str(with_pv)),
        Decimal(without_pv) if without_pv.__class__ is str else Decimal(str(without_pv)),
    )


def _stored_consent(data: Mapping[str, Any] | None) -> Consent | None:
    if data is None:
        return None
    given_at = data["given_at"]
    if given_at.__class__ is not dt.datetime:
        given_at = dt.datetime.fromisoformat(given_at)
    return Consent(data["text_version"], given_at, data.get("source_page", ""))


def structure_stored_document(data: Mapping[str, Any]) -> LeadDocument:
    """Rebuild a document from :func:`unstructure_document` output, without re-validating.

    This is the trusted path for what the library stored itself, called for every row of a
    tab page (R8), so it is plain code rather than a converter: positional construction,
    ``Decimal`` straight from the stored text, and ``received_at`` parsed only when present.
    Data that does not even have the stored shape is a :class:`StorageError`, not an
    ``InvalidDocument``: the sender is not at fault (R15).
    """
    try:
        contact = data["contact"]
        consumption = data["consumption"]
        roof = data["roof"]
        costs = data["costs"]
        eco = data["eco_balance"]
        get = contact.get
        received_at = data.get("received_at")
        if received_at is not None and received_at.__class__ is not dt.datetime:
            received_at = dt.datetime.fromisoformat(received_at)
        return LeadDocument(
            data["source_id"],
            Contact(
                contact["name"],
                contact["street"],
                contact["postal_code"],
                contact["city"],
                contact["country"],
                contact["email"],
                get("phone", ""),
                get("reachability", ""),
                get("comment", ""),
            ),
            Consumption(
                consumption["persons"],
                consumption["annual_kwh"],
                _stored_decimal(consumption["price_ct_per_kwh"]),
                consumption.get("main_usage", ""),
            ),
            Roof(
                _stored_decimal(roof["area_m2"]),
                roof["tilt_deg"],
                roof["azimuth_deg"],
                roof["modules"],
                roof["module_count"],
                roof["storage_interest"],
            ),
            Costs(
                _stored_row(costs["per_month"]),
                _stored_row(costs["per_year"]),
                _stored_row(costs["after_20_years"]),
            ),
            EcoBalance(eco["co2_saving_kg"], eco["trees_planted"]),
            received_at,
            _stored_consent(data.get("consent")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise StorageError(f"stored lead document is malformed: {exc!r}") from exc


# --- identity ------------------------------------------------------------------------------


def document_fingerprint(doc: LeadDocument) -> str:
    """SHA-256 of the canonical JSON of the whole document (R1 idempotency).

    Canonical means sorted keys, no whitespace, ASCII escapes and the normalised values of
    :func:`unstructure_document`, so it is independent of key order and of how the sender
    spelled numbers (``15``, ``15.0``, ``"15.00"``).
    """
    return encoded_document(doc).fingerprint


@attrs.frozen
class EncodedDocument:
    """A document as it is stored: its JSON text (``json.dumps``'s default settings,
    what the SQL adapter has always written) and its fingerprint."""

    text: str
    fingerprint: str


#: The last document encoded and its encoding. An intake asks for the fingerprint (R1
#: idempotency) and then the adapter for both; this way the document is turned into
#: its wire format once. Compared by identity: a document is immutable.
_LAST_ENCODED: tuple[LeadDocument, EncodedDocument] | None = None


def encoded_document(doc: LeadDocument) -> EncodedDocument:
    """The stored JSON text and the fingerprint of ``doc``, computed once for the
    document last asked about."""
    global _LAST_ENCODED  # a one-entry cache, replaced whole
    last = _LAST_ENCODED
    if last is not None and last[0] is doc:
        return last[1]
    stored = unstructure_document(doc)
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), allow_nan=False)
    encoded = EncodedDocument(
        text=json.dumps(stored),
        fingerprint=hashlib.sha256(canonical.encode("ascii")).hexdigest(),
    )
    _LAST_ENCODED = (doc, encoded)
    return encoded
