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

Routing (R1) is :func:`route`: the territory of the contact's country with the longest
prefix of the postal code; no match means *unrouted*, which the caller keeps and lists for
admins. Idempotency (R1) is :func:`document_fingerprint`: the same ``source_id`` with the
same fingerprint is the same lead, a different fingerprint is an ``IntakeConflict``.

Storage adapters keep the document as JSON: :func:`unstructure_document` writes it (money as
strings, instants as ISO 8601) and :func:`structure_stored_document` reads it back without
re-validating, because the library wrote it itself and it is read for every row of a tab.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

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
from qleads.errors import FieldError, InvalidDocument, StorageError
from qleads.model import (
    Consumption,
    Contact,
    CostRow,
    Costs,
    EcoBalance,
    LeadDocument,
    Roof,
    Territory,
)

__all__ = [
    "EARLIEST_RECEIVED_AT",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "RECEIVED_AT_LEEWAY",
    "check_received_at",
    "decode_json",
    "document_fingerprint",
    "parse_document",
    "parse_json",
    "route",
    "structure_stored_document",
    "unstructure_document",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], T]

#: Upper bound of a JSON body handed to :func:`parse_json`; a real lead is a few KiB.
MAX_JSON_BYTES = 1 << 20
#: The deepest nesting :func:`decode_json` reads; a lead document is three levels deep.
MAX_JSON_DEPTH = 32

_CENT = Decimal("0.01")
_LONGEST_INTEGER = 40  # digits; longer JSON integers are read as Decimal, not int
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


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
    for cl in (Consumption, Roof, Costs, EcoBalance, LeadDocument):
        converter.register_structure_hook(cl, _object_hook(fn(cl)))
    return converter


@functools.cache
def _converter() -> cattrs.Converter:
    return _make_converter()


# --- errors ------------------------------------------------------------------------------


def _path(parts: tuple[str, ...]) -> str:
    return ".".join(parts) if parts else "$"


def _printable(text: str) -> str:
    """``text`` with control characters and surrogates escaped (``\\u000a``), so that an
    unknown key can be named in a message or a log line without carrying them."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
            FieldError(_path((*parts, _printable(str(key)))), "unknown key")
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


def _reject_constant(name: str) -> object:
    raise FieldInvalid(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise FieldInvalid(f"duplicate key {_printable(key)!r}")
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
                raise FieldInvalid(f"has a lone surrogate in the string at '{_pointer(path)}'")
            continue
        if len(path) >= MAX_JSON_DEPTH:
            raise FieldInvalid(f"is nested more than {MAX_JSON_DEPTH} levels deep")
        for key, child in children:
            if strings and isinstance(key, str) and _SURROGATE.search(key):
                raise FieldInvalid(f"has a lone surrogate in the key '{_pointer((*path, key))}'")
            if strings or isinstance(child, dict | list):
                stack.append((child, (*path, str(key))))


def _pointer(path: tuple[str, ...]) -> str:
    """The JSON Pointer of ``path``, safe to show (surrogates escaped)."""
    return _printable("".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path))


def _may_hold_surrogates(text: str) -> bool:
    """Whether decoding ``text`` can have made a lone surrogate: only a ``\\u`` escape
    can, or a str that holds one already; most bodies have neither."""
    if "\\u" in text:
        return True
    return not text.isascii() and _SURROGATE.search(text) is not None


def decode_json(text: str | bytes) -> object:
    """Strict JSON (RFC 8259 narrowed to I-JSON, RFC 7493), as the intake reads it.

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
    except FieldInvalid as exc:
        raise InvalidDocument([FieldError("$", str(exc))]) from None
    except json.JSONDecodeError as exc:
        message = f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InvalidDocument([FieldError("$", message)]) from None
    except RecursionError:
        raise InvalidDocument([FieldError("$", "is nested too deeply")]) from None
    return value


def parse_json(text: str | bytes, *, now: dt.datetime | None = None) -> LeadDocument:
    """Parse a JSON body (:func:`decode_json`) and validate it (R1, :func:`parse_document`).

    A body that is not a JSON object is an error at path ``$``.
    """
    if len(text) > MAX_JSON_BYTES:
        raise InvalidDocument([FieldError("$", f"is larger than {MAX_JSON_BYTES} bytes")])
    raw = decode_json(text)
    if not isinstance(raw, dict):
        raise InvalidDocument([FieldError("$", f"expected a JSON object, got {describe(raw)}")])
    return parse_document(raw, now=now)


def route(
    contact_country: str, postal_code: str, territories: Iterable[Territory]
) -> Territory | None:
    """The territory a lead belongs to (R1): same country, longest matching prefix.

    Spaces are ignored on both sides (NL "1234 AB"). An empty prefix covers the whole
    country and loses to any longer one. Equal lengths (overlapping territories, a data
    error) go to the smallest territory id, so the answer never depends on input order.
    ``None`` means unrouted: the caller keeps the lead and lists it for admins.
    """
    code = postal_code.replace(" ", "")
    best: Territory | None = None
    best_length = -1
    for territory in territories:
        if territory.country != contact_country:
            continue
        for prefix in territory.prefixes:
            compact = prefix.replace(" ", "")
            if not code.startswith(compact):
                continue
            length = len(compact)
            if length > best_length or (
                length == best_length and best is not None and territory.id < best.id
            ):
                best, best_length = territory, length
    return best


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

    Every field is written (optional ones as ``""`` or ``null``) and ``savings`` is
    included, so the result is itself valid input for :func:`parse_document` and
    ``parse_document(unstructure_document(d)) == d``.
    """
    contact = doc.contact
    consumption = doc.consumption
    roof = doc.roof
    costs = doc.costs
    return {
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
        )
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise StorageError(f"stored lead document is malformed: {exc!r}") from exc


def document_fingerprint(doc: LeadDocument) -> str:
    """SHA-256 of the canonical JSON of the whole document (R1 idempotency).

    Canonical means sorted keys, no whitespace, ASCII escapes and the normalised values of
    :func:`unstructure_document`, so it is independent of key order and of how the sender
    spelled numbers (``15``, ``15.0``, ``"15.00"``).
    """
    canonical = json.dumps(
        unstructure_document(doc), sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
