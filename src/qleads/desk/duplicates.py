"""Duplicate detection in the intake use case (R1; :mod:`qleads.duplicates`): find the
original a submission repeats, and what holding it back writes.
"""

from __future__ import annotations

import datetime as dt

from qleads.duplicates import changes
from qleads.model import Lead, LeadDocument, Notification, NotificationKind, Policy
from qleads.ports import UnitOfWork
from qleads.rep_queue import queued

__all__ = ["change_note", "find_original", "requested_again"]

#: How far a chain of duplicate links is followed to its original.
_MAX_CHAIN = 20


def find_original(
    uow: UnitOfWork,
    keys: tuple[str, ...],
    received: dt.datetime,
    policy: Policy,
) -> Lead | None:
    """The lead a submission with ``keys`` received at ``received`` repeats: the newest
    lead with a key in common received within the policy's window before it, followed
    along its own duplicate link to the lead it repeats in turn. ``None`` when the
    policy does not look for duplicates or nothing matches."""
    if not policy.duplicate_detection or not keys:
        return None
    since = received - dt.timedelta(days=policy.duplicate_window_days)
    found = uow.matching(keys, since)
    if not found:
        return None
    original = found[-1]
    for _ in range(_MAX_CHAIN):
        up = uow.duplicate_of(original)
        if up is None:
            break
        original = up
    return uow.get(original)


def requested_again(original: Lead, duplicate: Lead, now: dt.datetime) -> tuple[Notification, ...]:
    """ "Kunde hat erneut angefragt" to the installer holding the original, if one does;
    its key names the duplicate, so every repetition is told once."""
    holder = original.holder_id
    if holder is None or queued(holder) or original.status.is_terminal:
        return ()
    return (
        Notification(
            key=f"{original.id}:again:{duplicate.id}:{NotificationKind.REQUESTED_AGAIN.value}:{holder}",
            kind=NotificationKind.REQUESTED_AGAIN,
            lead_id=original.id,
            recipient_id=holder,
            created_at=now,
        ),
    )


def change_note(original: LeadDocument, again: LeadDocument) -> str:
    """What the repetition says differently, one field a line (its received event's
    note, which the rep and the holder read)."""
    return "\n".join(changes(original, again))
