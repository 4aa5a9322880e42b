"""The outbox rows a unit of work writes (R10): part of
:class:`~qleads.testing.contract.RepositoryContract`. A notice's key is stable per event
and recipient, so a second record with the same key is ignored, within a unit and
across units, and a record comes back as written.
"""

from __future__ import annotations

import datetime as dt

import attrs

from qleads.model import Lead, Notification, NotificationKind
from qleads.ports import LeadRepository
from qleads.testing.contract.desk_scenarios import Outbox
from qleads.testing.world import T0, make_lead, store_leads

__all__ = ["OutboxRowsContract", "notice"]


def notice(
    lead: Lead, recipient: str, kind: NotificationKind = NotificationKind.NEW_LEAD
) -> Notification:
    """A notice about ``lead`` to ``recipient``, made at ``T0``, due two days later."""
    return Notification.for_lead(kind, lead, recipient, T0, deadline_at=T0 + dt.timedelta(days=2))


class OutboxRowsContract:
    """The outbox's share of the repository contract, which provides the
    ``repository`` and ``outbox`` fixtures."""

    class TestOutbox:
        def test_duplicate_key_is_ignored(self, repository: LeadRepository, outbox: Outbox) -> None:
            """R10: a stable key per event and recipient; a second record with the same
            key is ignored, within a unit and across units."""
            (lead,) = store_leads(repository, [make_lead("outbox")])
            first = notice(lead, "i-anna")
            again = attrs.evolve(first, created_at=T0 + dt.timedelta(hours=1))
            with repository.unit_of_work() as uow:
                uow.enqueue([first, again])
                uow.commit()
            with repository.unit_of_work() as uow:
                uow.enqueue([again])
                uow.commit()
            stored = [n for n in outbox() if n.key == first.key]
            assert stored == [first]

        def test_a_unit_with_many_notices_stores_each_once(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10: a unit's notices, more than one statement's worth (a sweep batch),
            with repeated keys among them, are each stored once, as written."""
            (lead,) = store_leads(repository, [make_lead("many-notices")])
            notices = [notice(lead, f"i-{n:03d}") for n in range(150)]
            later = T0 + dt.timedelta(hours=1)
            # Repeats of notices already in the list: the first one written stays.
            repeated = [attrs.evolve(n, created_at=later) for n in notices[:70:7]]
            with repository.unit_of_work() as uow:
                uow.enqueue([*notices[:70], *repeated, *notices[70:]])
                uow.commit()
            assert sorted(outbox(), key=lambda n: n.key) == sorted(notices, key=lambda n: n.key)

        def test_records_round_trip(self, repository: LeadRepository, outbox: Outbox) -> None:
            """R10: kind, lead, recipient and both instants come back as written."""
            (lead,) = store_leads(repository, [make_lead("kinds")])
            notices = [notice(lead, f"i-{kind.value}", kind) for kind in NotificationKind]
            notices.append(attrs.evolve(notice(lead, "i-plain"), deadline_at=None))
            with repository.unit_of_work() as uow:
                uow.enqueue(notices)
                uow.commit()
            assert sorted(outbox(), key=lambda n: n.key) == sorted(notices, key=lambda n: n.key)
