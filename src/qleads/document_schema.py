"""The lead document as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1).

Built from the intake's own field rules (:data:`qleads.document_rules.SECTION_RULES`) and
the model classes they fill, so that the schema a lead source validates against and the
validation the intake runs (R1) say the same thing and cannot drift apart: a field is
required exactly when its attribute has no default, an optional one may also be
``null``, and each field's type, range and pattern come from its rule. The two rules
that span fields are stated here too: the postal code's format by country (an ``anyOf``
of the contact's variants) and ``savings = without_pv - with_pv`` (``x-qleads-equals``,
which JSON Schema cannot say).
"""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import attrs

from qleads.document_rules import SAVINGS, SECTION_RULES, PostalCode
from qleads.model import Contact, CostRow, LeadDocument

__all__ = ["lead_document_schema"]


def _nullable(schema: dict[str, object]) -> dict[str, object]:
    """``schema`` or ``null``: what an optional field takes (R1)."""
    if "anyOf" in schema:
        variants = schema["anyOf"]
        assert isinstance(variants, list)
        return {**schema, "anyOf": [*variants, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _section(hint: Any) -> type[Any]:
    """The class of a section, also of an optional one (``Consent | None``, R14)."""
    classes = [arg for arg in get_args(hint) if arg is not type(None)]
    section: type[Any] = classes[0] if classes else hint
    return section


def _object_schema(cl: type[Any]) -> dict[str, object]:
    rules = SECTION_RULES.get(cl, {})
    types = get_type_hints(cl)
    properties: dict[str, object] = {}
    required: list[str] = []
    for field in attrs.fields(cl):
        rule = rules.get(field.name)
        schema = (
            rule.json_schema() if rule is not None else _object_schema(_section(types[field.name]))
        )
        if field.default is attrs.NOTHING:
            required.append(field.name)
        else:
            schema = _nullable(schema)
        properties[field.name] = schema
    schema_of: dict[str, object] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required,
    }
    if cl is CostRow:
        properties["savings"] = _nullable(SAVINGS.json_schema())
        schema_of["x-qleads-equals"] = {"savings": "without_pv - with_pv"}
    if cl is Contact:
        schema_of["anyOf"] = PostalCode.country_schemas()
    return schema_of


def lead_document_schema() -> dict[str, object]:
    """The JSON Schema of a lead document as the intake takes it (R1).

    What it cannot say is in ``x-qleads-*`` members and descriptions: ``savings`` must
    equal ``without_pv - with_pv``; ``received_at`` lies from ``x-qleads-earliest`` to
    at most a few minutes after the request arrives (``x-qleads-latest``); free text must
    also fit its ``maxLength`` after NFC normalisation (``x-qleads-normalized-max-length``).
    """
    return {
        **_object_schema(LeadDocument),
        "description": "A lead of the solar calculator (Anlage 2 of the manual), as the "
        "intake validates it (R1): every error is reported at once, nothing is coerced.",
    }
