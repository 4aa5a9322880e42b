"""The lead document's field rules (R1), as data.

Each rule is one small frozen object that does two things from the same numbers and
patterns: :meth:`parse` checks a value the way the intake must, and :meth:`json_schema`
says the same thing as JSON Schema. ``qleads.intake`` builds its strict converter from
:data:`SECTION_RULES`; ``qleads.document_schema`` builds the published schema of the lead
document from the very same table, so the two cannot drift apart.

A rule checks the value *as sent*: a pattern is matched against the raw text (JSON
Schema cannot see normalisation), and only then is free text NFC-normalised and
stripped. Where a rule cannot be said in JSON Schema (the normalised length of free
text, the earliest ``received_at``), the schema carries it in an ``x-qleads-*`` member
and a description; the cross-field rules (postal code by country, savings) live in
``qleads.intake`` and ``qleads.document_schema``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol

import attrs

from qleads.countries import COUNTRIES
from qleads.errors import QleadsError
from qleads.model import Consent, Consumption, Contact, CostRow, EcoBalance, LeadDocument, Roof

__all__ = [
    "COUNTRIES",
    "EARLIEST_RECEIVED_AT",
    "MONEY",
    "POSTAL_FORMATS",
    "RECEIVED_AT",
    "RECEIVED_AT_LEEWAY",
    "SAVINGS",
    "SECTION_RULES",
    "SPACE",
    "Amount",
    "Country",
    "Email",
    "FieldInvalid",
    "Flag",
    "Instant",
    "Integer",
    "Phone",
    "PostalCode",
    "Rule",
    "SourceId",
    "Text",
    "describe",
    "received_at_problem",
]


class FieldInvalid(QleadsError, ValueError):
    """One field's problem; the message is what the sender of the document reads.
    ``qleads.intake`` gathers them, with their paths, into one ``InvalidDocument``."""

    code = "field_invalid"


class Rule(Protocol):
    """A field rule: checks a value (``None`` only reaches optional fields) and states
    itself as JSON Schema (without ``null``; the schema builder adds it for optional
    fields)."""

    def parse(self, value: object) -> Any: ...

    def json_schema(self) -> dict[str, object]: ...


# --- characters --------------------------------------------------------------------------

#: The white space a sender may put around a value: what ``str.strip`` removes, less the
#: control characters (which are refused anywhere). A regex character-class body.
SPACE: Final = r" \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACE_CHARS: Final = (
    " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + ("\u202f\u205f\u3000")
)
#: Refused in every string: C0/C1 controls (category Cc), line and paragraph separators
#: (Zl, Zp), bidi overrides and isolates. So a name like ``"Max\r\nBcc: x"`` never
#: reaches a mail header. (A character-class body for the published patterns.)
_CONTROLS: Final = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: Lone surrogates (Cs) are refused too. JSON Schema validators cannot even hold such
#: a string (it is not Unicode text; the intake API refuses it as malformed JSON), so
#: the published patterns leave them out and only the server's own check names them.
_SURROGATES: Final = r"\ud800-\udfff"
_FORBIDDEN: Final = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
_FORBIDDEN_IN_MULTILINE: Final = re.compile(f"(?!\\r?\\n)[{_CONTROLS}{_SURROGATES}]")


def describe(value: object) -> str:
    """A short, safe rendering of a wrong value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float | Decimal):
        return f"number {_number_text(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def _number_text(value: int | float | Decimal) -> str:
    """A number for a message; a 5000-digit one is cut, not printed in full."""
    if isinstance(value, int) and value.bit_length() > 130:  # str() refuses 4300+ digits
        return "with more than 40 digits"
    text = str(value)
    return text if len(text) <= 40 else text[:20] + "..."


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise FieldInvalid(f"expected a string, got {describe(value)}")
    return value


def _at_most(text: str, max_length: int) -> None:
    if len(text) > max_length:
        raise FieldInvalid(f"must be at most {max_length} characters long (got {len(text)})")


def _no_controls(text: str, *, multiline: bool = False) -> None:
    found = (_FORBIDDEN_IN_MULTILINE if multiline else _FORBIDDEN).search(text)
    if found is not None:
        raise FieldInvalid(
            f"must not contain control characters (found U+{ord(found.group()):04X})"
        )


def _spaced(body: str) -> str:
    """The JSON Schema pattern of ``body`` with optional white space around it."""
    return f"^[{SPACE}]*(?:{body})[{SPACE}]*$"


# --- text --------------------------------------------------------------------------------


@attrs.frozen
class Text:
    """Free text: at most ``max_length`` characters as sent and after NFC normalisation,
    no control characters (``multiline`` text may hold ``\\n`` and ``\\r\\n``, stored as
    ``\\n``), stripped; a required text may not be blank. An optional one reads ``null``
    as ``""``."""

    max_length: int
    required: bool = True
    multiline: bool = False

    def parse(self, value: object) -> str:
        if value is None and not self.required:
            return ""
        text = _string(value)
        _at_most(text, self.max_length)
        _no_controls(text, multiline=self.multiline)
        if self.multiline:
            text = text.replace("\r\n", "\n")
        text = unicodedata.normalize("NFC", text).strip()
        if self.required and not text:
            raise FieldInvalid("must not be empty")
        if len(text) > self.max_length:  # NFC may lengthen a few rare characters
            raise FieldInvalid(
                f"must be at most {self.max_length} characters long after NFC "
                f"normalisation (got {len(text)})"
            )
        return text

    def json_schema(self) -> dict[str, object]:
        char = f"(?:[^{_CONTROLS}]|\\r?\\n)" if self.multiline else f"[^{_CONTROLS}]"
        blank_allowed = not self.required
        pattern = f"^{char}*$" if blank_allowed else f"^{char}*[^{_CONTROLS}{SPACE}]{char}*$"
        return {
            "type": "string",
            "maxLength": self.max_length,
            "pattern": pattern,
            "x-qleads-normalized-max-length": self.max_length,
            "description": (
                "Free text"
                + (", line breaks allowed" if self.multiline else "")
                + "; no control characters"
                + ("; not blank" if self.required else "")
                + f". Stored NFC-normalised and stripped, at most {self.max_length} "
                "characters then too."
            ),
        }


#: The calculator's own id: letters, digits and ``. _ : -``, exactly as sent.
_SOURCE_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@attrs.frozen
class SourceId:
    """The calculator's id of a lead (R1 idempotency): taken exactly as sent."""

    def parse(self, value: object) -> str:
        text = _string(value)
        if not text:
            raise FieldInvalid("must not be empty")
        _at_most(text, 64)
        if _SOURCE_ID.fullmatch(text) is None:
            raise FieldInvalid("may only contain letters A-Z, a-z, digits and . _ : -")
        return text

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": f"^{_SOURCE_ID.pattern}$",
            "description": "The calculator's own id; intake is idempotent on it (R1).",
        }


@attrs.frozen
class Country:
    """An assigned ISO 3166-1 alpha-2 code in upper case, exactly as sent."""

    def parse(self, value: object) -> str:
        text = _string(value)
        if text not in COUNTRIES:
            raise FieldInvalid('must be an ISO 3166 alpha-2 country code in upper case, like "DE"')
        return text

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "enum": sorted(COUNTRIES),
            "description": "ISO 3166-1 alpha-2, an assigned code in upper case.",
        }


# The local part: 1-64 of these and dots, a dot neither at either end nor next to
# another (the second rule is the schema's "not", which generators rarely need).
_LOCAL_CHARS: Final = r"-A-Za-z0-9!#$%&'*+/=?^_`{|}~"
_LOCAL: Final = f"[{_LOCAL_CHARS}](?:[{_LOCAL_CHARS}.]{{0,62}}[{_LOCAL_CHARS}])?"
_DOUBLE_DOT: Final = re.compile(r"\.\.")
# Domain labels may hold Latin letters (müller-solar.de) as well as their xn-- form.
_LABEL_CHAR: Final = r"A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LABEL: Final = f"[{_LABEL_CHAR}](?:[{_LABEL_CHAR}-]{{0,61}}[{_LABEL_CHAR}])?"
_TOP_LABEL: Final = r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9](?:[A-Za-z0-9-]{0,57}[A-Za-z0-9])?)"
_ADDRESS: Final = f"{_LOCAL}@(?:{_LABEL}\\.)+{_TOP_LABEL}"
_EMAIL: Final = re.compile(_ADDRESS)


@attrs.frozen
class Email:
    """An address ``local@domain.tld``, at most 254 characters: the local part 1-64
    ASCII characters (letters, digits, ``!#$%&'*+/=?^_`{|}~-`` and single dots, not at
    either end), the domain in Latin letters or in its ``xn--`` form. Surrounding white
    space is stripped."""

    def parse(self, value: object) -> str:
        text = _string(value)
        _at_most(text, 254)
        text = text.strip(_SPACE_CHARS)
        if not text:
            raise FieldInvalid("must not be empty")
        if _EMAIL.fullmatch(text) is None or _DOUBLE_DOT.search(text) is not None:
            raise FieldInvalid("is not a valid e-mail address (expected name@example.org)")
        return text

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "maxLength": 254,
            "pattern": _spaced(_ADDRESS),
            "not": {"pattern": _DOUBLE_DOT.pattern},
            "description": "name@example.org; a domain in Latin letters or its xn-- form.",
        }


# Digits with + ( ) / . - and spaces: 3 to 20 digits, starting with a digit or "(".
_PHONE_FILL: Final = r"[ ()/.-]*"
_PHONE: Final = (
    rf"\+?(?:[0-9](?:{_PHONE_FILL}[0-9]){{2,19}}|\((?:{_PHONE_FILL}[0-9]){{3,20}}){_PHONE_FILL}"
)
_PHONE_RE: Final = re.compile(_PHONE)


@attrs.frozen
class Phone:
    """An optional phone number: 3 to 20 digits with ``+ ( ) / . -`` and spaces, at most
    40 characters; blank or ``null`` means none (``""``)."""

    def parse(self, value: object) -> str:
        if value is None:
            return ""
        text = _string(value)
        _at_most(text, 40)
        text = text.strip(_SPACE_CHARS)
        if text and _PHONE_RE.fullmatch(text) is None:
            raise FieldInvalid(
                "is not a phone number (3 to 20 digits, with spaces and + ( ) / . - only)"
            )
        return text

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "maxLength": 40,
            "pattern": _spaced(f"(?:{_PHONE})?"),
            "description": "3 to 20 digits with + ( ) / . - and spaces; blank means none.",
        }


#: Postal code formats by country: (pattern, how it reads); NL is stored as "1234 AB".
POSTAL_FORMATS: Final[Mapping[str, tuple[str, str]]] = {
    "DE": ("[0-9]{5}", "5 digits, like 04107"),
    "AT": ("[1-9][0-9]{3}", "4 digits, like 1010"),
    "CH": ("[1-9][0-9]{3}", "4 digits, like 8001"),
    "NL": ("([1-9][0-9]{3}) ?([A-Z]{2})", "4 digits and 2 letters, like 1234 AB"),
}
_ANY_POSTAL: Final = (
    "[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]",
    "3 to 10 letters, digits, spaces or dashes",
)


@attrs.frozen
class PostalCode:
    """A postal code, at most 10 characters, stripped. Its format depends on the country
    (:data:`POSTAL_FORMATS`; other countries :data:`_ANY_POSTAL`), so :meth:`parse` only
    takes the text and :meth:`for_country` checks it."""

    def parse(self, value: object) -> str:
        text = _string(value)
        _at_most(text, 10)
        return text.strip(_SPACE_CHARS)

    def for_country(self, country: str | None, code: str) -> str:
        """``code`` checked against ``country``'s format (R1 routing relies on it). Without
        a valid country only the general shape is checked: every format is a special
        case of it, so a code that fails it is wrong wherever the lead comes from."""
        if country is None:
            if re.fullmatch(_ANY_POSTAL[0], code) is None:
                raise FieldInvalid(f"is not a postal code (expected {_ANY_POSTAL[1]})")
            return code
        pattern, shape = POSTAL_FORMATS.get(country, _ANY_POSTAL)
        match = re.fullmatch(pattern, code)
        if match is None:
            raise FieldInvalid(f"is not a postal code of {country} (expected {shape})")
        if country == "NL":
            return f"{match[1]} {match[2]}"
        return code

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "maxLength": 10,
            "pattern": _spaced(_ANY_POSTAL[0]),
            "description": "Format by country (see the contact's anyOf): DE five digits; "
            "AT, CH four digits; NL '1234 AB' (also without the space); any other "
            f"country {_ANY_POSTAL[1]}.",
        }

    @staticmethod
    def country_schemas() -> list[dict[str, object]]:
        """The contact's variants by country, one of which it must match: each format's
        countries with their postal code pattern, and every other country with the
        general shape (an ``anyOf`` rather than ``if``/``then``, so that generators can
        pick a variant instead of filtering)."""
        by_format: dict[str, list[str]] = {}
        for country, (pattern, _) in POSTAL_FORMATS.items():
            by_format.setdefault(pattern, []).append(country)
        variants: list[dict[str, object]] = [
            {
                "properties": {
                    "country": {"enum": countries},
                    "postal_code": {"pattern": _spaced(pattern)},
                }
            }
            for pattern, countries in by_format.items()
        ]
        others = sorted(COUNTRIES - set(POSTAL_FORMATS))
        variants.append({"properties": {"country": {"enum": others}}})
        return variants


# --- numbers -----------------------------------------------------------------------------


@attrs.frozen
class Integer:
    """A JSON integer from ``minimum`` to ``maximum``. Like JSON Schema, a number with a
    zero fraction (``3.0``) is that integer; ``"3"`` and ``true`` are not numbers."""

    minimum: int
    maximum: int

    def parse(self, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | Decimal = value
        elif isinstance(value, float | Decimal) and _integral(value):
            number = Decimal(value)
        else:
            raise FieldInvalid(f"expected an integer, got {describe(value)}")
        if not self.minimum <= number <= self.maximum:
            raise FieldInvalid(
                f"must be between {self.minimum} and {self.maximum}, got {_number_text(value)}"
            )
        return int(number)

    def json_schema(self) -> dict[str, object]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


def _integral(value: float | Decimal) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return value.is_finite() and value == value.to_integral_value()


_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal("0.00")
#: A decimal string's fraction: at most two digits that count, then up to ten zeros.
_FRACTION: Final = r"(?:\.[0-9]{1,2}0{0,10})?"
_LOOSE_DECIMAL: Final = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")


def _below(limit: int) -> str:
    """A pattern of the integers ``0 <= n < limit`` without leading zeros, for a limit
    ``d * 10**k`` (the only kind the rules use)."""
    text = str(limit)
    head, zeros = int(text[0]), len(text) - 1
    if limit < 1 or text[1:] != "0" * zeros:
        raise ValueError(f"{limit} is not a digit times a power of ten")
    parts = ["0"]
    if zeros:
        parts.append(f"[1-9][0-9]{{0,{zeros - 1}}}")
    if head > 1:
        lead = "1" if head == 2 else f"[1-{head - 1}]"
        parts.append(f"{lead}[0-9]{{{zeros}}}" if zeros else lead)
    return "|".join(parts)


@attrs.frozen
class Amount:
    """A decimal (money, prices, areas): a JSON number or a decimal string, never a bool,
    with at most two decimal places, stored as ``Decimal`` quantised to cents (R1: money
    is never float). ``0 <= x``, and ``x <= limit`` (``limit_included``) or
    ``x < limit``; a ``signed`` amount is bounded by ``-limit < x`` instead of ``0``.
    A string is written without leading zeros or exponent (``"15"``, ``"15.5"``,
    ``"15.00"``); white space around it is stripped."""

    limit: int
    limit_included: bool = True
    signed: bool = False
    description: str = ""

    def parse(self, value: object) -> Decimal:
        number = self._number(value)
        if self.signed and number <= -self.limit:
            raise FieldInvalid(f"must be greater than {-self.limit}, got {_number_text(number)}")
        if not self.signed and number < 0:
            raise FieldInvalid(f"must be at least 0, got {_number_text(number)}")
        if number > self.limit or (number == self.limit and not self.limit_included):
            relation = "at most" if self.limit_included else "less than"
            raise FieldInvalid(f"must be {relation} {self.limit}, got {_number_text(number)}")
        quantized = number.quantize(_CENT)
        if quantized != number:
            raise FieldInvalid(f"must have at most 2 decimal places, got {_number_text(number)}")
        if isinstance(value, str) and self._text_pattern().fullmatch(value) is None:
            # The value is right but its spelling is not (e.g. "015.00").
            raise FieldInvalid(
                f'must be written like "15.00" (no leading zeros, no exponent), '
                f"got {describe(value)}"
            )
        return _ZERO if quantized.is_zero() else quantized

    def _number(self, value: object) -> Decimal:
        """The exact value: a float by its shortest repr (what the sender wrote)."""
        if isinstance(value, bool):
            raise FieldInvalid(f"expected a number or a decimal string, got {describe(value)}")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float | Decimal):
            number = Decimal(repr(value)) if isinstance(value, float) else value
            if not number.is_finite():
                raise FieldInvalid("must be a finite number, not NaN or Infinity")
            return number
        if isinstance(value, str):
            text = value.strip(_SPACE_CHARS)
            if _LOOSE_DECIMAL.fullmatch(text) is None:
                raise FieldInvalid(f'expected a decimal number like "15.00", got {describe(value)}')
            try:
                return Decimal(text)
            except InvalidOperation:  # pragma: no cover - the pattern rules it out
                raise FieldInvalid(f"is not a number: {describe(value)}") from None
        raise FieldInvalid(f"expected a number or a decimal string, got {describe(value)}")

    def _text_pattern(self) -> re.Pattern[str]:
        return re.compile(_spaced(self._text_body()))

    def _text_body(self) -> str:
        below = f"(?:{_below(self.limit)}){_FRACTION}"
        if self.signed:
            return f"-?{below}"
        if self.limit_included:
            return f"{below}|{self.limit}(?:\\.0{{1,12}})?"
        return below

    def json_schema(self) -> dict[str, object]:
        number: dict[str, object] = {"type": "number", "multipleOf": 0.01}
        if self.signed:
            number["exclusiveMinimum"] = -self.limit
        else:
            number["minimum"] = 0
        number["maximum" if self.limit_included else "exclusiveMaximum"] = self.limit
        return {
            "description": (self.description + " " if self.description else "")
            + "A JSON number or a decimal string, at most two decimal places.",
            "anyOf": [number, {"type": "string", "pattern": _spaced(self._text_body())}],
        }


@attrs.frozen
class Flag:
    """``true`` or ``false``, nothing else (not ``"false"``, not ``0``)."""

    def parse(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise FieldInvalid(f"expected true or false, got {describe(value)}")
        return value

    def json_schema(self) -> dict[str, object]:
        return {"type": "boolean"}


# --- instants ----------------------------------------------------------------------------

#: A lead cannot have arrived before this (R1): older dates are typing errors.
EARLIEST_RECEIVED_AT: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How far ``received_at`` may lie after its arrival: the sender's clock may run ahead.
RECEIVED_AT_LEEWAY: Final = dt.timedelta(minutes=5)

# received_at as a pattern, so that the pattern alone keeps it from EARLIEST_RECEIVED_AT
# on: any date of 2001-2099 (leap days included) and of 2000 but its first day, with
# any offset; 2000-01-01 itself only in UTC or west of it.
_MONTH_DAY: Final = (
    r"(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
)
_DAY: Final = (
    rf"20(?:0[1-9]|[1-9][0-9])-(?:{_MONTH_DAY}|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    r"|20(?:0[48]|[2468][048]|[13579][26])-02-29"
    rf"|2000-(?:01-(?:0[2-9]|[12][0-9]|3[01])|0[3578]-(?:0[1-9]|[12][0-9]|3[01])"
    r"|1[02]-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|[12][0-9]))"
)
_TIME: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET: Final = r"[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"
_INSTANT: Final = (
    rf"(?:{_DAY})T{_TIME}(?:Z|{_OFFSET})"
    rf"|2000-01-01T{_TIME}(?:Z|\+00:00|-(?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_INSTANT_RE: Final = re.compile(_INSTANT)


def received_at_problem(received_at: dt.datetime, now: dt.datetime) -> str | None:
    """Why ``received_at`` cannot be when a lead arrived at ``now``, or ``None`` (R1):
    not naive, not before :data:`EARLIEST_RECEIVED_AT`, not after ``now`` plus
    :data:`RECEIVED_AT_LEEWAY`. A later date would make the lead unworkable: every status
    recorded for it would lie before its arrival."""
    if received_at.utcoffset() is None:
        return 'must include a UTC offset, like "+02:00" or "Z"'
    if received_at < EARLIEST_RECEIVED_AT:
        return f"must not be before {EARLIEST_RECEIVED_AT.isoformat()}"
    latest = now + RECEIVED_AT_LEEWAY
    if received_at > latest:
        return (
            f"must not be in the future (at most {int(RECEIVED_AT_LEEWAY.total_seconds()) // 60} "
            f"minutes after arrival, {latest.astimezone(dt.UTC).isoformat()})"
        )
    return None


@attrs.frozen
class Instant:
    """An optional date-time in RFC 3339 form with a UTC offset (``...+02:00`` or
    ``...Z``), stored in UTC; from :data:`EARLIEST_RECEIVED_AT` on. Its upper bound
    needs the arrival time, so :func:`received_at_problem` checks it where "now" is
    known (``LeadDesk.intake``)."""

    required: bool = False  # the consent's time (R14) must be given; received_at need not

    def parse(self, value: object) -> dt.datetime | None:
        if value is None and not self.required:
            return None
        text = _string(value)
        if _INSTANT_RE.fullmatch(text) is None:
            raise FieldInvalid(self._mismatch(text, value))
        # The pattern holds it from EARLIEST_RECEIVED_AT on, and its stored UTC form too.
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)

    @staticmethod
    def _mismatch(text: str, value: object) -> str:
        try:
            parsed = dt.datetime.fromisoformat(text) if len(text) <= 40 else None
        except ValueError:
            parsed = None
        if parsed is not None and parsed.utcoffset() is None:
            return 'must include a UTC offset, like "+02:00" or "Z"'
        if parsed is not None and (parsed.year < 2000 or parsed < EARLIEST_RECEIVED_AT):
            return f"must not be before {EARLIEST_RECEIVED_AT.isoformat()}"
        return (
            'expected an RFC 3339 date-time like "2018-07-27T09:00:00+02:00" from '
            f"2000-01-01T00:00:00Z on (that day in UTC), got {describe(value)}"
        )

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "string",
            "format": "date-time",
            "pattern": f"^(?:{_INSTANT})$",
            "x-qleads-earliest": EARLIEST_RECEIVED_AT.isoformat(),
            "x-qleads-latest": f"arrival + {RECEIVED_AT_LEEWAY.total_seconds() / 60:g} minutes",
            "description": "When the lead was entered, RFC 3339 with a UTC offset "
            '("2018-07-27T09:00:00+02:00" or "...Z"), stored in UTC. Not before '
            f"{EARLIEST_RECEIVED_AT.isoformat()}, not more than "
            f"{RECEIVED_AT_LEEWAY.total_seconds() / 60:g} minutes after the request "
            "arrives (the sender's clock may run a little ahead); left out or null means "
            "the time of arrival.",
        }


# --- the document ------------------------------------------------------------------------

MONEY: Final = Amount(10**9, limit_included=False, description="Euros.")
#: ``savings`` of a cost row: optional, and when given it must equal without - with.
SAVINGS: Final = Amount(
    10**9,
    limit_included=False,
    signed=True,
    description="Optional; must equal without_pv - with_pv (x-qleads-equals).",
)
RECEIVED_AT: Final = Instant()
_COUNT_LIMIT: Final = 999_999_999

#: Every field of every object of the lead document, by the model class it becomes.
#: A field whose attribute has a default is optional (absent or ``null``).
SECTION_RULES: Final[Mapping[type, Mapping[str, Rule]]] = {
    LeadDocument: {"source_id": SourceId(), "received_at": RECEIVED_AT},
    Contact: {
        "name": Text(200),
        "street": Text(200),
        "postal_code": PostalCode(),
        "city": Text(100),
        "country": Country(),
        "email": Email(),
        "phone": Phone(),
        "reachability": Text(200, required=False),
        "comment": Text(2000, required=False, multiline=True),
    },
    Consumption: {
        "persons": Integer(1, 50),
        "annual_kwh": Integer(1, 1_000_000),
        "price_ct_per_kwh": Amount(500, description="Cent per kWh."),
        "main_usage": Text(100, required=False),
    },
    Roof: {
        "area_m2": Amount(100_000, description="Square metres."),
        "tilt_deg": Integer(0, 90),
        "azimuth_deg": Integer(0, 360),
        "modules": Text(500),
        "module_count": Integer(1, 10_000),
        "storage_interest": Flag(),
    },
    CostRow: {"with_pv": MONEY, "without_pv": MONEY},
    EcoBalance: {
        "co2_saving_kg": Integer(0, _COUNT_LIMIT),
        "trees_planted": Integer(0, _COUNT_LIMIT),
    },
    # R14: which consent text (version or hash), when, on which page: proof, not personal.
    Consent: {
        "text_version": Text(128),
        "given_at": Instant(required=True),
        "source_page": Text(2000, required=False),
    },
}
