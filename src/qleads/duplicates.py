"""Duplicate detection at intake (R1, beyond the manual): the same person asking again.

A submission matches an earlier lead when any *match key* is the same: the normalised
e-mail address, the normalised phone number, or the street with house number and the
postal code. Only leads received within ``Policy.duplicate_window_days`` before it count.
A match is stored as a duplicate linked to its original and held back in the rep's queue
(:mod:`qleads.rep_queue`): it is never offered to installers, the holder of the original
is told "Kunde hat erneut angefragt", and the rep can unlink it to distribute it.

A match key is a SHA-256 digest of ``kind:normalised value``, so the key table holds no
readable personal data and its index serves every lookup; it still derives from personal
data, and a lead's erasure deletes its keys (``UnitOfWork.clear_match_keys``, R14).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

import attrs

from qleads.documents import unstructure_document
from qleads.model import Contact, LeadDocument
from qleads.visibility import PERSONAL_FIELDS

__all__ = [
    "MatchValues",
    "changes",
    "match_keys",
    "match_values",
    "normal_address",
    "normal_email",
    "normal_phone",
]

#: Country calling codes of the countries qleads routes to, for phone numbers written
#: internationally (+49 341 … and 0341 … are the same number in Germany).
_CALLING_CODES: Final[Mapping[str, str]] = {
    "AT": "43", "BE": "32", "CH": "41", "CZ": "420", "DE": "49", "DK": "45", "FR": "33",
    "GB": "44", "IT": "39", "LI": "423", "LU": "352", "NL": "31", "PL": "48",
}  # fmt: skip
_NOT_DIGIT: Final = re.compile(r"\D")
_STREET_WORD: Final = re.compile(r"(stra(ss|ß)e|str\.?)(?=\s|\d|$)")
_NOT_WORD: Final = re.compile(r"[^0-9a-z]")
_MIN_PHONE_DIGITS: Final = 6


def normal_email(email: str) -> str:
    """Lower case, trimmed; ``""`` for no address."""
    return email.strip().casefold()


def normal_phone(phone: str, country: str = "DE") -> str:
    """Digits in national form: ``+49 341 1406-5515``, ``0049 3411406 5515`` and
    ``0341 14065515`` are all ``034114065515``; ``""`` for fewer than six digits."""
    text = phone.strip()
    digits = _NOT_DIGIT.sub("", text)
    code = _CALLING_CODES.get(country)
    international = text.startswith("+") or digits.startswith("00")
    if international:
        digits = digits.removeprefix("00")
        if code is not None and digits.startswith(code):
            digits = "0" + digits[len(code) :]
        else:
            digits = "+" + digits
    return digits if len(digits.lstrip("+")) >= _MIN_PHONE_DIGITS else ""


def normal_address(street: str, postal_code: str) -> str:
    """Street and house number without case, accents, spaces or punctuation, with
    "Straße", "Strasse" and "Str." alike, and the postal code: ``Härtelstraße 32`` and
    ``Haertelstr. 32`` in 04107 match. ``""`` when the street has no house number."""
    text = street.strip().casefold()
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = _STREET_WORD.sub("str", text.replace("strasse", "str"))
    text = _NOT_WORD.sub("", text)
    if not any(ch.isdigit() for ch in text) or not postal_code.strip():
        return ""
    return f"{postal_code.strip().casefold()}|{text}"


@attrs.frozen
class MatchValues:
    """The normalised values of a contact that identify its person (``""``: none)."""

    email: str
    phone: str
    address: str


def match_values(contact: Contact) -> MatchValues:
    return MatchValues(
        email=normal_email(contact.email),
        phone=normal_phone(contact.phone, contact.country),
        address=normal_address(contact.street, contact.postal_code),
    )


def match_keys(contact: Contact) -> tuple[str, ...]:
    """The digests a lead is found by, one per value it has."""
    values = attrs.asdict(match_values(contact))
    return tuple(
        hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
        for kind, value in values.items()
        if value
    )


def changes(original: LeadDocument, again: LeadDocument) -> list[str]:
    """What the new submission says differently, field by field (``contact.phone``,
    ``consumption.annual_kwh: 4000 → 5200``). The new values of the customer's personal
    fields are not repeated: the rep and the holder see them in the lead itself."""
    before = _flat(unstructure_document(original))
    after = _flat(unstructure_document(again))
    lines: list[str] = []
    for path in sorted(before.keys() | after.keys()):
        if path in {"source_id", "received_at"} or before.get(path) == after.get(path):
            continue
        section, _, field = path.partition(".")
        if section == "contact" and field in PERSONAL_FIELDS:
            lines.append(path)
        else:
            lines.append(f"{path}: {_shown(before.get(path))} → {_shown(after.get(path))}")
    return lines


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _shown(value: object) -> str:
    return "–" if value is None or value == "" else str(value)
