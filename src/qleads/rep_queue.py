"""The rep's queue: leads that wait for their sales rep instead of the pool.

A lead goes there when an installer declines it as outside his area or offering, when
enough installers released it (*nicht vermittelbar*), when the escalation ladder returns
it, or when it is held back as a duplicate or closed as spam (:mod:`qleads.decline`,
:mod:`qleads.ladder`, :mod:`qleads.duplicates`). It is ``new`` and *held by the queue*:
its ``holder_id`` is :func:`queue_holder` of the rep, which no installer id can equal
(an installer id must not start with :data:`QUEUE_MARK`: the directories refuse
one, :func:`check_installer_id`). So no installer sees or claims it
(R2, the pool holds only leads without a holder), the rep sees it among his territory's
leads and in his queue tab, and assigning it to an installer (R5) or sending it to the
pool takes it out.
"""

from __future__ import annotations

from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.model import Lead, LeadSummary

__all__ = [
    "QUEUE_MARK",
    "check_installer_id",
    "is_queued",
    "queue_holder",
    "queue_rep",
    "queued",
]

#: What a queue's holder id starts with.
QUEUE_MARK = "@"


def queue_holder(rep_id: str | None) -> str:
    """The holder id of ``rep_id``'s queue; ``None`` (an unrouted lead) is the admins'."""
    return QUEUE_MARK + (rep_id or "")


def queued(holder_id: str | None) -> bool:
    """Whether ``holder_id`` is a queue rather than an installer."""
    return holder_id is not None and holder_id.startswith(QUEUE_MARK)


def is_queued(lead: Lead | LeadSummary) -> bool:
    """Whether ``lead`` waits in a rep's queue."""
    return lead.status is Status.NEW and queued(lead.holder_id)


def queue_rep(lead: Lead | LeadSummary) -> str | None:
    """The rep whose queue holds ``lead`` (``""``: the admins'); ``None`` if none does."""
    if not is_queued(lead):
        return None
    assert lead.holder_id is not None
    return lead.holder_id[len(QUEUE_MARK) :]


def check_installer_id(installer_id: str) -> None:
    """Refuse (:class:`~qleads.errors.InvalidInput` naming ``id``) an installer id that
    would read as a queue."""
    if queued(installer_id):
        raise InvalidInput(
            "id", f"an installer id may not start with {QUEUE_MARK!r} (it marks a rep's queue)"
        )
