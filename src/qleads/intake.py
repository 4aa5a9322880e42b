"""Intake (R1): the solar calculator's JSON in, a validated :class:`LeadDocument` out.

R1 asks for a document that is validated in full before anything is stored, with every
field error reported at once. So this module is strict where JSON libraries are usually
lenient: nothing is coerced (``"false"`` is not a bool, ``"42"`` is not an int, ``123`` is
not a name), unknown keys are errors, NaN and Infinity are refused, and each field is
checked for its format and range. All problems of one document come back together in one
:class:`~qleads.errors.InvalidDocument`, each with a dotted path (``contact.postal_code``,
``costs.per_month.savings``, ``roof.tilt_deg``); problems of the document as a whole have
the path ``$``.

The wire format (the public body of the intake API)
---------------------------------------------------
::

    {
      "source_id":   string, 1-64 characters of [A-Za-z0-9._:-]   (R1 idempotency key)
      "received_at": optional ISO 8601 date-time WITH a UTC offset ("2018-07-27T09:00:00+02:00"
                     or "...Z"); stored in UTC. A naive time is an error.
      "contact": {
        "name":         string <= 200
        "street":       string <= 200
        "postal_code":  string, format per country (below)
        "city":         string <= 100
        "country":      ISO 3166-1 alpha-2 code in upper case ("DE")
        "email":        e-mail address (local@domain.tld, <= 254 characters)
        "phone":        optional, digits with + ( ) / . - and spaces, <= 40
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

*Strings* are strings only; surrounding whitespace is stripped, text is NFC-normalised, and
a required string may not be empty. No control characters anywhere (Unicode category Cc,
line/paragraph separators, lone surrogates, bidi overrides), so a name like
``"Max\\r\\nBcc: x"`` can never reach a mail header; only ``comment`` may contain line
breaks (``\\r\\n`` is stored as ``\\n``). An optional field may be left out or be ``null``.

*Integers* are JSON integers only (not ``3.0``, not ``"3"``, not ``true``).

*Decimals and money* are a JSON number or a decimal string (``15``, ``15.5``, ``"15.00"``),
never a bool, NaN or Infinity, with at most two decimal places, stored as ``Decimal``
quantised to cents (R1: money is never float). Money is ``>= 0`` and ``< 10^9``.
``savings`` is optional and, when given, must equal ``without_pv - with_pv``: the model
derives it, so a sender whose arithmetic disagrees is told rather than ignored.

*Postal codes*: DE five digits (``04107``); AT and CH four digits (``1010``); NL four
digits and two capital letters (``1234 AB``, also accepted without the space and stored
with it); any other country 3-10 letters, digits, spaces or dashes.

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
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

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

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_MONEY_LIMIT = Decimal(10**9)
_COUNT_LIMIT = 999_999_999

#: ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table reads better than 249 quoted strings
)

_POSTAL_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "DE": (re.compile(r"[0-9]{5}"), "5 digits, like 04107"),
    "AT": (re.compile(r"[1-9][0-9]{3}"), "4 digits, like 1010"),
    "CH": (re.compile(r"[1-9][0-9]{3}"), "4 digits, like 8001"),
    "NL": (re.compile(r"([1-9][0-9]{3}) ?([A-Z]{2})"), "4 digits and 2 letters, like 1234 AB"),
}
_OTHER_POSTAL = (
    re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]"),
    "3 to 10 letters, digits, spaces or dashes",
)

_SOURCE_ID = re.compile(r"[A-Za-z0-9._:-]+")
_DECIMAL_TEXT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,12})?")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PHONE = re.compile(r"\+?[0-9(][0-9 ()/.-]*")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


class _Invalid(ValueError):
    """One field's problem; the message is what the sender of the document reads."""


# --- field hooks -------------------------------------------------------------------------


def _describe(value: object) -> str:
    """A short, safe rendering of a wrong value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float | Decimal):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def _check_characters(text: str, *, multiline: bool) -> None:
    if text.isprintable():  # fast path: no character below is printable
        return
    for char in text:
        if char == "\n" and multiline:
            continue
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            raise _Invalid(f"must not contain control characters (found U+{ord(char):04X})")


def _clean_text(value: object, max_length: int, *, multiline: bool = False) -> str:
    """The strict string rule: a str, no control characters, NFC, stripped, not too long."""
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_describe(value)}")
    if len(value) > 4 * max_length + 64:  # don't normalise megabytes just to reject them
        raise _Invalid(f"must be at most {max_length} characters long")
    if multiline:
        value = value.replace("\r\n", "\n")
    text = unicodedata.normalize("NFC", value)
    _check_characters(text, multiline=multiline)
    text = text.strip()
    if len(text) > max_length:
        raise _Invalid(f"must be at most {max_length} characters long (got {len(text)})")
    return text


def _text(max_length: int, *, required: bool = True, multiline: bool = False) -> _Hook[str]:
    def structure(value: Any, _: Any) -> str:
        if value is None and not required:
            return ""
        text = _clean_text(value, max_length, multiline=multiline)
        if required and not text:
            raise _Invalid("must not be empty")
        return text

    return structure


def _integer(minimum: int, maximum: int) -> _Hook[int]:
    def structure(value: Any, _: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {_describe(value)}")
        if not minimum <= value <= maximum:
            raise _Invalid(f"must be between {minimum} and {maximum}, got {value}")
        return int(value)

    return structure


def _boolean(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe(value)}")
    return value


def _to_decimal(value: object) -> Decimal:
    """A JSON number or decimal string as an exact ``Decimal``; floats via their repr."""
    if isinstance(value, bool):
        raise _Invalid(f"expected a number or a decimal string, got {_describe(value)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid("must be a finite number, not NaN or Infinity")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Invalid("must be a finite number, not NaN or Infinity")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL_TEXT.fullmatch(text) is None:
            raise _Invalid(f'expected a decimal number like "15.00", got {_describe(value)}')
        return Decimal(text)
    raise _Invalid(f"expected a number or a decimal string, got {_describe(value)}")


def _to_cents(number: Decimal) -> Decimal:
    """Quantise to 0.01, refusing to round: money that would change is an error."""
    quantized = number.quantize(_CENT)
    if quantized != number:
        raise _Invalid(f"must have at most 2 decimal places, got {number}")
    return _ZERO if quantized.is_zero() else quantized


def _decimal(
    minimum: Decimal, maximum: Decimal, *, maximum_included: bool = True
) -> _Hook[Decimal]:
    def structure(value: Any, _: Any) -> Decimal:
        number = _to_decimal(value)
        if number < minimum:
            raise _Invalid(f"must be at least {minimum}, got {number}")
        if number > maximum or (number == maximum and not maximum_included):
            relation = "at most" if maximum_included else "less than"
            raise _Invalid(f"must be {relation} {maximum}, got {number}")
        return _to_cents(number)

    return structure


_money = _decimal(Decimal(0), _MONEY_LIMIT, maximum_included=False)


def _signed_money(value: object) -> Decimal:
    number = _to_decimal(value)
    if abs(number) >= _MONEY_LIMIT:
        raise _Invalid(f"must be less than {_MONEY_LIMIT} in magnitude, got {number}")
    return _to_cents(number)


def _source_id(value: Any, _: Any) -> str:
    text = _clean_text(value, 64)
    if not text:
        raise _Invalid("must not be empty")
    if _SOURCE_ID.fullmatch(text) is None:
        raise _Invalid("may only contain letters A-Z, a-z, digits and . _ : -")
    return text


def _country(value: Any, _: Any) -> str:
    text = _clean_text(value, 2)
    if text not in _COUNTRIES:
        raise _Invalid('must be an ISO 3166 alpha-2 country code in upper case, like "DE"')
    return text


def _email(value: Any, _: Any) -> str:
    text = _clean_text(value, 254)
    if not text:
        raise _Invalid("must not be empty")
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    valid = (
        bool(at)
        and len(local) <= 64
        and _EMAIL_LOCAL.fullmatch(local) is not None
        and len(labels) >= 2
        and all(
            0 < len(label) <= 63
            and not label.startswith("-")
            and not label.endswith("-")
            and all(char.isalnum() or char == "-" for char in label)
            for label in labels
        )
        and ((labels[-1].isalpha() and len(labels[-1]) >= 2) or labels[-1].startswith("xn--"))
    )
    if not valid:
        raise _Invalid("is not a valid e-mail address (expected name@example.org)")
    return text


def _phone(value: Any, _: Any) -> str:
    if value is None:
        return ""
    text = _clean_text(value, 40)
    digits = sum(char.isdigit() for char in text)
    if text and (_PHONE.fullmatch(text) is None or not 3 <= digits <= 20):
        raise _Invalid("is not a phone number (digits, spaces and + ( ) / . - only)")
    return text


def _received_at(value: Any, _: Any) -> dt.datetime | None:
    if value is None:
        return None
    text = _clean_text(value, 40)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(
            f'expected an ISO 8601 date-time like "2018-07-27T09:00:00+02:00", '
            f"got {_describe(value)}"
        ) from None
    if parsed.utcoffset() is None:
        raise _Invalid('must include a UTC offset, like "+02:00" or "Z"')
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise _Invalid("is out of range") from None


def _normalize_postal_code(country: str | None, code: str) -> str:
    """Check a postal code against its country's format (R1 routing relies on it).

    Without a valid country only the general shape is checked: every country format is a
    special case of it, so a code that fails it is wrong wherever the lead comes from.
    """
    if country is None:
        if _OTHER_POSTAL[0].fullmatch(code) is None:
            raise _Invalid(f"is not a postal code (expected {_OTHER_POSTAL[1]})")
        return code
    pattern, shape = _POSTAL_FORMATS.get(country, _OTHER_POSTAL)
    match = pattern.fullmatch(code)
    if match is None:
        raise _Invalid(f"is not a postal code of {country} (expected {shape})")
    if country == "NL":
        return f"{match[1]} {match[2]}"
    return code


# --- class hooks -------------------------------------------------------------------------


def _require_object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected a JSON object, got {_describe(value)}")
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

    def structure(value: Any, cl: Any) -> Contact:
        raw = _require_object(value)
        errors: list[Exception] = []
        contact: Contact | None = None
        try:
            contact = generated(raw, cl)
        except ClassValidationError as exc:
            errors.extend(exc.exceptions)
        try:
            code = _clean_text(raw.get("postal_code"), 10)
        except _Invalid:
            code = None  # the field hook has reported this already
        try:
            country: str | None = _country(raw.get("country"), str)
        except _Invalid:
            country = None  # reported by the field hook too
        if code is not None:
            try:
                normalized = _normalize_postal_code(country, code)
            except _Invalid as exc:
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
                savings = _signed_money(given)
                if row is not None and savings != row.savings:
                    raise _Invalid(
                        f"must equal without_pv - with_pv ({row.savings}), got {savings}"
                    )
            except _Invalid as exc:
                errors.append(_noted(exc, "savings", Decimal))
        if errors or row is None:
            raise ClassValidationError("While structuring CostRow", errors, CostRow)
        return row

    return structure


def _make_converter() -> cattrs.Converter:
    """The intake's own converter: strict hooks for every field, unknown keys rejected.

    Private on purpose (never cattrs' global converter): nobody else's hooks can loosen it.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def fn(cl: type[T], **hooks: _Hook[Any]) -> Callable[[Mapping[str, Any], Any], T]:
        overrides: dict[str, Any] = {
            name: override(struct_hook=hook) for name, hook in hooks.items()
        }
        return make_dict_structure_fn(cl, converter, **overrides)

    converter.register_structure_hook(
        Contact,
        _contact_hook(
            fn(
                Contact,
                name=_text(200),
                street=_text(200),
                postal_code=_text(10),
                city=_text(100),
                country=_country,
                email=_email,
                phone=_phone,
                reachability=_text(200, required=False),
                comment=_text(2000, required=False, multiline=True),
            )
        ),
    )
    converter.register_structure_hook(
        Consumption,
        _object_hook(
            fn(
                Consumption,
                persons=_integer(1, 50),
                annual_kwh=_integer(1, 1_000_000),
                price_ct_per_kwh=_decimal(Decimal(0), Decimal(500)),
                main_usage=_text(100, required=False),
            )
        ),
    )
    converter.register_structure_hook(
        Roof,
        _object_hook(
            fn(
                Roof,
                area_m2=_decimal(Decimal(0), Decimal(100_000)),
                tilt_deg=_integer(0, 90),
                azimuth_deg=_integer(0, 360),
                modules=_text(500),
                module_count=_integer(1, 10_000),
                storage_interest=_boolean,
            )
        ),
    )
    converter.register_structure_hook(
        CostRow, _cost_row_hook(fn(CostRow, with_pv=_money, without_pv=_money))
    )
    converter.register_structure_hook(Costs, _object_hook(fn(Costs)))
    converter.register_structure_hook(
        EcoBalance,
        _object_hook(
            fn(
                EcoBalance,
                co2_saving_kg=_integer(0, _COUNT_LIMIT),
                trees_planted=_integer(0, _COUNT_LIMIT),
            )
        ),
    )
    converter.register_structure_hook(
        LeadDocument,
        _object_hook(fn(LeadDocument, source_id=_source_id, received_at=_received_at)),
    )
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
            FieldError(_path((*parts, str(key))), "unknown key")
            for key in sorted(exc.extra_fields, key=str)
        ]
    if isinstance(exc, KeyError):  # a required key was missing from the object
        return [FieldError(_path(parts), "is required")]
    if isinstance(exc, _Invalid):
        return [FieldError(_path(parts), str(exc))]
    raise exc  # a bug in a hook, not a problem of the document: don't disguise it


# --- public API --------------------------------------------------------------------------


def parse_document(raw: Mapping[str, object]) -> LeadDocument:
    """Validate a JSON-like mapping in full and return the document (R1).

    Raises :class:`InvalidDocument` carrying every field error at once; nothing partial is
    ever returned, so a caller that stores only what this returns stores nothing on error.
    """
    try:
        return _converter().structure(raw, LeadDocument)
    except ClassValidationError as exc:
        raise InvalidDocument(_field_errors(exc)) from None
    except _Invalid as exc:
        raise InvalidDocument([FieldError("$", str(exc))]) from None


def _reject_constant(name: str) -> object:
    raise _Invalid(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Invalid(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(text: str | bytes) -> LeadDocument:
    """Parse a JSON body and validate it (R1).

    Stricter than ``json.loads``: ``NaN``/``Infinity`` literals and duplicate keys are
    refused, and a body that is not a JSON object is an error at path ``$``.
    """
    if len(text) > MAX_JSON_BYTES:
        raise InvalidDocument([FieldError("$", f"is larger than {MAX_JSON_BYTES} bytes")])
    try:
        raw = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except _Invalid as exc:
        raise InvalidDocument([FieldError("$", str(exc))]) from None
    except json.JSONDecodeError as exc:
        raise InvalidDocument([FieldError("$", f"is not valid JSON: {exc}")]) from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, huge integers, deep nesting
        raise InvalidDocument([FieldError("$", f"is not valid JSON: {exc}")]) from None
    if not isinstance(raw, dict):
        raise InvalidDocument([FieldError("$", f"expected a JSON object, got {_describe(raw)}")])
    return parse_document(raw)


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
