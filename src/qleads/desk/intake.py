"""The desk's intake (R1): a lead source's document in, a stored and routed lead out.

Validation is :mod:`qleads.intake`, the fingerprint that makes intake idempotent is
:mod:`qleads.documents`, routing is :mod:`qleads.routing`; this is the use case that
composes them with the repository, so that the lead, its *received* event (R13) and the
notices to the installers who can see it (R10) are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from qleads.desk.base import DeskBase, current_time
from qleads.desk.changes import history_event, new_lead_notices
from qleads.desk.duplicates import change_note, find_original, requested_again
from qleads.desk.policies import effective_policy
from qleads.documents import document_fingerprint
from qleads.duplicates import match_keys
from qleads.errors import IntakeConflict, NotPermitted
from qleads.intake import check_received_at, parse_document
from qleads.lifecycle import Status
from qleads.model import Actor, Admin, EventKind, Lead, LeadDocument, LeadSource, Territory
from qleads.rep_queue import queue_holder
from qleads.routing import RoutingIndex, routing_index

__all__ = ["IntakeDesk", "IntakeResult"]


@attrs.frozen
class IntakeResult:
    """``created`` is false when the same document arrived before (R1 idempotency).
    ``duplicate_of`` is the original a held-back duplicate repeats (``qleads.duplicates``).
    """

    lead: Lead
    created: bool
    duplicate_of: int | None = None


class IntakeDesk(DeskBase):
    """:meth:`intake`, the lead source's one use case."""

    def intake(self, source: Actor, document: Mapping[str, object] | LeadDocument) -> IntakeResult:
        """Validate, store and route a new lead, and notify the installers who can see it.

        Raises :class:`~qleads.errors.InvalidDocument` with every field error and stores
        nothing; the same document twice returns the first lead with ``created=False``;
        another document under a known ``source_id`` raises
        :class:`~qleads.errors.IntakeConflict`. R1: ``received_at`` may not lie after now
        (plus a few minutes for the sender's clock) nor before 2000, whoever calls, so a
        ready-made :class:`LeadDocument` is checked for that too.
        """
        if not isinstance(source, LeadSource | Admin):
            raise NotPermitted(source.id, "submit leads")
        now = current_time(self.clock)
        if isinstance(document, LeadDocument):
            doc = check_received_at(document, now)
        else:
            doc = parse_document(document, now=now)
        fingerprint = document_fingerprint(doc)
        received = doc.received_at or now
        territory = _index_of(self.directory.territories()).route(
            doc.contact.country, doc.contact.postal_code
        )
        keys = match_keys(doc.contact)
        draft = Lead(
            id=0,
            document=doc,
            received_at=received,
            territory_id=territory.id if territory is not None else None,
            status=Status.NEW,
            status_at=received,
        )
        try:
            with self.repository.unit_of_work(writing=True) as uow:
                # A document that arrived before is found by the insert itself: ``add``
                # raises IntakeConflict, answered below as a replay. The first arrival,
                # the common case, reads nothing before it writes.
                territory_id = territory.id if territory is not None else None
                policy = effective_policy(self, territory_id, uow)
                original = find_original(uow, keys, received, policy)
                if original is not None:
                    # Held back in the rep's queue, never offered to installers.
                    rep = territory.rep_id if territory is not None else None
                    draft = attrs.evolve(draft, holder_id=queue_holder(rep))
                lead = uow.add(draft)
                uow.add_match_keys(lead.id, keys, received)
                received_event = history_event(
                    lead, EventKind.RECEIVED, source.id, None, received, now
                )
                if original is None:
                    uow.append([received_event])
                    uow.enqueue(new_lead_notices(lead, now, self.directory))
                else:
                    note = change_note(original.document, doc)
                    uow.append([attrs.evolve(received_event, note=note)])
                    uow.link_duplicate(lead.id, original.id)
                    uow.enqueue(requested_again(original, lead, now))
                uow.commit()
        except IntakeConflict:
            # The source_id is stored (before, or by a concurrent intake that won the
            # insert): answer as a replay.
            with self.repository.unit_of_work() as uow:
                known = uow.get_by_source(doc.source_id)
                if known is None:
                    raise
                return _replay(known, fingerprint, uow.duplicate_of(known.id))
        return IntakeResult(
            lead, created=True, duplicate_of=original.id if original is not None else None
        )


#: The routing index of the last territory table seen. A directory that serves its table
#: from a cache hands out the same sequence until it changes (the SQL directory: for a
#: second), so most intakes reuse the index; any other sequence gets an index of its own.
_LAST_INDEX: list[tuple[Sequence[Territory], RoutingIndex]] = []


def _index_of(territories: Sequence[Territory]) -> RoutingIndex:
    last = _LAST_INDEX[-1] if _LAST_INDEX else None
    if last is not None and last[0] is territories:
        return last[1]
    index = routing_index(territories)
    _LAST_INDEX[:] = [(territories, index)]
    return index


def _replay(known: Lead, fingerprint: str, duplicate_of: int | None) -> IntakeResult:
    """The answer to a document that arrived before: the same lead, or a conflict."""
    if document_fingerprint(known.document) != fingerprint:
        raise IntakeConflict(known.source_id, known.id)
    return IntakeResult(known, created=False, duplicate_of=duplicate_of)
