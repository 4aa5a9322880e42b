"""Intake (R1): the solar calculator's JSON in, a validated :class:`LeadDocument` out.

R1 asks for a document that is validated in full before anything is stored, with every
field error reported at once. So this module is strict where JSON libraries are usually
lenient: nothing is coerced (``"false"`` is not a bool, ``"42"`` is not an int, ``123`` is
not a name), unknown keys are errors, NaN and Infinity are refused, and each field is
checked for its format and range. All problems of one document come back together in one
:class:`~qleads.errors.InvalidDocument`, each with a dotted path (``contact.postal_code``,
``costs.per_month.savings``, ``roof.tilt_deg``); problems of the document as a whole have
the path ``$``.

The field rules themselves are data (:data:`qleads.document_rules.SECTION_RULES`): the
converter here is built from them, and so is the JSON Schema of the lead document
(:func:`qleads.document_schema.lead_document_schema`), which states every rule below
exactly.

The wire format (the public body of the intake API)
---------------------------------------------------
::

    {
      "source_id":   string, 1-64 characters of [A-Za-z0-9._:-], exactly as sent
      "received_at": optional RFC 3339 date-time WITH a UTC offset ("2018-07-27T09:00:00+02:00"
                     or "...Z"), from 2000-01-01 on and at most 5 minutes after arrival;
                     stored in UTC. A naive time is an error.
      "contact": {
        "name":         string <= 200
        "street":       string <= 200
        "postal_code":  string <= 10, format per country (below)
        "city":         string <= 100
        "country":      assigned ISO 3166-1 alpha-2 code in upper case ("DE")
        "email":        e-mail address (local@domain.tld, <= 254 characters, local part <= 64)
        "phone":        optional, 3-20 digits with + ( ) / . - and spaces, <= 40
        "reachability": optional string <= 200   (Erreichbarkeit)
        "comment":      optional string <= 2000, may contain line breaks
      },
      "consumption": {
        "persons":          integer 1-50
        "annual_kwh":       integer 1-1000000
        "price_ct_per_kwh": decimal 0-500 (ct per kWh)
        "main_usage":       optional string <= 100   (Wochentags, Wochenende, abends ...)
      },
      "roof": {
        "area_m2":          decimal 0-100000
        "tilt_deg":         integer 0-90
        "azimuth_deg":      integer 0-360
        "modules":          string <= 500   (the chosen module(s))
        "module_count":     integer 1-10000
        "storage_interest": true or false
      },
      "costs": {
        "per_month":      {"with_pv": money, "without_pv": money, "savings": optional money},
        "per_year":       {... the same ...},
        "after_20_years": {... the same ...}
      },
      "eco_balance": {
        "co2_saving_kg": integer 0-999999999,
        "trees_planted": integer 0-999999999
      }
    }

*Strings* are strings only; text is NFC-normalised and surrounding white space is
stripped, and a required string may not be blank. Lengths count characters as sent (and
again after normalisation). No control characters anywhere (Unicode category Cc,
line/paragraph separators, lone surrogates, bidi overrides), so a name like
``"Max\\r\\nBcc: x"`` can never reach a mail header; only ``comment`` may contain line
breaks (``\\r\\n`` is stored as ``\\n``). An optional field may be left out or be ``null``.

*Integers* are JSON integers (``3``, and, as in JSON Schema, ``3.0``), not ``"3"``, not
``true``.

*Decimals and money* are a JSON number or a decimal string (``15``, ``15.5``, ``"15.00"``;
a string without leading zeros or exponent), never a bool, NaN or Infinity, with at most
two decimal places, stored as ``Decimal`` quantised to cents (R1: money is never float).
Money is ``>= 0`` and ``< 10^9``. ``savings`` is optional and, when given, must equal
``without_pv - with_pv``: the model derives it, so a sender whose arithmetic disagrees is
told rather than ignored.

*Postal codes*: DE five digits (``04107``); AT and CH four digits (``1010``); NL four
digits and two capital letters (``1234 AB``, also accepted without the space and stored
with it); any other country 3-10 letters, digits, spaces or dashes.

*received_at* cannot lie after the lead's arrival (plus :data:`RECEIVED_AT_LEEWAY` for the
sender's clock): that bound needs "now", so :func:`parse_document` checks it when given
``now`` and ``LeadDesk.intake`` always does (:func:`check_received_at` for a document built
in code).

This module validates; it does not decode or store. The strict JSON loader, the stored
form and the fingerprint that makes intake idempotent are the document's codec
(:mod:`qleads.documents`); routing a lead to its territory is :mod:`qleads.routing`.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

from qleads import documents
from qleads.document_rules import (
    EARLIEST_RECEIVED_AT,
    RECEIVED_AT,
    RECEIVED_AT_LEEWAY,
    SAVINGS,
    SECTION_RULES,
    FieldInvalid,
    PostalCode,
    Rule,
    describe,
    received_at_problem,
)
from qleads.errors import FieldError, InvalidDocument
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
    "EARLIEST_RECEIVED_AT",
    "MAX_JSON_BYTES",
    "RECEIVED_AT_LEEWAY",
    "check_received_at",
    "parse_document",
    "parse_json",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], T]

#: Upper bound of a JSON body handed to :func:`parse_json`; a real lead is a few KiB.
MAX_JSON_BYTES = 1 << 20

#: Names this module had before the codec and routing had modules of their own; they
#: still work, with a DeprecationWarning, until qleads 0.3.
_MOVED = {
    "MAX_JSON_DEPTH": "qleads.documents",
    "decode_json": "qleads.documents",
    "document_fingerprint": "qleads.documents",
    "structure_stored_document": "qleads.documents",
    "unstructure_document": "qleads.documents",
    "route": "qleads.routing",
}

# --- class hooks -------------------------------------------------------------------------


def _require_object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldInvalid(f"expected a JSON object, got {describe(value)}")
    return value


def _noted(exc: Exception, name: str, type_: Any) -> Exception:
    """Attach the note cattrs uses to say which attribute an error belongs to."""
    exc.add_note(AttributeValidationNote(f"Structuring attribute {name}", name, type_))
    return exc


def _object_hook(generated: Callable[[Mapping[str, Any], Any], T]) -> _Hook[T]:
    def structure(value: Any, cl: Any) -> T:
        return generated(_require_object(value), cl)

    return structure


def _contact_hook(generated: Callable[[Mapping[str, Any], Any], Contact]) -> _Hook[Contact]:
    """Contact's fields, plus the one rule across two of them: postal code by country."""
    rules = SECTION_RULES[Contact]
    postal_code = rules["postal_code"]
    assert isinstance(postal_code, PostalCode)

    def structure(value: Any, cl: Any) -> Contact:
        raw = _require_object(value)
        errors: list[Exception] = []
        contact: Contact | None = None
        try:
            contact = generated(raw, cl)
        except ClassValidationError as exc:
            errors.extend(exc.exceptions)
        try:
            code: str | None = postal_code.parse(raw.get("postal_code"))
        except FieldInvalid:
            code = None  # the field hook has reported this already
        try:
            country: str | None = rules["country"].parse(raw.get("country"))
        except FieldInvalid:
            country = None  # reported by the field hook too
        if code is not None:
            try:
                normalized = postal_code.for_country(country, code)
            except FieldInvalid as exc:
                errors.append(_noted(exc, "postal_code", str))
            else:
                if contact is not None:
                    contact = attrs.evolve(contact, postal_code=normalized)
        if errors or contact is None:
            raise ClassValidationError("While structuring Contact", errors, Contact)
        return contact

    return structure


def _cost_row_hook(generated: Callable[[Mapping[str, Any], Any], CostRow]) -> _Hook[CostRow]:
    """A cost row; the sender's optional ``savings`` is checked against the derived one."""

    def structure(value: Any, cl: Any) -> CostRow:
        raw = _require_object(value)
        errors: list[Exception] = []
        row: CostRow | None = None
        try:
            row = generated({k: v for k, v in raw.items() if k != "savings"}, cl)
        except ClassValidationError as exc:
            errors.extend(exc.exceptions)
        given = raw.get("savings")
        if given is not None:
            try:
                savings = SAVINGS.parse(given)
                if row is not None and savings != row.savings:
                    raise FieldInvalid(
                        f"must equal without_pv - with_pv ({row.savings}), got {savings}"
                    )
            except FieldInvalid as exc:
                errors.append(_noted(exc, "savings", Decimal))
        if errors or row is None:
            raise ClassValidationError("While structuring CostRow", errors, CostRow)
        return row

    return structure


def _field_hook(rule: Rule) -> _Hook[Any]:
    def structure(value: Any, _: Any) -> Any:
        return rule.parse(value)

    return structure


def _make_converter() -> cattrs.Converter:
    """The intake's own converter: the rules of ``SECTION_RULES`` for every field, unknown
    keys rejected.

    Private on purpose (never cattrs' global converter): nobody else's hooks can loosen it.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def fn(cl: type[T]) -> Callable[[Mapping[str, Any], Any], T]:
        overrides: dict[str, Any] = {
            name: override(struct_hook=_field_hook(rule))
            for name, rule in SECTION_RULES.get(cl, {}).items()
        }
        return make_dict_structure_fn(cl, converter, **overrides)

    converter.register_structure_hook(Contact, _contact_hook(fn(Contact)))
    converter.register_structure_hook(CostRow, _cost_row_hook(fn(CostRow)))
    for cl in (Consumption, Roof, Costs, EcoBalance, Consent, LeadDocument):
        converter.register_structure_hook(cl, _object_hook(fn(cl)))
    return converter


@functools.cache
def _converter() -> cattrs.Converter:
    return _make_converter()


# --- errors ------------------------------------------------------------------------------


def _path(parts: tuple[str, ...]) -> str:
    return ".".join(parts) if parts else "$"


def _field_errors(exc: BaseException, parts: tuple[str, ...] = ()) -> list[FieldError]:
    """Flatten cattrs' nested validation errors into (dotted path, message) pairs."""
    if isinstance(exc, ClassValidationError):
        errors: list[FieldError] = []
        noted, others = exc.group_exceptions()
        for sub, note in noted:
            errors.extend(_field_errors(sub, (*parts, note.name)))
        for sub in others:
            errors.extend(_field_errors(sub, parts))
        return errors
    if isinstance(exc, ForbiddenExtraKeysError):
        return [
            FieldError(_path((*parts, documents.printable(str(key)))), "unknown key")
            for key in sorted(exc.extra_fields, key=str)
        ]
    if isinstance(exc, KeyError):  # a required key was missing from the object
        return [FieldError(_path(parts), "is required")]
    if isinstance(exc, FieldInvalid):
        return [FieldError(_path(parts), str(exc))]
    raise exc  # a bug in a hook, not a problem of the document: don't disguise it


# --- public API --------------------------------------------------------------------------


def parse_document(raw: Mapping[str, object], *, now: dt.datetime | None = None) -> LeadDocument:
    """Validate a JSON-like mapping in full and return the document (R1).

    With ``now`` (the time the document arrives), ``received_at`` is also checked against
    it (:func:`check_received_at`); ``LeadDesk.intake`` always passes it.

    Raises :class:`InvalidDocument` carrying every field error at once; nothing partial is
    ever returned, so a caller that stores only what this returns stores nothing on error.
    """
    errors: list[FieldError] = []
    document: LeadDocument | None = None
    try:
        document = _converter().structure(raw, LeadDocument)
    except ClassValidationError as exc:
        errors = _field_errors(exc)
    except FieldInvalid as exc:
        raise InvalidDocument([FieldError("$", str(exc))]) from None
    if now is not None:
        received = document.received_at if document is not None else _received_at_of(raw)
        problem = None if received is None else received_at_problem(received, now)
        if problem is not None:
            errors.append(FieldError("received_at", problem))
    if errors or document is None:
        raise InvalidDocument(errors)
    return document


def _received_at_of(raw: Mapping[str, object]) -> dt.datetime | None:
    """``received_at`` of a document that failed elsewhere, if it is itself valid."""
    try:
        value: dt.datetime | None = RECEIVED_AT.parse(raw.get("received_at"))
    except FieldInvalid:
        return None
    return value


def check_received_at(document: LeadDocument, now: dt.datetime) -> LeadDocument:
    """``document`` if its ``received_at`` may be when it arrived at ``now`` (R1): aware,
    from :data:`EARLIEST_RECEIVED_AT` on, at most :data:`RECEIVED_AT_LEEWAY` after ``now``.

    For documents built in code rather than parsed; raises :class:`InvalidDocument` naming
    ``received_at``.
    """
    if document.received_at is not None:
        problem = received_at_problem(document.received_at, now)
        if problem is not None:
            raise InvalidDocument([FieldError("received_at", problem)])
    return document


def parse_json(text: str | bytes, *, now: dt.datetime | None = None) -> LeadDocument:
    """Decode a JSON body (:func:`qleads.documents.decode_json`) and validate it (R1,
    :func:`parse_document`).

    A body that is not a JSON object is an error at path ``$``.
    """
    if len(text) > MAX_JSON_BYTES:
        raise InvalidDocument([FieldError("$", f"is larger than {MAX_JSON_BYTES} bytes")])
    raw = documents.decode_json(text)
    if not isinstance(raw, dict):
        raise InvalidDocument([FieldError("$", f"expected a JSON object, got {describe(raw)}")])
    return parse_document(raw, now=now)


def __getattr__(name: str) -> object:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"qleads.intake.{name} is deprecated: import it from {home} (it goes in qleads 0.3)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)
