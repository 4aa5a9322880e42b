"""Per-territory policy overrides: a territory may set some of the policy's settings
differently, and everything it leaves unset comes from the global
:class:`~qleads.model.Policy`.

An override is data: a mapping from the names of :class:`~qleads.model.Policy`'s fields
to values. Nothing here lists the fields: whatever ``Policy`` declares, a territory may
override, and merging is ``attrs.evolve`` with the settings the territory sets, so the
policy's own validators judge every value. Stored, an override is a JSON object
(:func:`encode` / :func:`decode`, through a ``cattrs`` converter that knows each field's
declared type).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
import cattrs.errors

from qleads.errors import InvalidInput
from qleads.model import Policy

__all__ = ["decode", "encode", "merge", "parse", "setting_names"]

#: What structuring a value of the wrong type raises (the builtins, and cattrs' own).
_WRONG_TYPE = (
    ValueError,
    TypeError,
    cattrs.errors.BaseValidationError,
    cattrs.errors.CattrsError,
)


@functools.cache
def _fields() -> dict[str, Any]:
    """Each setting of the policy and its declared type."""
    attrs.resolve_types(Policy)
    return {field.name: field.type for field in attrs.fields(Policy)}


@functools.cache
def _converter() -> cattrs.Converter:
    return cattrs.Converter()


def _any(settings: Mapping[str, object]) -> dict[str, Any]:
    """Settings as keyword arguments: their types were checked by :func:`parse`."""
    return dict(settings)


def setting_names() -> tuple[str, ...]:
    """The names a territory may override: every field of the policy, in its order."""
    return tuple(_fields())


def parse(settings: Mapping[str, object], base: Policy | None = None) -> dict[str, object]:
    """``settings`` checked and turned into the policy's types: an unknown name, a value
    of the wrong type or one the policy's validators refuse raises
    :class:`~qleads.errors.InvalidInput` naming the setting. ``base`` is the policy the
    settings will be merged over (the defaults if omitted): they are checked merged."""
    fields = _fields()
    converter = _converter()
    parsed: dict[str, object] = {}
    for name, raw in settings.items():
        if name not in fields:
            raise InvalidInput(name, "is not a policy setting")
        field_type = fields[name]
        if isinstance(raw, bool) and field_type is not bool and "bool" not in str(field_type):
            raise InvalidInput(name, f"must be of type {field_type}, got a truth value")
        try:
            parsed[name] = converter.structure(raw, field_type)
        except _WRONG_TYPE as error:
            raise InvalidInput(name, f"must be of type {field_type}, got {raw!r}") from error
    try:
        attrs.evolve(base if base is not None else Policy(), **_any(parsed))
    except (ValueError, TypeError) as error:
        wrong = next((n for n in parsed if n in str(error)), "policy")
        raise InvalidInput(wrong, str(error)) from error
    return parsed


def merge(policy: Policy, settings: Mapping[str, object] | None) -> Policy:
    """``policy`` with a territory's parsed ``settings`` over it."""
    if not settings:
        return policy
    return attrs.evolve(policy, **_any(settings))


def encode(settings: Mapping[str, object]) -> dict[str, object]:
    """Parsed settings as JSON values, for storage."""
    converter = _converter()
    fields = _fields()
    return {
        name: converter.unstructure(value, unstructure_as=fields[name])
        for name, value in sorted(settings.items())
    }


def decode(stored: Mapping[str, object]) -> dict[str, object]:
    """Stored JSON values back as parsed settings. A setting the policy no longer has
    (a field removed since it was saved) is dropped rather than refused, so an upgrade
    never locks a territory out."""
    known = {name: value for name, value in stored.items() if name in _fields()}
    return parse(known)
