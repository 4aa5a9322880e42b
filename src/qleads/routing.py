"""Routing (R1): which territory a new lead belongs to.

A territory is a set of postal-code prefixes within one country; the lead goes to the
territory of its contact's country with the longest prefix of its postal code. A lead
that matches none is *unrouted*: it is kept and listed for admins, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from qleads.model import Territory

__all__ = ["route"]


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
