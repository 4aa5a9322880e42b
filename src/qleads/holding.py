"""Since when a holder has a lead (R3, R5, R6): a pure reading of its history.

A lead's work statuses are dated by the holder (``effective_at``, R6); none may lie
before the claim or assignment that gave him the lead, which is the newest claim,
assignment or reassignment in the history (a release or an expiry ends a holding, and
the next one starts with a new claim or assignment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from qleads.model import EventKind, HistoryEvent

__all__ = ["TAKING_OVER", "held_since"]

#: The events that give a lead to a holder.
TAKING_OVER = frozenset({EventKind.CLAIMED, EventKind.ASSIGNED, EventKind.REASSIGNED})


def held_since(history: Sequence[HistoryEvent]) -> dt.datetime | None:
    """When the current holding began: the effective instant of the newest event that
    gave the lead to a holder, or ``None`` if it never had one. ``history`` is in the
    order it was written (oldest first), as the repository returns it."""
    for event in reversed(history):
        if event.kind in TAKING_OVER:
            return event.effective_at
    return None
