"""R1 intake: strict validation of the calculator's JSON, routing, idempotency keys."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qleads.adapters.clock import FrozenClock
from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.desk import LeadDesk
from qleads.documents import (
    MAX_JSON_DEPTH,
    decode_json,
    document_fingerprint,
    structure_stored_document,
    unstructure_document,
)
from qleads.errors import FieldError, InvalidDocument, StorageError
from qleads.intake import (
    EARLIEST_RECEIVED_AT,
    MAX_JSON_BYTES,
    RECEIVED_AT_LEEWAY,
    check_received_at,
    parse_document,
    parse_json,
)
from qleads.model import CostRow, LeadSource, Policy, Territory
from qleads.routing import route, routing_index
from qleads.testing.strategies import (
    INVALID_MUTATIONS,
    Mutator,
    invalid_mutations,
    lead_documents,
    manual_example_document,
)

_MISSING = object()


def changed(path: str, value: object = _MISSING, document: dict[str, Any] | None = None) -> Any:
    """The manual's example with one field set (or removed, when no value is given)."""
    raw = copy.deepcopy(document if document is not None else manual_example_document())
    *parents, key = path.split(".")
    target = raw
    for part in parents:
        target = target[part]
    if value is _MISSING:
        del target[key]
    else:
        target[key] = value
    return raw


def errors_of(raw: Any) -> list[FieldError]:
    with pytest.raises(InvalidDocument) as info:
        parse_document(raw)
    return list(info.value.errors)


def paths_of(raw: Any) -> list[str]:
    return [error.path for error in errors_of(raw)]


def single_error(raw: Any) -> FieldError:
    errors = errors_of(raw)
    assert len(errors) == 1, errors
    return errors[0]


def territory(id: str, *prefixes: str, country: str = "DE") -> Territory:
    return Territory(
        id=id, name=id.title(), country=country, prefixes=frozenset(prefixes), rep_id="rep"
    )


class TestManualExample:
    def test_anlage_2_lead_parses_into_the_domain_document(self) -> None:
        """R1: the manual's Anlage 2 lead is valid and every value lands typed."""
        doc = parse_document(manual_example_document())
        assert doc.source_id == "solarrechner-279"
        assert doc.received_at == dt.datetime(2018, 7, 27, 7, 0, tzinfo=dt.UTC)
        assert doc.contact.name == "Test3 DEipzig"
        assert doc.contact.street == "Härtelstraße 32"
        assert (doc.contact.postal_code, doc.contact.city) == ("04107", "Leipzig")
        assert doc.contact.email == "q-cells@mellowmessage.de"
        assert doc.contact.phone == "034114065515"
        assert doc.contact.reachability == "immer"
        assert doc.consumption.persons == 3
        assert doc.consumption.annual_kwh == 3800
        assert doc.consumption.price_ct_per_kwh == Decimal("29.00")
        assert doc.consumption.main_usage == "Wochentags"
        assert doc.roof.area_m2 == Decimal("99")
        assert (doc.roof.tilt_deg, doc.roof.azimuth_deg) == (30, 180)
        assert doc.roof.modules == "Q.PEAK DUO BLK-G5 und Q.PEAK DUO-G5"
        assert doc.roof.module_count == 16
        assert doc.roof.storage_interest is False
        assert doc.eco_balance.co2_saving_kg == 14365
        assert doc.eco_balance.trees_planted == 195

    def test_money_is_decimal_with_derived_savings(self) -> None:
        """R1: money is Decimal, never float; savings = without - with (77 / 928 / 20479)."""
        costs = parse_document(manual_example_document()).costs
        assert costs.per_month.with_pv == Decimal("15.00")
        assert isinstance(costs.per_month.with_pv, Decimal)
        assert costs.per_month.savings == Decimal("77.00")
        assert costs.per_year.savings == Decimal("928.00")
        assert costs.after_20_years.savings == Decimal("20479.00")


class TestNoCoercion:
    @pytest.mark.parametrize("value", ["false", "no", 0, 1, None])
    def test_a_bool_is_only_a_json_bool(self, value: object) -> None:
        """R1: "false" is not a bool, and neither is 0."""
        error = single_error(changed("roof.storage_interest", value))
        assert error.path == "roof.storage_interest"
        assert "expected true or false" in error.message

    @pytest.mark.parametrize("value", ["42", True, False, 3.5, None, [3]])
    def test_an_int_is_only_a_json_integer(self, value: object) -> None:
        """R1: "42" is not an int, true is not 1, 3.5 is not an integer."""
        error = single_error(changed("consumption.persons", value))
        assert error.path == "consumption.persons"
        assert error.message.startswith("expected an integer")

    @pytest.mark.parametrize("value", [3.0, Decimal("3.0"), Decimal("0.3E+1")])
    def test_an_integral_number_is_that_integer(self, value: object) -> None:
        """R1 as JSON Schema reads it: 3.0 is the number 3, so it is the integer 3."""
        doc = parse_document(changed("consumption.persons", value))
        assert doc.consumption.persons == 3
        assert type(doc.consumption.persons) is int

    @pytest.mark.parametrize("value", [123, 12.5, True, None, ["Max"], {"first": "Max"}])
    def test_a_string_is_only_a_json_string(self, value: object) -> None:
        """R1: 123 is not a name."""
        error = single_error(changed("contact.name", value))
        assert error.path == "contact.name"
        assert error.message.startswith("expected a string")

    @pytest.mark.parametrize("value", [True, False, None, "15,00", "15 €", "1e3", "", [15]])
    def test_money_is_only_a_number_or_a_decimal_string(self, value: object) -> None:
        """R1: money comes from a JSON number or a string like "15.00", nothing else."""
        assert paths_of(changed("costs.per_month.with_pv", value)) == ["costs.per_month.with_pv"]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(15, "15.00"), (15.5, "15.50"), ("15.00", "15.00"), ("15", "15.00"), (0.1, "0.10")],
    )
    def test_money_spellings_become_the_same_cents(self, value: object, expected: str) -> None:
        """R1: every spelling is quantised to cents; a float is read by its repr, exactly."""
        raw = changed(
            "costs.per_month.savings", _MISSING, changed("costs.per_month.with_pv", value)
        )
        with_pv = parse_document(raw).costs.per_month.with_pv
        assert str(with_pv) == expected

    @pytest.mark.parametrize("value", ["15.001", 15.001, "0.005"])
    def test_money_is_never_rounded(self, value: object) -> None:
        """R1: a third decimal place is an error, not silently rounded money."""
        error = single_error(changed("costs.per_month.with_pv", value))
        assert "2 decimal places" in error.message

    def test_a_decimal_field_does_not_take_a_bool(self) -> None:
        """R1: true is not 1 ct."""
        assert paths_of(changed("consumption.price_ct_per_kwh", True)) == [
            "consumption.price_ct_per_kwh"
        ]


class TestKeys:
    @pytest.mark.parametrize(
        "path", ["extra", "contact.fax", "roof.color", "costs.per_month.vat", "eco_balance.x"]
    )
    def test_unknown_keys_are_rejected_at_their_path(self, path: str) -> None:
        """R1: an unknown key is an error named by its own path."""
        error = single_error(changed(path, "surprise"))
        assert error == FieldError(path, "unknown key")

    @pytest.mark.parametrize(
        "path",
        [
            "source_id",
            "contact",
            "contact.name",
            "contact.email",
            "consumption.persons",
            "roof.storage_interest",
            "costs.per_year",
            "costs.per_month.with_pv",
            "eco_balance.trees_planted",
        ],
    )
    def test_missing_required_keys_are_reported_at_their_path(self, path: str) -> None:
        """R1: a missing required key is an error at the key's path."""
        assert single_error(changed(path)) == FieldError(path, "is required")

    @pytest.mark.parametrize(
        "path",
        [
            "received_at",
            "contact.phone",
            "contact.reachability",
            "contact.comment",
            "consumption.main_usage",
            "costs.per_month.savings",
        ],
    )
    @pytest.mark.parametrize("how", ["absent", "null"])
    def test_optional_keys_may_be_absent_or_null(self, path: str, how: str) -> None:
        """R1: optional fields may be left out or sent as null."""
        raw = changed(path) if how == "absent" else changed(path, None)
        parse_document(raw)

    def test_absent_optional_text_is_empty(self) -> None:
        """R1: optional text that was not sent is stored as an empty string."""
        raw = changed("contact.phone", _MISSING, changed("contact.comment", None))
        doc = parse_document(raw)
        assert (doc.contact.phone, doc.contact.comment) == ("", "")

    @pytest.mark.parametrize("value", ["text", 3, [1], None])
    def test_a_section_must_be_an_object(self, value: object) -> None:
        """R1: a section that is not a JSON object is one error at the section's path."""
        error = single_error(changed("roof", value))
        assert error.path == "roof"
        assert error.message.startswith("expected a JSON object")

    @pytest.mark.parametrize("raw", ["text", 3, None, [manual_example_document()]])
    def test_a_document_that_is_not_an_object_is_an_error_at_the_root(self, raw: object) -> None:
        """R1: a root of the wrong kind is reported at path $."""
        [error] = errors_of(raw)
        assert error.path == "$"


class TestNonFiniteNumbers:
    @pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
    def test_nan_and_infinity_literals_in_json_text_are_rejected(self, literal: str) -> None:
        """R1: NaN/Infinity are not JSON; json.loads would accept them, intake does not."""
        text = json.dumps(manual_example_document()).replace('"15.00"', literal, 1)
        with pytest.raises(InvalidDocument) as info:
            parse_json(text)
        assert [e.path for e in info.value.errors] == ["$"]
        assert literal in info.value.errors[0].message

    def test_a_number_too_large_for_a_float_is_rejected(self) -> None:
        """R1: 1e400 reads as infinity; it is refused like Infinity."""
        text = json.dumps(manual_example_document()).replace('"15.00"', "1e400", 1)
        with pytest.raises(InvalidDocument) as info:
            parse_json(text)
        assert [e.path for e in info.value.errors] == ["costs.per_month.with_pv"]

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "NaN", "inf"])
    @pytest.mark.parametrize("path", ["costs.per_year.without_pv", "roof.area_m2"])
    def test_non_finite_values_in_a_mapping_are_rejected(self, path: str, value: object) -> None:
        """R1: NaN/Infinity handed over as Python floats or strings are refused too."""
        assert paths_of(changed(path, value)) == [path]


class TestParseJson:
    def test_valid_json_text_and_bytes_parse(self) -> None:
        """R1: the HTTP body, as text or bytes, parses like the mapping."""
        text = json.dumps(manual_example_document())
        expected = parse_document(manual_example_document())
        assert parse_json(text) == expected
        assert parse_json(text.encode("utf-8")) == expected

    @pytest.mark.parametrize("text", ["[]", '"lead"', "42", "null", "true"])
    def test_a_root_that_is_not_an_object_is_rejected(self, text: str) -> None:
        """R1: the body must be a JSON object; anything else is an error at $."""
        with pytest.raises(InvalidDocument) as info:
            parse_json(text)
        [error] = info.value.errors
        assert error.path == "$"
        assert error.message.startswith("expected a JSON object")

    @pytest.mark.parametrize("text", ["", "{", "{'a': 1}", b"\xff\xfe\xfd", "[" * 100_000])
    def test_malformed_json_is_rejected(self, text: str | bytes) -> None:
        """R1: unreadable JSON is one clear error at $, never a crash."""
        with pytest.raises(InvalidDocument) as info:
            parse_json(text)
        assert [e.path for e in info.value.errors] == ["$"]

    def test_duplicate_keys_are_rejected(self) -> None:
        """R1: {"persons": 3, "persons": 40} must not silently keep the last value."""
        text = json.dumps(manual_example_document()).replace(
            '"persons": 3', '"persons": 3, "persons": 40'
        )
        with pytest.raises(InvalidDocument) as info:
            parse_json(text)
        assert info.value.errors[0].message == "duplicate key 'persons'"

    def test_an_oversized_body_is_rejected(self) -> None:
        """R1: a body beyond MAX_JSON_BYTES is refused before it is parsed."""
        with pytest.raises(InvalidDocument) as info:
            parse_json(" " * (MAX_JSON_BYTES + 1))
        assert [e.path for e in info.value.errors] == ["$"]


class TestPostalCodes:
    @pytest.mark.parametrize(
        ("country", "code", "stored"),
        [
            ("DE", "04107", "04107"),
            ("DE", "80331", "80331"),
            ("AT", "1010", "1010"),
            ("CH", "8001", "8001"),
            ("NL", "1012 JS", "1012 JS"),
            ("NL", "1012JS", "1012 JS"),
            ("FR", "75001", "75001"),
            ("GB", "SW1A 1AA", "SW1A 1AA"),
            ("PL", "00-950", "00-950"),
            ("IE", "D02", "D02"),
        ],
    )
    def test_valid_postal_codes_per_country(self, country: str, code: str, stored: str) -> None:
        """R1: each country's own format is accepted (NL stored as "1234 AB")."""
        raw = changed("contact.postal_code", code, changed("contact.country", country))
        assert parse_document(raw).contact.postal_code == stored

    @pytest.mark.parametrize(
        ("country", "code"),
        [
            ("DE", "4107"),
            ("DE", "041070"),
            ("DE", "O4107"),
            ("DE", "04 107"),
            ("AT", "01010"),
            ("AT", "0101"),
            ("CH", "800"),
            ("NL", "1012 js"),
            ("NL", "0123 AB"),
            ("NL", "1012"),
            ("FR", "75"),
            ("FR", "7500!"),
            ("FR", "-7500"),
        ],
    )
    def test_invalid_postal_codes_per_country(self, country: str, code: str) -> None:
        """R1: DE 5 digits, AT/CH 4, NL "1234 AB", others 3-10 letters/digits/space/dash."""
        raw = changed("contact.postal_code", code, changed("contact.country", country))
        error = single_error(raw)
        assert error.path == "contact.postal_code"
        assert country in error.message

    def test_a_postal_code_is_a_string_not_a_number(self) -> None:
        """R1: 4107 (a number, leading zero lost) is not the postal code "04107"."""
        assert paths_of(changed("contact.postal_code", 4107)) == ["contact.postal_code"]

    @pytest.mark.parametrize("country", ["de", "XX", "DEU", "D", "", 49])
    def test_country_is_an_assigned_upper_case_alpha_2_code(self, country: object) -> None:
        """R1: the country is ISO 3166 alpha-2 in upper case; the postal code is then not
        judged against a country that does not exist (one error, not two)."""
        assert paths_of(changed("contact.country", country)) == ["contact.country"]

    def test_bad_country_and_bad_postal_code_are_both_reported(self) -> None:
        """R1: a postal code that is no postal code anywhere is reported with the country."""
        raw = changed("contact.postal_code", "!", changed("contact.country", "de"))
        assert sorted(paths_of(raw)) == ["contact.country", "contact.postal_code"]


class TestEmail:
    @pytest.mark.parametrize(
        "email",
        [
            "q-cells@mellowmessage.de",
            "anna.mueller+solar@example.co.uk",
            "x@b.de",
            "o'brien@example.ie",
            "info@müller-solar.de",
            "info@xn--mller-solar-feb.de",
        ],
    )
    def test_plausible_addresses_are_accepted(self, email: str) -> None:
        """R1: a pragmatic syntax check accepts ordinary addresses."""
        assert parse_document(changed("contact.email", email)).contact.email == email

    @pytest.mark.parametrize(
        "email",
        [
            "not-an-email",
            "@example.org",
            "max@",
            "max@localhost",
            "max@example.",
            "max@.example.org",
            "max@-example.org",
            "a b@example.org",
            "max..muster@example.org",
            ".max@example.org",
            "max@example.1",
            "max@exa_mple.org",
            "max@@example.org",
            "m\u00e4x@example.org",
            "x" * 65 + "@example.org",
            "x@" + "a" * 250 + ".de",
            "",
        ],
    )
    def test_malformed_addresses_are_rejected(self, email: str) -> None:
        """R1: local@domain.tld, no spaces, at most 254 characters."""
        assert paths_of(changed("contact.email", email)) == ["contact.email"]


class TestRanges:
    @pytest.mark.parametrize(
        ("path", "lowest", "highest"),
        [
            ("consumption.persons", 1, 50),
            ("consumption.annual_kwh", 1, 1_000_000),
            ("consumption.price_ct_per_kwh", 0, 500),
            ("roof.area_m2", 0, 100_000),
            ("roof.tilt_deg", 0, 90),
            ("roof.azimuth_deg", 0, 360),
            ("roof.module_count", 1, 10_000),
            ("eco_balance.co2_saving_kg", 0, 999_999_999),
            ("eco_balance.trees_planted", 0, 999_999_999),
        ],
    )
    def test_bounds_are_inclusive_and_enforced(self, path: str, lowest: int, highest: int) -> None:
        """R1: persons 1-50, tilt 0-90, azimuth 0-360 … both ends allowed, one past refused."""
        parse_document(changed(path, lowest))
        parse_document(changed(path, highest))
        below = single_error(changed(path, lowest - 1))
        above = single_error(changed(path, highest + 1))
        assert below.path == above.path == path
        assert "must be" in below.message
        assert "must be" in above.message

    @pytest.mark.parametrize("path", ["with_pv", "without_pv"])
    def test_money_is_not_negative(self, path: str) -> None:
        """R1: money >= 0."""
        raw = changed(f"costs.per_month.{path}", "-0.01", changed("costs.per_month.savings"))
        assert paths_of(raw) == [f"costs.per_month.{path}"]

    def test_money_stays_below_a_billion(self) -> None:
        """R1: money < 10^9, so it fits every storage column."""
        ok = changed("costs.after_20_years.without_pv", "999999999.99")
        parse_document(changed("costs.after_20_years.savings", _MISSING, ok))
        too_much = changed("costs.after_20_years.without_pv", 10**9)
        raw = changed("costs.after_20_years.savings", _MISSING, too_much)
        assert paths_of(raw) == ["costs.after_20_years.without_pv"]

    def test_zero_money_is_fine(self) -> None:
        """R1: a free PV plant is odd but not invalid."""
        raw = changed("costs.per_month", {"with_pv": 0, "without_pv": "0.00", "savings": "-0"})
        assert parse_document(raw).costs.per_month.savings == 0


class TestSavings:
    def test_savings_that_disagree_with_the_costs_are_rejected(self) -> None:
        """R1: savings, when given, must equal without - with."""
        error = single_error(changed("costs.per_month.savings", "70.00"))
        assert error.path == "costs.per_month.savings"
        assert "77.00" in error.message

    def test_savings_may_be_spelled_like_any_money(self) -> None:
        """R1: 77, 77.0 and "77.00" are the same savings."""
        for value in (77, 77.0, "77", "77.00"):
            parse_document(changed("costs.per_month.savings", value))

    def test_savings_are_derived_when_not_sent(self) -> None:
        """R1: without savings the document still has them, derived."""
        doc = parse_document(changed("costs.per_year.savings"))
        assert doc.costs.per_year.savings == Decimal("928.00")

    def test_savings_are_not_judged_when_a_cost_is_broken(self) -> None:
        """R1: a broken with_pv is one error; savings are not blamed for it."""
        assert paths_of(changed("costs.per_month.with_pv", "x")) == ["costs.per_month.with_pv"]

    @pytest.mark.parametrize("value", ["viel", True, float("nan"), [77]])
    def test_savings_must_be_money(self, value: object) -> None:
        """R1: savings follow the money rules."""
        assert paths_of(changed("costs.per_month.savings", value)) == ["costs.per_month.savings"]


class TestLengths:
    @pytest.mark.parametrize(
        ("path", "limit"),
        [
            ("contact.name", 200),
            ("contact.street", 200),
            ("contact.city", 100),
            ("contact.reachability", 200),
            ("contact.comment", 2000),
            ("consumption.main_usage", 100),
            ("roof.modules", 500),
            ("source_id", 64),
        ],
    )
    def test_text_is_limited(self, path: str, limit: int) -> None:
        """R1: length limits; exactly the limit is fine, one more is not."""
        parse_document(changed(path, "x" * limit))
        error = single_error(changed(path, "x" * (limit + 1)))
        assert error.path == path
        assert f"at most {limit}" in error.message

    def test_huge_strings_are_refused_cheaply(self) -> None:
        """R1: a megabyte name is rejected like any overlong one."""
        assert paths_of(changed("contact.name", "x" * 1_000_000)) == ["contact.name"]

    @pytest.mark.parametrize("path", ["contact.name", "contact.street", "contact.city"])
    @pytest.mark.parametrize("value", ["", "   ", "\u3000"])
    def test_required_text_may_not_be_empty(self, path: str, value: str) -> None:
        """R1: empty required strings are errors, also when only whitespace."""
        assert single_error(changed(path, value)) == FieldError(path, "must not be empty")

    def test_surrounding_whitespace_is_stripped(self) -> None:
        """R1: " Leipzig " is stored as "Leipzig"."""
        assert parse_document(changed("contact.city", "  Leipzig ")).contact.city == "Leipzig"

    def test_text_is_nfc_normalised(self) -> None:
        """R1: a decomposed "Härtelstraße" is stored like the composed one."""
        doc = parse_document(changed("contact.street", "Ha\u0308rtelstraße 32"))
        assert doc.contact.street == "Härtelstraße 32"


class TestControlCharacters:
    def test_header_injection_in_a_name_is_rejected(self) -> None:
        """R1: "Max\\r\\nBcc: x" can never reach a mail header."""
        error = single_error(changed("contact.name", "Max\r\nBcc: x"))
        assert error.path == "contact.name"
        assert "control characters" in error.message

    @pytest.mark.parametrize("char", ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85"])
    @pytest.mark.parametrize("path", ["contact.name", "contact.street", "roof.modules"])
    def test_single_line_text_has_no_control_characters(self, path: str, char: str) -> None:
        """R1: no Cc characters, not even \\n or \\t, in single-line fields."""
        assert paths_of(changed(path, f"a{char}b")) == [path]

    @pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u202e", "\u2066", "\ud800"])
    def test_line_separators_bidi_overrides_and_surrogates_are_rejected(self, char: str) -> None:
        """R1: characters that break lines, reorder text or cannot be encoded are refused."""
        assert paths_of(changed("contact.city", f"Leip{char}zig")) == ["contact.city"]

    def test_control_characters_at_the_edges_are_rejected_too(self) -> None:
        """R1: a trailing \\n is a control character, not whitespace to strip quietly."""
        assert paths_of(changed("contact.name", "Max\n")) == ["contact.name"]

    def test_a_comment_may_have_line_breaks(self) -> None:
        """R1: only comment is multi-line; \\r\\n is stored as \\n."""
        doc = parse_document(changed("contact.comment", "Bitte abends anrufen.\r\nDanke!\n"))
        assert doc.contact.comment == "Bitte abends anrufen.\nDanke!"

    @pytest.mark.parametrize("text", ["tab\there", "bell\x07", "cr\ronly"])
    def test_a_comment_has_no_other_control_characters(self, text: str) -> None:
        """R1: \\n is the one control character a comment may hold."""
        assert paths_of(changed("contact.comment", text)) == ["contact.comment"]


class TestSourceIdAndReceivedAt:
    @pytest.mark.parametrize("value", ["279", "solarrechner-279", "a.b_c:d-e", "x" * 64])
    def test_source_ids_of_the_allowed_alphabet_are_accepted(self, value: str) -> None:
        """R1: the idempotency key is 1-64 characters of [A-Za-z0-9._:-]."""
        assert parse_document(changed("source_id", value)).source_id == value

    @pytest.mark.parametrize("value", ["", "has space", "ümlaut", "a/b", "x" * 65, 279])
    def test_other_source_ids_are_rejected(self, value: object) -> None:
        """R1: anything else is an error at source_id."""
        assert paths_of(changed("source_id", value)) == ["source_id"]

    @pytest.mark.parametrize("value", ["2018-07-27T09:00:00", "2018-07-27", "2018-07-27 09:00"])
    def test_a_naive_received_at_is_rejected(self, value: str) -> None:
        """R1: a time without an offset is ambiguous; instants are stored in UTC."""
        error = single_error(changed("received_at", value))
        assert error.path == "received_at"
        assert "UTC offset" in error.message

    @pytest.mark.parametrize(
        "value", ["2018-07-27T09:00:00+02:00", "2018-07-27T07:00:00Z", "2018-07-27T02:00:00-05:00"]
    )
    def test_received_at_with_an_offset_is_stored_in_utc(self, value: str) -> None:
        """R1: every offset is converted to the same UTC instant."""
        received = parse_document(changed("received_at", value)).received_at
        assert received == dt.datetime(2018, 7, 27, 7, 0, tzinfo=dt.UTC)
        assert received is not None
        assert received.utcoffset() == dt.timedelta(0)

    @pytest.mark.parametrize("value", ["27.07.2018", "yesterday", 1532674800, True])
    def test_received_at_must_be_an_iso_8601_string(self, value: object) -> None:
        """R1: no epoch numbers, no German dates."""
        assert paths_of(changed("received_at", value)) == ["received_at"]


class TestAllErrorsAtOnce:
    def test_five_broken_fields_give_five_errors_with_their_paths(self) -> None:
        """R1: every field error is reported at once, each with its path."""
        raw = manual_example_document()
        raw["contact"]["postal_code"] = "0410"
        raw["costs"]["per_month"]["with_pv"] = "NaN"
        raw["roof"]["tilt_deg"] = 91
        raw["consumption"]["persons"] = "3"
        raw["unknown"] = 1
        assert sorted(paths_of(raw)) == [
            "consumption.persons",
            "contact.postal_code",
            "costs.per_month.with_pv",
            "roof.tilt_deg",
            "unknown",
        ]

    def test_errors_from_every_section_and_depth_are_collected(self) -> None:
        """R1: missing, unknown, mistyped and out-of-range problems all come back together."""
        raw = manual_example_document()
        del raw["contact"]["city"]
        raw["contact"]["fax"] = "1"
        raw["contact"]["email"] = "x"
        raw["received_at"] = "2018-07-27T09:00:00"
        raw["costs"]["after_20_years"]["savings"] = "1.00"
        raw["eco_balance"] = []
        raw["roof"]["storage_interest"] = "false"
        assert sorted(paths_of(raw)) == [
            "contact.city",
            "contact.email",
            "contact.fax",
            "costs.after_20_years.savings",
            "eco_balance",
            "received_at",
            "roof.storage_interest",
        ]

    def test_the_error_answers_as_json(self) -> None:
        """R1/R15: the API body lists every error with path and message."""
        with pytest.raises(InvalidDocument) as info:
            parse_document(changed("roof.tilt_deg", 91))
        body = info.value.to_dict()
        assert body["code"] == "invalid_document"
        assert body["errors"] == [
            {"path": "roof.tilt_deg", "message": "must be between 0 and 90, got 91"}
        ]

    def test_the_input_is_not_modified(self) -> None:
        """R1: validation reads the document; it never changes the caller's dict."""
        raw = changed("contact.city", "  Leipzig ")
        before = copy.deepcopy(raw)
        parse_document(raw)
        assert raw == before


class TestRouting:
    def test_the_longest_prefix_wins(self) -> None:
        """R1: 04107 goes to the territory with prefix 041 rather than 04."""
        saxony = territory("saxony", "04", "01")
        leipzig = territory("leipzig", "041")
        assert route("DE", "04107", [saxony, leipzig]) == leipzig
        assert route("DE", "04229", [saxony, leipzig]) == saxony

    def test_a_lead_no_prefix_matches_is_unrouted(self) -> None:
        """R1: no match means None; the caller keeps the lead for the admins' list."""
        assert route("DE", "80331", [territory("saxony", "04", "01")]) is None
        assert route("DE", "80331", []) is None

    def test_territories_of_other_countries_never_match(self) -> None:
        """R1: a prefix applies only within its own country (AT 1010 is not DE 10115)."""
        vienna = territory("wien", "10", country="AT")
        berlin = territory("berlin", "101")
        assert route("DE", "10115", [vienna]) is None
        assert route("AT", "1010", [vienna, berlin]) == vienna

    def test_equal_prefixes_go_to_the_smallest_territory_id(self) -> None:
        """R1: overlapping data still routes deterministically, whatever the order."""
        a, b = territory("a-north", "04"), territory("b-south", "04")
        assert route("DE", "04107", [b, a]) == a
        assert route("DE", "04107", [a, b]) == a

    def test_an_empty_prefix_covers_the_country_and_loses_to_any_other(self) -> None:
        """R1: a catch-all territory is the longest match only when nothing else matches."""
        germany, leipzig = territory("germany", ""), territory("leipzig", "04")
        assert route("DE", "80331", [leipzig, germany]) == germany
        assert route("DE", "04107", [germany, leipzig]) == leipzig

    def test_spaces_do_not_matter(self) -> None:
        """R1: NL "1012 JS" matches a prefix written "1012J" or "1012 J"."""
        amsterdam = territory("amsterdam", "1012 J", country="NL")
        assert route("NL", "1012 JS", [amsterdam]) == amsterdam
        assert route("NL", "1012JS", [amsterdam]) == amsterdam

    @given(data=st.data())
    def test_routing_ignores_the_order_of_territories(self, data: st.DataObject) -> None:
        """R1: the answer depends on the data only, never on the order it comes in."""
        prefixes = st.from_regex(r"[0-9]{0,3}", fullmatch=True)
        territories = [
            territory(f"t{i}", *data.draw(st.frozensets(prefixes, min_size=1, max_size=3)))
            for i in range(data.draw(st.integers(min_value=0, max_value=6)))
        ]
        code = data.draw(st.from_regex(r"[0-9]{5}", fullmatch=True))
        shuffled = data.draw(st.permutations(territories))
        assert route("DE", code, territories) == route("DE", code, shuffled)

    @given(data=st.data())
    def test_the_index_routes_as_the_rule_does(self, data: st.DataObject) -> None:
        """R1: the index an intake routes with (longest prefix first, ties to the
        smallest id, spaces ignored, countries apart) gives what :func:`route` gives."""
        prefixes = st.from_regex(r"[0-9]{0,3}( ?[A-Z])?", fullmatch=True)
        territories = [
            territory(
                f"t{i}",
                *data.draw(st.frozensets(prefixes, min_size=1, max_size=3)),
                country=data.draw(st.sampled_from(["DE", "NL"])),
            )
            for i in range(data.draw(st.integers(min_value=0, max_value=8)))
        ]
        index = routing_index(data.draw(st.permutations(territories)))
        country = data.draw(st.sampled_from(["DE", "NL", "AT"]))
        code = data.draw(st.from_regex(r"[0-9]{4,5}( ?[A-Z]{0,2})?", fullmatch=True))
        assert index.route(country, code) == route(country, code, territories)


class TestStoredDocuments:
    def test_money_is_stored_as_strings_and_instants_as_iso(self) -> None:
        """R1: the stored JSON keeps money exact and instants in UTC."""
        data = unstructure_document(parse_document(manual_example_document()))
        assert data["received_at"] == "2018-07-27T07:00:00+00:00"
        assert data["costs"] == {
            "per_month": {"with_pv": "15.00", "without_pv": "92.00", "savings": "77.00"},
            "per_year": {"with_pv": "174.00", "without_pv": "1102.00", "savings": "928.00"},
            "after_20_years": {
                "with_pv": "9132.00",
                "without_pv": "29611.00",
                "savings": "20479.00",
            },
        }
        json.dumps(data)  # plain JSON, nothing exotic

    def test_the_stored_form_is_valid_input_again(self) -> None:
        """R1: unstructure_document writes the wire format, so it parses to the same lead."""
        doc = parse_document(manual_example_document())
        assert parse_document(unstructure_document(doc)) == doc

    @pytest.mark.parametrize("broken", [{}, {"source_id": "x"}, "text"])
    def test_a_malformed_stored_document_is_a_storage_error(self, broken: Any) -> None:
        """R15: a corrupt row is the store's problem, reported as StorageError."""
        with pytest.raises(StorageError):
            structure_stored_document(broken)

    def test_a_bad_stored_decimal_is_a_storage_error(self) -> None:
        """R15: even the trusted path does not turn garbage into money."""
        data = unstructure_document(parse_document(manual_example_document()))
        data["costs"]["per_month"]["with_pv"] = "fifteen"  # type: ignore[index]
        with pytest.raises(StorageError):
            structure_stored_document(data)


def shuffled_keys(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's keys in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled_keys(item, rng) for key, item in items}
    return value


class TestFingerprint:
    def test_fingerprint_is_a_sha256_hex_digest(self) -> None:
        """R1: a stable 64-character key for idempotency."""
        fingerprint = document_fingerprint(parse_document(manual_example_document()))
        assert len(fingerprint) == 64
        assert int(fingerprint, 16) >= 0

    def test_spelling_of_numbers_does_not_change_the_fingerprint(self) -> None:
        """R1: 15, 15.0 and "15.00" are the same document, so the same lead."""
        base = document_fingerprint(parse_document(manual_example_document()))
        for value in (15, 15.0, "15.0", " 15.00 "):
            raw = changed("costs.per_month.with_pv", value)
            assert document_fingerprint(parse_document(raw)) == base

    def test_the_same_instant_in_another_offset_has_the_same_fingerprint(self) -> None:
        """R1: received_at is compared as an instant."""
        base = document_fingerprint(parse_document(manual_example_document()))
        raw = changed("received_at", "2018-07-27T07:00:00Z")
        assert document_fingerprint(parse_document(raw)) == base

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ("source_id", "solarrechner-280"),
            ("contact.phone", ""),
            ("costs.after_20_years.with_pv", "9132.01"),
            ("roof.storage_interest", True),
            ("received_at", "2018-07-27T09:00:01+02:00"),
        ],
    )
    def test_any_change_changes_the_fingerprint(self, path: str, value: object) -> None:
        """R1: excluding nothing, so a different document is an IntakeConflict."""
        base = document_fingerprint(parse_document(manual_example_document()))
        raw = changed(path, value)
        if path.startswith("costs."):
            raw = changed("costs.after_20_years.savings", _MISSING, raw)
        assert document_fingerprint(parse_document(raw)) != base

    def test_equal_documents_built_in_python_have_equal_fingerprints(self) -> None:
        """R1: Decimal("15") and Decimal("15.00") are equal money, so the same lead."""
        doc = parse_document(manual_example_document())
        spelled = attrs.evolve(
            doc, costs=attrs.evolve(doc.costs, per_month=CostRow(Decimal("15"), Decimal("92")))
        )
        assert spelled == doc
        assert document_fingerprint(spelled) == document_fingerprint(doc)

    @given(lead_documents(), st.randoms(use_true_random=False))
    def test_fingerprint_is_stable_across_key_order(
        self, raw: dict[str, Any], rng: random.Random
    ) -> None:
        """R1: the same document with its keys in another order is the same lead."""
        first = document_fingerprint(parse_document(raw))
        assert document_fingerprint(parse_document(shuffled_keys(raw, rng))) == first


class TestPhone:
    @pytest.mark.parametrize("phone", ["034114065515", "+49 341 1406 5515", "(0341) 140-655/15"])
    def test_ordinary_phone_numbers_are_accepted(self, phone: str) -> None:
        """R1: digits with + ( ) / . - and spaces."""
        assert parse_document(changed("contact.phone", phone)).contact.phone == phone

    @pytest.mark.parametrize("phone", ["call me", "12", "0341 ext. 5", "1" * 21, 34114065515])
    def test_other_phone_values_are_rejected(self, phone: object) -> None:
        """R1: letters, too few or too many digits, or a number instead of a string."""
        assert paths_of(changed("contact.phone", phone)) == ["contact.phone"]


class TestPythonCallers:
    def test_decimal_values_are_accepted_from_python_callers(self) -> None:
        """R1: a Decimal is already exact; it is held to the same rules as a number."""
        doc = parse_document(changed("roof.area_m2", Decimal("99.5")))
        assert doc.roof.area_m2 == Decimal("99.50")
        assert paths_of(changed("roof.area_m2", Decimal("NaN"))) == ["roof.area_m2"]
        assert paths_of(changed("roof.area_m2", Decimal("Infinity"))) == ["roof.area_m2"]

    @pytest.mark.parametrize("value", [object(), (1, 2), b"15.00"])
    def test_non_json_values_are_rejected(self, value: object) -> None:
        """R1: nothing outside JSON's types gets through."""
        assert paths_of(changed("costs.per_month.with_pv", value)) == ["costs.per_month.with_pv"]

    def test_absurd_savings_are_rejected(self) -> None:
        """R1: savings follow the money limit too, in both directions."""
        assert paths_of(changed("costs.per_month.savings", -(10**9))) == ["costs.per_month.savings"]

    def test_an_instant_outside_the_calendar_is_rejected(self) -> None:
        """R1: year 1 minus an offset does not exist in UTC."""
        raw = changed("received_at", "0001-01-01T00:00:00+01:00")
        assert paths_of(raw) == ["received_at"]

    def test_unknown_countries_are_refused_by_the_strategy(self) -> None:
        """The shared strategy only knows places in DE, AT, CH and NL."""
        with pytest.raises(ValueError, match="FR"):
            lead_documents(countries=("FR",))


class TestMutations:
    @pytest.mark.parametrize(
        ("mutate", "path"), INVALID_MUTATIONS, ids=[path for _, path in INVALID_MUTATIONS]
    )
    def test_each_mutation_of_the_manual_example_is_one_error(
        self, mutate: Mutator, path: str
    ) -> None:
        """R1: every single-field breakage of the Anlage 2 lead is blamed on its path only."""
        assert paths_of(mutate(manual_example_document())) == [path]


class TestProperties:
    @given(lead_documents(countries=("DE", "AT", "CH", "NL")))
    def test_every_generated_document_parses(self, raw: dict[str, Any]) -> None:
        """R1: the shared strategy yields only valid documents."""
        doc = parse_document(raw)
        assert doc.contact.country == raw["contact"]["country"]

    @given(lead_documents())
    def test_stored_documents_round_trip(self, raw: dict[str, Any]) -> None:
        """R1: structure_stored_document(unstructure_document(d)) == d."""
        doc = parse_document(raw)
        assert structure_stored_document(unstructure_document(doc)) == doc
        assert structure_stored_document(json.loads(json.dumps(unstructure_document(doc)))) == doc

    @given(lead_documents())
    def test_parse_is_idempotent_on_its_own_output(self, raw: dict[str, Any]) -> None:
        """R1: the stored form re-parses to the same document and fingerprint."""
        doc = parse_document(raw)
        again = parse_document(unstructure_document(doc))
        assert again == doc
        assert document_fingerprint(again) == document_fingerprint(doc)

    @given(lead_documents(), invalid_mutations())
    def test_one_broken_field_is_exactly_one_error_at_its_path(
        self, raw: dict[str, Any], mutation: tuple[Mutator, str]
    ) -> None:
        """R1: each single-field breakage is found and blamed on the right path only."""
        mutate, path = mutation
        assert paths_of(mutate(raw)) == [path]


ARRIVAL = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


class TestReceivedAtBounds:
    """R1: received_at is when the lead was entered, so it lies between 2000-01-01 and its
    arrival (plus five minutes for the sender's clock); a lead dated 2099 could be
    claimed but never recorded, since every status would lie before its arrival."""

    def test_received_at_in_2099_is_refused_naming_the_field(self) -> None:
        raw = changed("received_at", "2099-01-01T00:00:00Z")
        with pytest.raises(InvalidDocument) as info:
            parse_document(raw, now=ARRIVAL)
        [error] = info.value.errors
        assert error.path == "received_at"
        assert "future" in error.message

    def test_received_at_may_run_five_minutes_ahead_of_arrival(self) -> None:
        ahead = ARRIVAL + RECEIVED_AT_LEEWAY
        doc = parse_document(changed("received_at", ahead.isoformat()), now=ARRIVAL)
        assert doc.received_at == ahead
        too_far = (ahead + dt.timedelta(seconds=1)).isoformat()
        assert paths_of_at(changed("received_at", too_far), ARRIVAL) == ["received_at"]

    @pytest.mark.parametrize(
        "value", ["1999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2000-01-01T00:30:00+01:00"]
    )
    def test_received_at_before_2000_is_refused(self, value: str) -> None:
        """The earliest instant holds without a clock, for every caller."""
        error = single_error(changed("received_at", value))
        assert error.path == "received_at"
        assert EARLIEST_RECEIVED_AT.isoformat() in error.message

    def test_the_earliest_instant_itself_is_accepted(self) -> None:
        doc = parse_document(changed("received_at", "2000-01-01T00:00:00Z"), now=ARRIVAL)
        assert doc.received_at == EARLIEST_RECEIVED_AT

    def test_a_future_received_at_is_reported_with_every_other_error(self) -> None:
        """R1: all errors at once, the clock-bound one included."""
        raw = changed("received_at", "2099-01-01T00:00:00Z", changed("roof.tilt_deg", 91))
        assert sorted(paths_of_at(raw, ARRIVAL)) == ["received_at", "roof.tilt_deg"]

    def test_without_now_only_the_clockless_bounds_apply(self) -> None:
        """parse_document without ``now`` cannot know the arrival; the desk passes it."""
        raw = changed("received_at", "2099-01-01T00:00:00Z")
        assert parse_document(raw).received_at == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)

    @pytest.mark.parametrize(
        ("received", "reason"),
        [
            (dt.datetime(2099, 1, 1, tzinfo=dt.UTC), "future"),
            (dt.datetime(1999, 1, 1, tzinfo=dt.UTC), "before"),
            (dt.datetime(2026, 11, 20, 9, 0), "UTC offset"),
        ],
    )
    def test_a_document_built_in_code_is_checked_too(
        self, received: dt.datetime, reason: str
    ) -> None:
        doc = attrs.evolve(parse_document(manual_example_document()), received_at=received)
        with pytest.raises(InvalidDocument) as info:
            check_received_at(doc, ARRIVAL)
        [error] = info.value.errors
        assert error.path == "received_at"
        assert reason in error.message

    def test_the_desk_refuses_a_lead_dated_2099_from_every_caller(self) -> None:
        """LeadDesk.intake holds the clock, so it enforces the bound for mappings and
        ready-made documents alike, and stores nothing."""
        repository = InMemoryLeadRepository()
        desk = LeadDesk(repository, InMemoryDirectory(), FrozenClock(ARRIVAL), Policy())
        source = LeadSource("calc", "Rechner")
        raw = changed("received_at", "2099-01-01T00:00:00Z")
        built = parse_document(raw)
        for document in (raw, built):
            with pytest.raises(InvalidDocument) as info:
                desk.intake(source, document)
            assert [e.path for e in info.value.errors] == ["received_at"]
        with repository.unit_of_work() as uow:
            assert uow.get_by_source(raw["source_id"]) is None


def paths_of_at(raw: Any, now: dt.datetime) -> list[str]:
    with pytest.raises(InvalidDocument) as info:
        parse_document(raw, now=now)
    return [error.path for error in info.value.errors]


def manual_json(**replacements: str) -> str:
    """The manual's example as JSON text, with literal text replaced."""
    text = json.dumps(manual_example_document())
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


class TestStrictJson:
    """What decode_json refuses before any field is looked at (R1, I-JSON)."""

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ('"Test3 DEipzig"', '"Test3 \\ud800"'),
            ('"name"', '"na\\udfffme"'),
            ('"contact"', '"\\ud83d"'),
        ],
        ids=["in-a-value", "in-a-key", "in-a-top-level-key"],
    )
    def test_a_lone_surrogate_anywhere_is_refused_at_the_root(self, old: str, new: str) -> None:
        """ "\\ud800" is valid JSON syntax but not Unicode text: it could be neither
        stored nor shown, so the body is refused, never half-read."""
        with pytest.raises(InvalidDocument) as info:
            decode_json(manual_json(**{old: new}))
        [error] = info.value.errors
        assert error.path == "$"
        assert "lone surrogate" in error.message
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in error.message)

    def test_a_proper_surrogate_pair_is_text(self) -> None:
        doc = parse_json(manual_json(**{'"Test3 DEipzig"': '"Test3 \\ud83d\\ude00"'}))
        assert doc.contact.name == "Test3 \U0001f600"

    def test_a_5000_digit_integer_is_a_field_error_not_a_parser_error(self) -> None:
        """Python refuses int() of 4300+ digits; the intake reads such a number exactly
        and says which field it breaks, without Python's own hint."""
        with pytest.raises(InvalidDocument) as info:
            parse_json(manual_json(**{'"persons": 3': '"persons": ' + "9" * 5000}))
        [error] = info.value.errors
        assert error.path == "consumption.persons"
        assert "between 1 and 50" in error.message
        assert "set_int_max_str_digits" not in error.message
        assert len(error.message) < 200

    def test_numbers_with_a_fraction_are_read_exactly(self) -> None:
        """0.57 is 57 cents, not a binary float near it; 0.570000000000000001 is not."""
        value = decode_json('{"a": 0.57, "b": 0.570000000000000001, "c": 1e2}')
        assert value == {
            "a": Decimal("0.57"),
            "b": Decimal("0.570000000000000001"),
            "c": Decimal("1E+2"),
        }
        with pytest.raises(InvalidDocument) as info:
            parse_json(manual_json(**{'"15.00"': "0.570000000000000001"}))
        assert [e.path for e in info.value.errors] == ["costs.per_month.with_pv"]

    def test_nesting_beyond_the_limit_is_refused(self) -> None:
        deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
        with pytest.raises(InvalidDocument) as info:
            decode_json(deep)
        assert "nested" in info.value.errors[0].message
        assert decode_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
