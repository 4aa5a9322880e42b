"""Routing (R1): which territory a new lead belongs to.

A territory is a set of postal-code prefixes within one country; the lead goes to the
territory of its contact's country with the longest prefix of its postal code. A lead
that matches none is *unrouted*: it is kept and listed for admins, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from qleads.model import Territory

__all__ = ["RoutingIndex", "route", "routing_index"]


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


@attrs.frozen
class RoutingIndex:
    """:func:`route` over one set of territories, answered by looking up the postal
    code's own prefixes, longest first, instead of testing every territory's: an intake
    routes over every territory of the network (hundreds, with thousands of prefixes)."""

    by_prefix: Mapping[tuple[str, str], Territory]
    longest: int

    def route(self, contact_country: str, postal_code: str) -> Territory | None:
        """What :func:`route` answers for the territories the index was made of."""
        code = postal_code.replace(" ", "")
        by_prefix = self.by_prefix
        for length in range(min(len(code), self.longest), -1, -1):
            territory = by_prefix.get((contact_country, code[:length]))
            if territory is not None:
                return territory
        return None


def routing_index(territories: Iterable[Territory]) -> RoutingIndex:
    """The index of ``territories`` for :meth:`RoutingIndex.route`; of two territories
    with the same prefix (a data error) the smaller id wins, as in :func:`route`."""
    by_prefix: dict[tuple[str, str], Territory] = {}
    longest = 0
    for territory in territories:
        for prefix in territory.prefixes:
            key = (territory.country, prefix.replace(" ", ""))
            held = by_prefix.get(key)
            if held is None or territory.id < held.id:
                by_prefix[key] = territory
            longest = max(longest, len(key[1]))
    return RoutingIndex(by_prefix, longest)
