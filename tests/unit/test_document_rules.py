"""The lead document's field rules as data (R1): each rule's published JSON Schema says
what its check does, character classes and number patterns included."""

from __future__ import annotations

import re
import sys
import unicodedata
from decimal import Decimal
from typing import Any, get_args, get_type_hints

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qleads.document_rules import (
    SECTION_RULES,
    SPACE,
    Amount,
    FieldInvalid,
    Integer,
    Text,
)
from qleads.document_schema import lead_document_schema
from qleads.model import CostRow, LeadDocument

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _all_characters() -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


class TestCharacterClasses:
    def test_the_space_class_is_what_strip_removes_less_the_controls(self) -> None:
        """A value may carry white space around it (it is stripped); the class the
        schema publishes for it is exactly str.isspace() without control characters."""
        space = re.compile(f"[{SPACE}]")
        for char in _all_characters():
            expected = char.isspace() and unicodedata.category(char) not in {"Cc", "Zl", "Zp"}
            assert bool(space.fullmatch(char)) is expected, hex(ord(char))

    def test_free_text_refuses_exactly_controls_separators_and_bidi_overrides(self) -> None:
        """The published pattern of free text and the check agree on every character."""
        rule = Text(10, required=False)
        pattern = re.compile(str(rule.json_schema()["pattern"]))
        for char in _all_characters():
            refused = unicodedata.category(char) in {"Cc", "Zl", "Zp"} or char in _BIDI
            assert (pattern.fullmatch(char) is None) is refused, hex(ord(char))
            try:
                rule.parse(char)
            except FieldInvalid:
                assert refused, hex(ord(char))
            else:
                assert not refused, hex(ord(char))

    def test_a_lone_surrogate_is_refused_by_the_check(self) -> None:
        with pytest.raises(FieldInvalid, match="U\\+D800"):
            Text(10).parse("a\ud800")


class TestNumberPatterns:
    @pytest.mark.parametrize("limit", [500, 100_000, 10**9])
    @given(number=st.integers(min_value=0, max_value=2 * 10**9))
    def test_the_integer_part_pattern_matches_exactly_the_range(
        self, limit: int, number: int
    ) -> None:
        amount = Amount(limit, limit_included=False)
        pattern = re.compile(str(amount.json_schema()["anyOf"][1]["pattern"]))  # type: ignore[index]
        assert bool(pattern.fullmatch(str(number))) is (number < limit)

    @given(cents=st.integers(min_value=-(10**11), max_value=10**11))
    def test_a_decimal_string_is_accepted_exactly_when_its_pattern_matches(
        self, cents: int
    ) -> None:
        """The server's verdict on a decimal string is the pattern's verdict."""
        for rule in (Amount(500), Amount(10**9, limit_included=False, signed=True)):
            text = format(Decimal(cents).scaleb(-2), "f")
            pattern = re.compile(str(rule.json_schema()["anyOf"][1]["pattern"]))  # type: ignore[index]
            try:
                rule.parse(text)
            except FieldInvalid:
                assert pattern.fullmatch(text) is None, text
            else:
                assert pattern.fullmatch(text) is not None, text

    @pytest.mark.parametrize("value", [3.0, Decimal("3.00"), Decimal("30E-1")])
    def test_an_integral_number_is_an_integer(self, value: object) -> None:
        assert Integer(0, 5).parse(value) == 3

    def test_a_huge_integer_is_named_briefly(self) -> None:
        with pytest.raises(FieldInvalid) as info:
            Integer(0, 5).parse(10**5000)
        assert len(str(info.value)) < 100


class TestSchemaFromRules:
    def _objects(self, schema: dict[str, Any], cl: type[Any]) -> Any:
        """(class, schema) of every object of the document, recursively."""
        yield cl, schema
        types = get_type_hints(cl)
        for field in attrs.fields(cl):
            if field.name not in SECTION_RULES.get(cl, {}):
                # An optional section (the consent, R14) is its class or null.
                section = [a for a in get_args(types[field.name]) if a is not type(None)]
                hint = section[0] if section else types[field.name]
                yield from self._objects(schema["properties"][field.name], hint)

    def test_every_field_is_in_the_schema_and_required_without_a_default(self) -> None:
        """R1: what the model requires, the schema requires; optional fields may be null."""
        for cl, schema in self._objects(lead_document_schema(), LeadDocument):
            fields = attrs.fields(cl)
            assert schema["additionalProperties"] is False
            assert set(schema["required"]) == {f.name for f in fields if f.default is attrs.NOTHING}
            extra = {"savings"} if cl is CostRow else set()
            assert set(schema["properties"]) == {f.name for f in fields} | extra
            for field in fields:
                if field.default is not attrs.NOTHING:
                    assert "null" in str(schema["properties"][field.name]), field.name

    def test_savings_carries_its_rule_as_an_extension(self) -> None:
        costs = lead_document_schema()["properties"]["costs"]  # type: ignore[index]
        row = costs["properties"]["per_month"]
        assert row["x-qleads-equals"] == {"savings": "without_pv - with_pv"}
