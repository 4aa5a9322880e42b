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
from qleads.rep_queue import QUEUE_MARK

__all__ = ["ExpectedLead", "replay"]

#: Events after which the lead is held by the event's holder.
_TAKING = frozenset(
    {
        EventKind.RECEIVED,
        EventKind.CLAIMED,
        EventKind.ASSIGNED,
        EventKind.REASSIGNED,
        EventKind.RETURNED_TO_REP,
        EventKind.UNSERVICEABLE,
        EventKind.DUPLICATE,
        EventKind.SPAM,
    }
)
#: Events after which the lead has no holder.
_CLEARING = frozenset(
    {
        EventKind.RELEASED,
        EventKind.EXPIRED,
        EventKind.REOPENED,
        EventKind.WITHDRAWN,
        EventKind.RETURNED_TO_POOL,
    }
)


def replay(events: Iterable[HistoryEvent]) -> tuple[Status, str | None]:
    """Fold a lead's history (R13) into its current ``(status, holder_id)``.

    Every event must start where the previous one ended and carry the next version;
    a history that does not raises :class:`ValueError` naming the first bad event.
    Claims and (re)assignments set the holder, and so do the events that put a lead
    into a rep's queue (its holder is then the queue, :mod:`qleads.rep_queue`) and its
    receipt (a duplicate is received into the queue); releases, expiries, withdrawals,
    returns to the pool and reopening clear it; records, reminders, escalations and
    follow-up notices keep it.
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
        if event.kind in _TAKING:
            holder = event.holder_id
        elif event.kind in _CLEARING:
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
    #: R4: when the claim is over (the claimed ladder's release), while claimed.
    hold_until: dt.datetime | None = None
    #: ``qleads.decline``: who released it, who closed it for himself, who called it spam.
    releasers: frozenset[str] = frozenset()
    closed_for: frozenset[str] = frozenset()
    spam: frozenset[str] = frozenset()
    #: ``qleads.duplicates``: the original it is held back as a duplicate of.
    linked_to: int | None = None
    offered_before_link: bool = False
    #: When the holder got it (claim, assignment): no status may be dated before (R6).
    held_since: dt.datetime | None = None

    def to_pool(self) -> None:
        """Back to ``new`` without a holder; an installer who held it is remembered
        (R2c), a rep's queue is not (:mod:`qleads.rep_queue`)."""
        if self.holder_id is not None and not self.holder_id.startswith(QUEUE_MARK):
            self.previous = self.previous | {self.holder_id}
        self.status = Status.NEW
        self.holder_id = None
        self.deadline = None
        self.due_at = None
        self.hold_until = None
