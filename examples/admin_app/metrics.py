"""The sales rep's installer overview (R5), as pure functions.

Per installer: how many leads he holds open, the median time from taking a lead (claim
R3 or assignment R5) to his first recorded work status (R6), and the share of his closed
leads that ended in an order. Computed from the leads and their histories (R13), so it
needs nothing the library does not already store.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence

import attrs

from qleads.lifecycle import Status
from qleads.model import EventKind, HistoryEvent, Installer, LeadSummary

__all__ = ["InstallerStats", "first_contact_delays", "installer_stats"]

_TAKEN = frozenset({EventKind.CLAIMED, EventKind.ASSIGNED, EventKind.REASSIGNED})
_LOST = frozenset({EventKind.RELEASED, EventKind.EXPIRED, EventKind.REASSIGNED})


@attrs.frozen
class InstallerStats:
    installer: Installer
    open_leads: int
    orders: int
    closed: int
    median_first_contact: dt.timedelta | None

    @property
    def order_share(self) -> float | None:
        """Orders among his closed leads (0..1); ``None`` before the first closed lead."""
        return self.orders / self.closed if self.closed else None


def first_contact_delays(events: Sequence[HistoryEvent]) -> list[tuple[str, dt.timedelta]]:
    """For each time someone took the lead, how long until he recorded a work status
    (as ``(installer_id, delay)``); takings never followed by a record do not count."""
    delays: list[tuple[str, dt.timedelta]] = []
    taken: tuple[str, dt.datetime] | None = None
    for event in events:
        if event.kind in _TAKEN and event.holder_id is not None:
            taken = (event.holder_id, event.effective_at)
        elif event.kind is EventKind.RECORDED and taken is not None:
            holder, since = taken
            if event.actor_id == holder or event.holder_id == holder:
                delays.append((holder, max(event.effective_at - since, dt.timedelta(0))))
            taken = None
        elif event.kind in _LOST:
            taken = None
    return delays


def installer_stats(
    installers: Iterable[Installer],
    leads: Iterable[LeadSummary],
    histories: Mapping[int, Sequence[HistoryEvent]],
) -> list[InstallerStats]:
    """One row per installer, in the given order."""
    lead_list = list(leads)
    delays: dict[str, list[dt.timedelta]] = {}
    for events in histories.values():
        for holder, delay in first_contact_delays(events):
            delays.setdefault(holder, []).append(delay)
    rows = []
    for installer in installers:
        held = [lead for lead in lead_list if lead.holder_id == installer.id]
        closed = [lead for lead in held if lead.status.is_terminal]
        own = delays.get(installer.id, [])
        median = (
            dt.timedelta(seconds=statistics.median(d.total_seconds() for d in own)) if own else None
        )
        rows.append(
            InstallerStats(
                installer=installer,
                open_leads=len(held) - len(closed),
                orders=sum(1 for lead in closed if lead.status is Status.ORDER_PLACED),
                closed=len(closed),
                median_first_contact=median,
            )
        )
    return rows
