"""The simple model :mod:`qleads.testing.stateful` predicts the desk with.

:class:`ExpectedLead` is what the rules say one lead must be now — status, holder, next
deadline, due date, previous holders — kept by hand from the rules alone, never from
the desk's code. :func:`replay` folds a lead's stored history (R13) into the status and
holder it must have led to, so that history and state can be held against each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from qleads.lifecycle import Status
from qleads.model import Deadline, EventKind, HistoryEvent

__all__ = ["ExpectedLead", "replay"]


def replay(events: Iterable[HistoryEvent]) -> tuple[Status, str | None]:
    """Fold a lead's history (R13) into its current ``(status, holder_id)``.

    Every event must start where the previous one ended and carry the next version;
    a history that does not raises :class:`ValueError` naming the first bad event.
    Claims and (re)assignments set the holder, releases, expiries and reopening clear
    it; records, reminders, escalations and follow-up notices keep it.
    """
    status: Status | None = None
    holder: str | None = None
    version = 0
    for event in events:
        if event.version != version + 1:
            raise ValueError(
                f"event {event.kind.value} has version {event.version}, not {version + 1}"
            )
        if event.from_status is not status:
            raise ValueError(
                f"event {event.kind.value} (v{event.version}) starts from "
                f"{event.from_status}, but the lead was {status}"
            )
        if event.kind in (EventKind.CLAIMED, EventKind.ASSIGNED, EventKind.REASSIGNED):
            holder = event.holder_id
        elif event.kind in (
            EventKind.RECEIVED,
            EventKind.RELEASED,
            EventKind.EXPIRED,
            EventKind.REOPENED,
        ):
            holder = None
        status = event.to_status
        version = event.version
    if status is None:
        raise ValueError("an empty history replays to nothing")
    return status, holder


@attrs.define
class ExpectedLead:
    """The model of one lead: what the rules say it must be now. The machine changes
    it in place as its rules succeed; :meth:`to_pool` is a release or an expiry
    (R4, R7): back to ``new`` without a holder, the holder remembered (R2c)."""

    lead_id: int
    source_id: str
    fingerprint: str
    raw: dict[str, Any]
    territory_id: str | None
    received_at: dt.datetime
    status: Status = Status.NEW
    holder_id: str | None = None
    deadline: Deadline | None = None
    due_at: dt.datetime | None = None
    previous: frozenset[str] = frozenset()
    #: When the holder got it (claim, assignment): no status may be dated before (R6).
    held_since: dt.datetime | None = None

    def to_pool(self) -> None:
        if self.holder_id is not None:
            self.previous = self.previous | {self.holder_id}
        self.status = Status.NEW
        self.holder_id = None
        self.deadline = None
        self.due_at = None
