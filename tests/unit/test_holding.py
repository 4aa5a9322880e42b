"""Since when the holder has a lead (R6): the newest claim, assignment or reassignment of
its history, whatever came after it."""

from __future__ import annotations

import datetime as dt

from qleads.holding import held_since
from qleads.lifecycle import Status
from qleads.model import EventKind, HistoryEvent

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def _event(version: int, kind: EventKind, to: Status, hours: int) -> HistoryEvent:
    at = T0 + dt.timedelta(hours=hours)
    return HistoryEvent(
        lead_id=7,
        version=version,
        kind=kind,
        actor_id="someone",
        from_status=None,
        to_status=to,
        effective_at=at,
        recorded_at=at + dt.timedelta(minutes=5),
    )


RECEIVED = _event(1, EventKind.RECEIVED, Status.NEW, 0)


def test_a_lead_nobody_held_has_no_holding() -> None:
    assert held_since([]) is None
    assert held_since([RECEIVED]) is None


def test_the_claim_is_the_start_whatever_was_recorded_after_it() -> None:
    claimed = _event(2, EventKind.CLAIMED, Status.CLAIMED, 3)
    recorded = _event(3, EventKind.RECORDED, Status.FIRST_CONTACT, 5)
    assert held_since([RECEIVED, claimed, recorded]) == claimed.effective_at


def test_a_release_and_a_new_assignment_start_again() -> None:
    history = [
        RECEIVED,
        _event(2, EventKind.CLAIMED, Status.CLAIMED, 3),
        _event(3, EventKind.RELEASED, Status.NEW, 4),
        _event(4, EventKind.ASSIGNED, Status.ASSIGNED, 9),
        _event(5, EventKind.REMINDED, Status.ASSIGNED, 30),
    ]
    assert held_since(history) == T0 + dt.timedelta(hours=9)
    reassigned = _event(6, EventKind.REASSIGNED, Status.ASSIGNED, 40)
    assert held_since([*history, reassigned]) == reassigned.effective_at
