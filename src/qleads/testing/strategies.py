"""Hypothesis strategies for lead documents, shared by every test layer.

They produce the *raw* JSON-like dicts the solar calculator sends (the wire format of
``qleads.intake``), because that is what R1 validates: :func:`lead_documents` only valid
ones, in every spelling the format allows (money as number or string, optional fields left
out or ``null``, received times in any offset); :func:`invalid_mutations` breaks exactly one
field and names the path the error must carry.

:func:`stored_leads` draws the other side: whole :class:`~qleads.model.Lead` values as a
repository stores them, every field varied, for the round-trip properties of the
contract suites.

Like ``cattrs``' ``tests/strategies.py``, one module so that the unit tests, the adapter
contract suite and the state machine draw from the same documents.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from qleads.lifecycle import Status
from qleads.model import (
    Consumption,
    Contact,
    CostRow,
    Costs,
    Deadline,
    DeadlineKind,
    EcoBalance,
    Lead,
    LeadDocument,
    Roof,
)
from qleads.testing.documents import GERMAN_PLACES, PLACES, manual_example_document

__all__ = [
    "GERMAN_PLACES",
    "INVALID_MUTATIONS",
    "PLACES",
    "Mutator",
    "invalid_mutations",
    "lead_documents",
    "manual_example_document",
    "source_ids",
    "stored_leads",
]


_NAMES = ("Test3 DEipzig", "Anna Müller", "Jürgen Weiß", "Zoë O'Brien", "Łukasz Nowak")
_STREETS = ("Härtelstraße 32", "Hauptstraße 1a", "Am Markt 5", "Karl-Liebknecht-Str. 100")
_MODULES = ("Q.PEAK DUO BLK-G5 und Q.PEAK DUO-G5", "Q.PEAK DUO-G5", "Q.TRON BLK M-G2+")
_USAGES = ("Wochentags", "Wochenende", "abends", "ganztägig")
_ZONES: tuple[dt.tzinfo, ...] = (
    dt.UTC,
    ZoneInfo("Europe/Berlin"),
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
)

Mutator = Callable[[dict[str, Any]], dict[str, Any]]


def source_ids() -> st.SearchStrategy[str]:
    """Valid ``source_id`` values: 1-64 characters of ``[A-Za-z0-9._:-]``."""
    return st.one_of(
        st.integers(min_value=1, max_value=10**9).map(lambda n: f"solarrechner-{n}"),
        st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True),
    )


def _free_text(max_size: int, *, multiline: bool = False) -> st.SearchStrategy[str]:
    """Any letters, digits, punctuation and spaces, never empty after stripping."""
    alphabet = st.characters(
        categories=("L", "N", "P", "Zs"), include_characters="\n" if multiline else ""
    )
    return st.text(alphabet, min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


def _emails() -> st.SearchStrategy[str]:
    local = st.from_regex(r"[a-z0-9]{1,10}([._+-][a-z0-9]{1,10}){0,2}", fullmatch=True)
    label = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10})?", fullmatch=True)
    tld = st.sampled_from(("de", "com", "org", "info", "eu", "net", "co.uk"))
    return st.builds(
        lambda user, labels, top: f"{user}@{'.'.join(labels)}.{top}",
        local,
        st.lists(label, min_size=1, max_size=3),
        tld,
    )


def _phones() -> st.SearchStrategy[str]:
    return st.from_regex(r"(\+49 ?|0)[1-9][0-9]{2,4}[ /-]?[0-9]{4,8}", fullmatch=True)


def _amount(cents: int) -> st.SearchStrategy[object]:
    """One amount of money in each spelling the wire format allows."""
    exact = Decimal(cents) / 100
    choices: list[object] = [f"{exact:.2f}", format(exact, "f"), cents / 100]
    if cents % 100 == 0:
        choices.append(cents // 100)
    return st.sampled_from(choices)


@st.composite
def _decimal_value(draw: st.DrawFn, maximum: int) -> object:
    return draw(_amount(draw(st.integers(min_value=0, max_value=maximum * 100))))


@st.composite
def _cost_row(draw: st.DrawFn) -> dict[str, object]:
    with_cents = draw(st.integers(min_value=0, max_value=10**8))
    without_cents = draw(st.integers(min_value=0, max_value=10**8))
    row: dict[str, object] = {
        "with_pv": draw(_amount(with_cents)),
        "without_pv": draw(_amount(without_cents)),
    }
    if draw(st.booleans()):
        row["savings"] = draw(_amount(without_cents - with_cents))
    return row


def _received_at() -> st.SearchStrategy[object]:
    # Hypothesis wants naive bounds and adds the zone itself.
    instants = st.datetimes(
        min_value=dt.datetime(2015, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.sampled_from(_ZONES),
    )
    return st.one_of(
        instants.map(lambda d: d.isoformat()),
        instants.map(lambda d: d.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"),
        st.none(),
    )


def _maybe(
    draw: st.DrawFn, target: dict[str, object], key: str, values: st.SearchStrategy[object]
) -> None:
    """Optional fields: left out, ``null``, or a value."""
    choice = draw(st.sampled_from(("absent", "null", "value")))
    if choice == "null":
        target[key] = None
    elif choice == "value":
        target[key] = draw(values)


@st.composite
def _documents(draw: st.DrawFn, countries: tuple[str, ...]) -> dict[str, Any]:
    country = draw(st.sampled_from(countries))
    postal_code, city = draw(st.sampled_from(PLACES[country]))
    contact: dict[str, object] = {
        "name": draw(st.one_of(st.sampled_from(_NAMES), _free_text(60))),
        "street": draw(st.one_of(st.sampled_from(_STREETS), _free_text(60))),
        "postal_code": postal_code,
        "city": city,
        "country": country,
        "email": draw(_emails()),
    }
    _maybe(draw, contact, "phone", _phones())
    _maybe(draw, contact, "reachability", st.sampled_from(("immer", "abends", "")))
    _maybe(draw, contact, "comment", _free_text(300, multiline=True))
    consumption: dict[str, object] = {
        "persons": draw(st.integers(min_value=1, max_value=50)),
        "annual_kwh": draw(st.integers(min_value=1, max_value=1_000_000)),
        "price_ct_per_kwh": draw(_decimal_value(500)),
    }
    _maybe(draw, consumption, "main_usage", st.sampled_from(_USAGES))
    document: dict[str, Any] = {
        "source_id": draw(source_ids()),
        "contact": contact,
        "consumption": consumption,
        "roof": {
            "area_m2": draw(_decimal_value(100_000)),
            "tilt_deg": draw(st.integers(min_value=0, max_value=90)),
            "azimuth_deg": draw(st.integers(min_value=0, max_value=360)),
            "modules": draw(st.one_of(st.sampled_from(_MODULES), _free_text(100))),
            "module_count": draw(st.integers(min_value=1, max_value=10_000)),
            "storage_interest": draw(st.booleans()),
        },
        "costs": {
            "per_month": draw(_cost_row()),
            "per_year": draw(_cost_row()),
            "after_20_years": draw(_cost_row()),
        },
        "eco_balance": {
            "co2_saving_kg": draw(st.integers(min_value=0, max_value=10**8)),
            "trees_planted": draw(st.integers(min_value=0, max_value=10**6)),
        },
    }
    _maybe(draw, document, "received_at", _received_at())
    return document


def lead_documents(*, countries: Sequence[str] = ("DE",)) -> st.SearchStrategy[dict[str, Any]]:
    """Valid raw lead documents (R1): every value passes ``qleads.intake.parse_document``.

    ``countries`` picks from ``PLACES`` (DE, AT, CH, NL); German postal codes and cities
    are real ones, so routing by prefix behaves as it would in production.
    """
    unknown = set(countries) - PLACES.keys()
    if unknown:
        raise ValueError(f"no places known for {sorted(unknown)}; choose from {sorted(PLACES)}")
    return _documents(tuple(countries))


# --- one broken field at a time ----------------------------------------------------------

_DELETE = object()


def _parent(document: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    *parents, key = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    return target, key


def _setting(path: str, value: object) -> Mutator:
    """A mutator that sets (or, with ``_DELETE``, removes) the field at ``path``."""

    def mutate(document: dict[str, Any]) -> dict[str, Any]:
        broken = copy.deepcopy(document)
        target, key = _parent(broken, path)
        if value is _DELETE:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)
        return broken

    return mutate


def _wrong_savings(row: str) -> Mutator:
    def mutate(document: dict[str, Any]) -> dict[str, Any]:
        broken = copy.deepcopy(document)
        broken["costs"][row] = {"with_pv": "10.00", "without_pv": "20.00", "savings": "5.00"}
        return broken

    return mutate


#: Every (mutator, path) pair :func:`invalid_mutations` draws from, for parametrised tests.
INVALID_MUTATIONS: tuple[tuple[Mutator, str], ...] = (
    (_setting("source_id", ""), "source_id"),
    (_setting("source_id", "has space"), "source_id"),
    (_setting("source_id", 279), "source_id"),
    (_setting("source_id", "x" * 65), "source_id"),
    (_setting("source_id", _DELETE), "source_id"),
    (_setting("received_at", "2018-07-27T09:00:00"), "received_at"),
    (_setting("received_at", "27.07.2018"), "received_at"),
    (_setting("received_at", 1532674800), "received_at"),
    (_setting("contact", "Test3 DEipzig"), "contact"),
    (_setting("contact.name", 123), "contact.name"),
    (_setting("contact.name", "Max\r\nBcc: x"), "contact.name"),
    (_setting("contact.name", "   "), "contact.name"),
    (_setting("contact.name", "x" * 201), "contact.name"),
    (_setting("contact.street", None), "contact.street"),
    (_setting("contact.street", "Am Markt\t5"), "contact.street"),
    (_setting("contact.postal_code", "12"), "contact.postal_code"),
    (_setting("contact.postal_code", 4107), "contact.postal_code"),
    (_setting("contact.city", _DELETE), "contact.city"),
    (_setting("contact.city", "Leipzig\u202e"), "contact.city"),
    (_setting("contact.country", "de"), "contact.country"),
    (_setting("contact.country", "XX"), "contact.country"),
    (_setting("contact.country", "DEU"), "contact.country"),
    (_setting("contact.email", "not-an-email"), "contact.email"),
    (_setting("contact.email", "a b@example.org"), "contact.email"),
    (_setting("contact.email", "max@localhost"), "contact.email"),
    (_setting("contact.phone", "call me maybe"), "contact.phone"),
    (_setting("contact.comment", "x" * 2001), "contact.comment"),
    (_setting("contact.comment", "bell\x07"), "contact.comment"),
    (_setting("contact.fax", "0341 123456"), "contact.fax"),
    (_setting("consumption.persons", "3"), "consumption.persons"),
    (_setting("consumption.persons", 0), "consumption.persons"),
    (_setting("consumption.persons", 51), "consumption.persons"),
    (_setting("consumption.persons", True), "consumption.persons"),
    (_setting("consumption.persons", 3.5), "consumption.persons"),
    (_setting("consumption.annual_kwh", 0), "consumption.annual_kwh"),
    (_setting("consumption.annual_kwh", 1_000_001), "consumption.annual_kwh"),
    (_setting("consumption.price_ct_per_kwh", "29,5"), "consumption.price_ct_per_kwh"),
    (_setting("consumption.price_ct_per_kwh", float("nan")), "consumption.price_ct_per_kwh"),
    (_setting("consumption.price_ct_per_kwh", 500.01), "consumption.price_ct_per_kwh"),
    (_setting("consumption.price_ct_per_kwh", False), "consumption.price_ct_per_kwh"),
    (_setting("consumption.main_usage", 7), "consumption.main_usage"),
    (_setting("roof.area_m2", "Infinity"), "roof.area_m2"),
    (_setting("roof.area_m2", -1), "roof.area_m2"),
    (_setting("roof.tilt_deg", 91), "roof.tilt_deg"),
    (_setting("roof.tilt_deg", -1), "roof.tilt_deg"),
    (_setting("roof.azimuth_deg", 361), "roof.azimuth_deg"),
    (_setting("roof.modules", ""), "roof.modules"),
    (_setting("roof.module_count", 0), "roof.module_count"),
    (_setting("roof.storage_interest", "false"), "roof.storage_interest"),
    (_setting("roof.storage_interest", 0), "roof.storage_interest"),
    (_setting("roof.color", "red"), "roof.color"),
    (_setting("roof", _DELETE), "roof"),
    (_setting("costs.per_month.with_pv", -1), "costs.per_month.with_pv"),
    (_setting("costs.per_month.with_pv", float("inf")), "costs.per_month.with_pv"),
    (_setting("costs.per_month.with_pv", "15.001"), "costs.per_month.with_pv"),
    (_setting("costs.per_year.without_pv", 10**9), "costs.per_year.without_pv"),
    (_setting("costs.per_year.without_pv", True), "costs.per_year.without_pv"),
    (_setting("costs.per_year.savings", "viel"), "costs.per_year.savings"),
    (_wrong_savings("after_20_years"), "costs.after_20_years.savings"),
    (_setting("costs.after_20_years", [1, 2]), "costs.after_20_years"),
    (_setting("eco_balance.co2_saving_kg", "14365"), "eco_balance.co2_saving_kg"),
    (_setting("eco_balance.trees_planted", -1), "eco_balance.trees_planted"),
    (_setting("eco_balance", []), "eco_balance"),
    (_setting("extra", "surprise"), "extra"),
)


def invalid_mutations() -> st.SearchStrategy[tuple[Mutator, str]]:
    """Pairs of (mutator, path): the mutator returns a copy of a valid raw document with
    exactly that one field broken, and R1 must reject it with exactly one error at path."""
    return st.sampled_from(INVALID_MUTATIONS)


# --- leads as a repository stores them ----------------------------------------------------


def _stored_instants() -> st.SearchStrategy[dt.datetime]:
    return st.datetimes(
        # Hypothesis wants naive bounds and adds the zone itself.
        min_value=dt.datetime(2018, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    )


def _stored_money() -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(0), max_value=Decimal("999999.99"), places=2, allow_nan=False
    )


_STORED_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
)


@st.composite
def stored_leads(draw: st.DrawFn) -> Lead:
    """Draft leads with every field varied, for round-trip properties. The ``source_id``
    is the same for every draw: callers make it unique."""
    received = draw(_stored_instants())
    status = draw(st.sampled_from(Status))
    held = status is not Status.NEW
    holder = draw(st.sampled_from(["i-anna", "i-ben", "i-ümit"])) if held else None
    deadline = draw(
        st.none() | st.builds(Deadline, kind=st.sampled_from(DeadlineKind), at=_stored_instants())
    )
    document = LeadDocument(
        source_id="drawn-lead",
        contact=Contact(
            name=draw(_STORED_TEXT),
            street=draw(_STORED_TEXT),
            postal_code=draw(st.from_regex(r"\A[0-9]{5}\Z")),
            city=draw(_STORED_TEXT),
            country="DE",
            email=draw(st.emails(domains=st.just("example.org"))),
            phone=draw(_STORED_TEXT),
            reachability=draw(_STORED_TEXT),
            comment=draw(_STORED_TEXT),
        ),
        consumption=Consumption(
            persons=draw(st.integers(1, 50)),
            annual_kwh=draw(st.integers(0, 100_000)),
            price_ct_per_kwh=draw(_stored_money()),
            main_usage=draw(_STORED_TEXT),
        ),
        roof=Roof(
            area_m2=draw(_stored_money()),
            tilt_deg=draw(st.integers(0, 90)),
            azimuth_deg=draw(st.integers(0, 360)),
            modules=draw(_STORED_TEXT),
            module_count=draw(st.integers(0, 500)),
            storage_interest=draw(st.booleans()),
        ),
        costs=Costs(
            per_month=CostRow(with_pv=draw(_stored_money()), without_pv=draw(_stored_money())),
            per_year=CostRow(with_pv=draw(_stored_money()), without_pv=draw(_stored_money())),
            after_20_years=CostRow(with_pv=draw(_stored_money()), without_pv=draw(_stored_money())),
        ),
        eco_balance=EcoBalance(
            co2_saving_kg=draw(st.integers(0, 10**7)),
            trees_planted=draw(st.integers(0, 10**6)),
        ),
        received_at=draw(st.none() | st.just(received)),
    )
    return Lead(
        id=0,
        document=document,
        received_at=received,
        territory_id=draw(st.none() | st.sampled_from(["t-leipzig", "t-dresden", "t-münchen"])),
        status=status,
        status_at=draw(_stored_instants()),
        holder_id=holder,
        hold_until=draw(st.none() | _stored_instants()) if held else None,
        due_at=draw(st.none() | _stored_instants()),
        deadline=deadline,
        previous_holders=draw(st.frozensets(st.sampled_from(["i-anna", "i-ben", "i-carl"]))),
        version=draw(st.integers(1, 1000)),
    )
