"""One change of a lead: its next version, the history event it writes (R13) and the
notices it sends (R10) — the steps that every use case of ``LeadDesk`` and every
deadline the sweep fires (:mod:`qleads.desk.deadlines`) are made of.

A change always moves the lead on by exactly one ``version``; storage writes it
conditionally on the version before, which is what makes changes race-safe (R3, R11).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from qleads.lifecycle import Status
from qleads.model import (
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    Notification,
    NotificationKind,
    Territory,
)
from qleads.rep_queue import queued

__all__ = [
    "Change",
    "People",
    "bump",
    "handled_by",
    "history_event",
    "holder_notice",
    "new_lead_notices",
    "to_pool",
]


@attrs.frozen
class Change:
    """The next version of a lead with what it writes besides: stored together or not
    at all (R10, R13)."""

    lead: Lead
    event: HistoryEvent
    notifications: tuple[Notification, ...] = ()


class People(Protocol):
    """The part of the directory a change reads to address its notices."""

    def installer(self, installer_id: str) -> Installer | None: ...

    def territory(self, territory_id: str) -> Territory | None: ...

    def installers_of(self, rep_id: str) -> Sequence[Installer]: ...


def bump(lead: Lead, **changes: Any) -> Lead:
    """``lead`` one version on, with ``changes``."""
    return attrs.evolve(lead, version=lead.version + 1, **changes)


def handled_by(lead: Lead) -> frozenset[str]:
    """R2c: the installers who held the lead, its holder included, as the lead passes to
    the pool or to another installer."""
    if lead.holder_id is None or queued(lead.holder_id):
        return lead.previous_holders
    return lead.previous_holders | {lead.holder_id}


def to_pool(lead: Lead, at: dt.datetime) -> Lead:
    """R4, R7, R12: back to ``new`` without a holder, his *previously handled* marker
    kept."""
    return bump(
        lead,
        status=Status.NEW,
        status_at=at,
        holder_id=None,
        hold_until=None,
        due_at=None,
        deadline=None,
        previous_holders=handled_by(lead),
    )


def history_event(
    lead: Lead,
    kind: EventKind,
    actor_id: str,
    from_status: Status | None,
    effective_at: dt.datetime,
    recorded_at: dt.datetime,
) -> HistoryEvent:
    """R13: the event that produced ``lead`` (its version, its status and holder)."""
    return HistoryEvent(
        lead_id=lead.id,
        version=lead.version,
        kind=kind,
        actor_id=actor_id,
        from_status=from_status,
        to_status=lead.status,
        effective_at=effective_at,
        recorded_at=recorded_at,
        holder_id=lead.holder_id,
    )


def new_lead_notices(
    lead: Lead, now: dt.datetime, people: People, *, exclude: str | None = None
) -> tuple[Notification, ...]:
    """R10: every active installer who can now see the lead is told, but not the one
    who just gave it back (``exclude``)."""
    if lead.territory_id is None:
        return ()
    territory = people.territory(lead.territory_id)
    if territory is None:
        return ()
    return tuple(
        Notification.for_lead(NotificationKind.NEW_LEAD, lead, installer.id, now)
        for installer in people.installers_of(territory.rep_id)
        if installer.active and installer.id != exclude
    )


def holder_notice(
    kind: NotificationKind, lead: Lead, now: dt.datetime, deadline_at: dt.datetime | None
) -> tuple[Notification, ...]:
    """R10: a notice to whoever holds the lead, if anyone does."""
    if lead.holder_id is None:
        return ()
    return (Notification.for_lead(kind, lead, lead.holder_id, now, deadline_at=deadline_at),)
