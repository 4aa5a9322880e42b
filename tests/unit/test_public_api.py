"""The package's front door: every type a public value carries can be imported from
``qleads`` itself, so an embedder never reaches into a submodule to name what the desk
hands him (``EventKind`` of a history event, ``DeadlineKind`` of a lead's deadline …)."""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Iterator

import attrs

import qleads


def _classes_in(hint: object) -> Iterator[type]:
    """The classes named by a type hint, through unions and generics."""
    if isinstance(hint, type):
        yield hint
    for argument in typing.get_args(hint):
        yield from _classes_in(argument)
    if isinstance(hint, types.UnionType):
        for argument in hint.__args__:
            yield from _classes_in(argument)


def _carried_by(cls: type) -> Iterator[type]:
    """What a value of ``cls`` hands out: its fields, properties and public methods'
    results."""
    if attrs.has(cls):
        for hint in typing.get_type_hints(cls).values():
            yield from _classes_in(hint)
    for name, member in inspect.getmembers(cls):
        if name.startswith("_"):
            continue
        function = member.fget if isinstance(member, property) else member
        if callable(function) and not isinstance(member, type):
            try:
                hints = typing.get_type_hints(function)
            except (NameError, TypeError):
                continue
            if "return" in hints:
                yield from _classes_in(hints["return"])


def test_every_type_a_public_value_carries_is_exported() -> None:
    """What ``LeadDesk`` returns, and everything inside it, is named in ``qleads``."""
    exported = {getattr(qleads, name) for name in qleads.__all__}
    seen: set[type] = set()
    todo = [value for value in exported if isinstance(value, type)]
    missing: set[str] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for carried in _carried_by(cls):
            if not carried.__module__.startswith("qleads"):
                continue  # datetime, Decimal, str …
            if carried not in exported:
                missing.add(carried.__qualname__)
            if not issubclass(carried, enum.Enum):
                todo.append(carried)
    assert not missing, f"carried by public values but not exported: {sorted(missing)}"


def test_the_kinds_are_exported() -> None:
    """R13, R11: the kinds of history events and deadlines, by name."""
    assert qleads.EventKind.CLAIMED.value == "claimed"
    assert qleads.DeadlineKind.CLAIM_EXPIRY.value == "claim_expiry"
    assert issubclass(qleads.ClaimExpired, qleads.LeadNoLongerAvailable)


def test_every_name_in_all_exists() -> None:
    assert all(hasattr(qleads, name) for name in qleads.__all__)
