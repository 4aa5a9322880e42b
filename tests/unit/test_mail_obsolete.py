"""Which queued mails the lead has outrun by the time they are dispatched (R2, R10, R16):
the pure rule the dispatcher applies to every row before it sends it."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from qleads.lifecycle import Status
from qleads.mail import is_obsolete
from qleads.model import Lead, Notification, NotificationKind
from qleads.testing.world import T0, make_lead

DUE = T0 + dt.timedelta(days=3)


def lead(status: Status, holder: str | None = "anna", due: dt.datetime | None = None) -> Lead:
    return attrs.evolve(make_lead("s-1", status=status, holder_id=holder, due_at=due), id=7)


def notice(kind: NotificationKind, to: str = "anna", deadline: dt.datetime | None = None):
    return Notification(f"7:2:{kind.value}:{to}", kind, 7, to, T0, deadline)


K = NotificationKind
S = Status


@pytest.mark.parametrize(
    ("kind", "now", "obsolete"),
    [
        (K.NEW_LEAD, lead(S.NEW, None), False),
        (K.NEW_LEAD, lead(S.CLAIMED, "bob"), True),
        (K.ASSIGNED, lead(S.ASSIGNED), False),
        (K.ASSIGNED, lead(S.FIRST_CONTACT), False),
        (K.ASSIGNED, lead(S.ASSIGNED, "bob"), True),  # reassigned
        (K.ASSIGNED, lead(S.NEW, None), True),  # released
        (K.ASSIGNED, lead(S.ORDER_PLACED), True),  # closed
        (K.ASSIGNED, lead(S.UNSUCCESSFUL), True),
        (K.ASSIGNMENT_REMINDER, lead(S.ASSIGNED), False),
        (K.ASSIGNMENT_REMINDER, lead(S.CONTACT_ATTEMPTED), True),  # a status was recorded
        (K.ASSIGNMENT_REMINDER, lead(S.ASSIGNED, "bob"), True),
        (K.FOLLOW_UP_DUE, lead(S.FOLLOW_UP, due=DUE), False),
        (K.FOLLOW_UP_DUE, lead(S.FOLLOW_UP, due=DUE + dt.timedelta(days=1)), True),  # moved
        (K.FOLLOW_UP_DUE, lead(S.OFFER_SENT), True),
        (K.FOLLOW_UP_DUE, lead(S.NEW, None), True),
        (K.CLAIM_EXPIRED, lead(S.CLAIMED, "bob"), False),  # his claim did run out
        (K.ESCALATION, lead(S.OFFER_SENT), False),  # the rep may read it anyway
    ],
)
def test_a_mail_is_dropped_only_when_the_lead_made_it_wrong(
    kind: NotificationKind, now: Lead, obsolete: bool
) -> None:
    """R10: a queued mail is dropped when sending it would be wrong — above all an
    "assigned" mail naming the customer to someone who no longer holds the lead (R16)."""
    recipient = "rita" if kind is K.ESCALATION else "anna"
    deadline = DUE if kind is K.FOLLOW_UP_DUE else None
    assert is_obsolete(notice(kind, recipient, deadline), now) is obsolete
