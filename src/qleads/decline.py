"""Decline reasons with consequences (R7): why an installer gives a lead back decides
where it goes.

==============================  =====================================================
reason                          effect
==============================  =====================================================
kein Interesse / verloren       back to the pool, closed for him: he cannot claim it
                                again (:class:`~qleads.errors.LeadDeclined`)
nicht erreichbar                back to the pool
außerhalb meines Gebiets oder   to the rep's queue (:mod:`qleads.rep_queue`), not the
Leistungsangebots               pool
Dublette                        linked to its original and held back in the rep's
                                queue, like a duplicate found at intake
Spam / Fake                     back to the pool and closed for him; once a second
                                installer says so too, or the rep confirms it, closed
                                for everyone (the rep's queue, as spam)
the reasons of earlier versions back to the pool, as before
==============================  =====================================================

Whatever the reason, a lead released by ``Policy.unserviceable_after_releases``
different installers is *nicht vermittelbar* and goes to the rep's queue with its
history. Everything here reads a lead's history (R13); nothing is stored besides it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import attrs

from qleads.model import EventKind, HistoryEvent, ReleaseReason

__all__ = [
    "DECLINE_REASONS",
    "SPAM_REPORTS_TO_CLOSE",
    "Decline",
    "Effect",
    "closed_for",
    "declines",
    "effect_of",
    "releasers",
    "spam_reporters",
    "tally",
]

#: The reasons a release form offers, in its order; the others are kept for old data.
DECLINE_REASONS: tuple[ReleaseReason, ...] = (
    ReleaseReason.NOT_INTERESTED,
    ReleaseReason.UNREACHABLE,
    ReleaseReason.OUT_OF_SCOPE,
    ReleaseReason.DUPLICATE,
    ReleaseReason.SPAM,
)

#: How many different installers must call a lead spam before it closes for everyone.
SPAM_REPORTS_TO_CLOSE = 2


class Effect(enum.Enum):
    """Where a declined lead goes."""

    POOL = "pool"
    POOL_CLOSED_FOR_HOLDER = "pool_closed_for_holder"
    REP_QUEUE = "rep_queue"
    DUPLICATE = "duplicate"
    SPAM_REPORT = "spam_report"


_EFFECTS: Mapping[ReleaseReason, Effect] = MappingProxyType(
    {
        ReleaseReason.NOT_INTERESTED: Effect.POOL_CLOSED_FOR_HOLDER,
        ReleaseReason.UNREACHABLE: Effect.POOL,
        ReleaseReason.OUT_OF_SCOPE: Effect.REP_QUEUE,
        ReleaseReason.DUPLICATE: Effect.DUPLICATE,
        ReleaseReason.SPAM: Effect.SPAM_REPORT,
        ReleaseReason.NO_TIME: Effect.POOL,
        ReleaseReason.NO_CAPACITY: Effect.POOL,
        ReleaseReason.OUT_OF_AREA: Effect.POOL,
        ReleaseReason.OTHER: Effect.POOL,
    }
)


def effect_of(reason: ReleaseReason | None) -> Effect:
    """What a release for ``reason`` does; no reason returns the lead to the pool (R7)."""
    return Effect.POOL if reason is None else _EFFECTS[reason]


@attrs.frozen
class Decline:
    """One release of a lead, as its rep reads it."""

    installer_id: str
    reason: ReleaseReason | None
    at: dt.datetime
    note: str = ""


def declines(history: Iterable[HistoryEvent]) -> list[Decline]:
    """Every release of a lead by an installer, oldest first."""
    return [
        Decline(event.holder_id, event.reason, event.effective_at, event.note)
        for event in history
        if event.kind is EventKind.RELEASED and event.holder_id is not None
    ]


def releasers(history: Iterable[HistoryEvent]) -> frozenset[str]:
    """The different installers who released the lead, for whatever reason."""
    return frozenset(d.installer_id for d in declines(history))


def spam_reporters(history: Iterable[HistoryEvent]) -> frozenset[str]:
    """The different installers who released the lead as spam or fake."""
    return frozenset(d.installer_id for d in declines(history) if d.reason is ReleaseReason.SPAM)


def closed_for(history: Iterable[HistoryEvent]) -> frozenset[str]:
    """The installers for whom the lead is closed: they declined it as lost or spam."""
    closing = {ReleaseReason.NOT_INTERESTED, ReleaseReason.SPAM}
    return frozenset(d.installer_id for d in declines(history) if d.reason in closing)


def tally(reasons: Sequence[ReleaseReason | None]) -> dict[ReleaseReason | None, int]:
    """How often each reason was given, most frequent first (ties by the form's order)."""
    order = {reason: n for n, reason in enumerate((*DECLINE_REASONS, *ReleaseReason, None))}
    counted = Counter(reasons)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], order[item[0]])))
