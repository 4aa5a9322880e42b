"""The repository contract: what every :class:`~qleads.ports.LeadRepository` must do.

Shipped inside the package (like eventsourcing's ``eventsourcing/tests/persistence.py``) so
that anyone writing a storage adapter runs the same suite as the adapters qleads ships.
Subclass :class:`RepositoryContract` in a test module and provide a ``repository``
fixture that returns a fresh, empty repository::

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self) -> LeadRepository:
            return MyRepository(...)

The port has no reading side for the notification outbox (the
:class:`~qleads.mail.Outbox` port delivers it, with a contract of its own), so the suite
reads it through the ``outbox`` fixture: by default the repository's ``notifications()``
method, as :class:`InMemoryLeadRepository` has it; override the fixture if your adapter
names it differently.

The suite states the promises the service (``qleads.desk``) builds on: ids and the
``source_id`` conflict (R1), conditional updates (R3, R11), one transaction for the lead,
its history and its outbox (R10, R13), the tab queries agreeing with the pure rule of
``qleads.tabs`` on every lead (R2, R8; :mod:`.tab_queries`), due deadlines (R11), and
short end-to-end scenarios of :class:`~qleads.desk.LeadDesk` on the repository
(:mod:`.desk_scenarios`), and the policy's: the escalation ladder, decline reasons, the
rep's queue and duplicates (:mod:`.policy_scenarios`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, Protocol

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from qleads.desk import SYSTEM_ACTOR
from qleads.errors import IntakeConflict, LeadNotFound, StaleUpdate
from qleads.lifecycle import Status
from qleads.model import (
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Lead,
    Notification,
    NotificationKind,
    ReleaseReason,
)
from qleads.ports import LeadRepository
from qleads.tabs import Scope, Tab, query_for
from qleads.testing.contract.desk_scenarios import DeskScenarioContract, Outbox
from qleads.testing.contract.explain import RoutingExplainedContract
from qleads.testing.contract.lead_search import LeadSearchContract
from qleads.testing.contract.limits import ClaimLimitsContract
from qleads.testing.contract.outbox_rows import OutboxRowsContract
from qleads.testing.contract.outbox_rows import notice as _notice
from qleads.testing.contract.personal_data import PersonalDataContract
from qleads.testing.contract.policy_scenarios import PolicyContract
from qleads.testing.contract.scorecards import ScorecardContract
from qleads.testing.contract.tab_queries import TabQueryContract
from qleads.testing.profiles import examples
from qleads.testing.strategies import stored_leads
from qleads.testing.world import T0, make_lead, store_leads

__all__ = ["RepositoryContract"]

UTC = dt.UTC
_COUNTER = itertools.count()


class _HasNotifications(Protocol):
    def notifications(self) -> list[Notification]: ...


def _event(lead: Lead, version: int, kind: EventKind, **changes: Any) -> HistoryEvent:
    event = HistoryEvent(
        lead_id=lead.id,
        version=version,
        kind=kind,
        actor_id="i-anna",
        from_status=Status.NEW,
        to_status=Status.CLAIMED,
        effective_at=T0 + dt.timedelta(minutes=version),
        recorded_at=T0 + dt.timedelta(minutes=version, seconds=1),
    )
    return attrs.evolve(event, **changes)


class _Boom(Exception):
    """Raised inside a unit of work to prove it rolls back."""


def _write_everything_then_fail(repository: LeadRepository, lead: Lead) -> None:
    with repository.unit_of_work() as uow:
        uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
        uow.append([_event(lead, 2, EventKind.CLAIMED)])
        uow.enqueue([_notice(lead, "i-anna")])
        uow.add(make_lead("rollback-new"))
        raise _Boom


# --- the contract ---------------------------------------------------------------------------


class RepositoryContract(
    TabQueryContract,
    LeadSearchContract,
    DeskScenarioContract,
    PolicyContract,
    ClaimLimitsContract,
    RoutingExplainedContract,
    ScorecardContract,
    PersonalDataContract,
    OutboxRowsContract,
):
    """Abstract: subclass it and override the ``repository`` fixture (and ``outbox`` if
    your repository has no ``notifications()``)."""

    @pytest.fixture
    def repository(self) -> LeadRepository:
        pytest.fail(
            "subclass RepositoryContract and provide a 'repository' fixture returning a "
            "fresh, empty LeadRepository"
        )

    @pytest.fixture
    def outbox(self, repository: LeadRepository) -> Outbox:
        reader = getattr(repository, "notifications", None)
        if reader is None:
            pytest.fail(
                f"{type(repository).__name__} has no notifications(): override the "
                "'outbox' fixture to read its committed outbox records"
            )
        has: _HasNotifications = repository  # type: ignore[assignment]
        return has.notifications

    class TestAdd:
        def test_ids_are_assigned_and_distinct(self, repository: LeadRepository) -> None:
            """R1: a stored lead gets an id of its own; the draft's id is ignored."""
            stored = store_leads(repository, [make_lead("a"), make_lead("b"), make_lead("c")])
            ids = [lead.id for lead in stored]
            assert len(set(ids)) == 3
            assert all(isinstance(i, int) and i > 0 for i in ids)
            with repository.unit_of_work() as uow:
                assert [uow.get(i).source_id for i in ids] == ["a", "b", "c"]

        def test_known_source_id_is_a_conflict(self, repository: LeadRepository) -> None:
            """R1: a second lead under a known source_id raises IntakeConflict naming
            the lead that has it."""
            (first,) = store_leads(repository, [make_lead("dup")])
            with repository.unit_of_work() as uow, pytest.raises(IntakeConflict) as raised:
                uow.add(make_lead("dup", received_at=T0 + dt.timedelta(days=1)))
            assert raised.value.source_id == "dup"
            assert raised.value.lead_id == first.id
            assert raised.value.code == "intake_conflict"

        def test_source_id_added_in_the_same_unit_is_a_conflict(
            self, repository: LeadRepository
        ) -> None:
            """R1: the conflict holds before commit too."""
            with repository.unit_of_work() as uow:
                uow.add(make_lead("twice"))
                with pytest.raises(IntakeConflict):
                    uow.add(make_lead("twice"))

        def test_get_by_source_finds_the_lead(self, repository: LeadRepository) -> None:
            """R1: idempotent intake looks leads up by source_id."""
            (lead,) = store_leads(repository, [make_lead("src-1")])
            with repository.unit_of_work() as uow:
                assert uow.get_by_source("src-1") == lead
                assert uow.get_by_source("src-unknown") is None

    class TestGet:
        def test_unknown_id_is_not_found(self, repository: LeadRepository) -> None:
            """R2/R15: an unknown id raises LeadNotFound carrying the id."""
            with repository.unit_of_work() as uow, pytest.raises(LeadNotFound) as raised:
                uow.get(4711)
            assert raised.value.lead_id == 4711
            assert raised.value.code == "not_found"

    class TestRoundTrip:
        def test_every_field_survives(self, repository: LeadRepository) -> None:
            """Every Lead field comes back equal: Decimals, aware UTC instants,
            frozensets, the deadline, the version."""
            draft = make_lead(
                "full",
                received_at=dt.datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC),
                territory_id="t-münchen",
                status=Status.FOLLOW_UP,
                holder_id="i-ümit",
                hold_until=dt.datetime(2026, 3, 31, 14, 0, tzinfo=UTC),
                due_at=dt.datetime(2026, 4, 2, 7, 45, 0, 1, tzinfo=UTC),
                deadline=Deadline(
                    DeadlineKind.FOLLOW_UP_DUE, dt.datetime(2026, 4, 2, 7, 45, 0, 1, tzinfo=UTC)
                ),
                previous_holders=frozenset({"i-anna", "i-ben"}),
                version=7,
            )
            draft = attrs.evolve(
                draft, status_at=dt.datetime(2026, 3, 30, 23, 59, 59, 999999, tzinfo=UTC)
            )
            (stored,) = store_leads(repository, [draft])
            assert stored == attrs.evolve(draft, id=stored.id)
            with repository.unit_of_work() as uow:
                back = uow.get(stored.id)
            assert back == stored
            costs = back.document.costs
            assert costs.per_month.savings == Decimal("77.00")
            assert isinstance(back.document.consumption.price_ct_per_kwh, Decimal)
            assert isinstance(back.previous_holders, frozenset)

        def test_missing_values_stay_none(self, repository: LeadRepository) -> None:
            """An unrouted lead without holder, hold, due date or deadline comes back
            with ``None`` (not empty strings, not epoch)."""
            draft = make_lead("bare", territory_id=None)
            draft = attrs.evolve(draft, document=attrs.evolve(draft.document, received_at=None))
            (stored,) = store_leads(repository, [draft])
            with repository.unit_of_work() as uow:
                back = uow.get(stored.id)
            assert back.territory_id is None
            assert back.holder_id is None
            assert back.hold_until is None
            assert back.due_at is None
            assert back.deadline is None
            assert back.document.received_at is None
            assert back.previous_holders == frozenset()
            assert back == stored

        def test_instants_come_back_aware_utc(self, repository: LeadRepository) -> None:
            """All instants are stored in UTC (R9): an instant comes back aware, with a
            zero offset, equal to what went in."""
            received = dt.datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC)
            (stored,) = store_leads(
                repository,
                [make_lead("utc", received_at=received, due_at=received, status=Status.CLAIMED)],
            )
            with repository.unit_of_work() as uow:
                back = uow.get(stored.id)
            for instant in (back.received_at, back.status_at, back.due_at):
                assert instant is not None
                assert instant.utcoffset() == dt.timedelta(0)
                assert instant == received

        @settings(
            max_examples=examples(0.3),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(draft=stored_leads())
        def test_any_lead_survives(self, repository: LeadRepository, draft: Lead) -> None:
            """Property: whatever a lead holds, get returns it equal."""
            source_id = f"any-{next(_COUNTER)}"
            draft = attrs.evolve(draft, document=attrs.evolve(draft.document, source_id=source_id))
            (stored,) = store_leads(repository, [draft])
            with repository.unit_of_work() as uow:
                assert uow.get(stored.id) == attrs.evolve(draft, id=stored.id)
                assert uow.get_by_source(source_id) == stored

    class TestConditionalUpdate:
        def test_current_version_is_replaced(self, repository: LeadRepository) -> None:
            """R3/R11: an update from the stored version replaces the lead."""
            (lead,) = store_leads(repository, [make_lead("upd")])
            claimed = attrs.evolve(
                lead,
                status=Status.CLAIMED,
                holder_id="i-anna",
                hold_until=T0 + dt.timedelta(days=2),
                deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, T0 + dt.timedelta(days=2)),
                version=2,
            )
            with repository.unit_of_work() as uow:
                uow.update(claimed, expected_version=1)
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == claimed

        def test_fields_can_be_cleared(self, repository: LeadRepository) -> None:
            """An update that clears holder, hold, due date and deadline stores None."""
            (lead,) = store_leads(
                repository,
                [
                    make_lead(
                        "clear",
                        status=Status.FOLLOW_UP,
                        holder_id="i-anna",
                        due_at=T0,
                        deadline=Deadline(DeadlineKind.FOLLOW_UP_DUE, T0),
                    )
                ],
            )
            released = attrs.evolve(
                lead,
                status=Status.NEW,
                holder_id=None,
                due_at=None,
                deadline=None,
                previous_holders=frozenset({"i-anna"}),
                version=2,
            )
            with repository.unit_of_work() as uow:
                uow.update(released, expected_version=1)
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == released

        def test_stale_version_is_refused(self, repository: LeadRepository) -> None:
            """R3/R11: an update from an old version raises StaleUpdate and changes
            nothing."""
            (lead,) = store_leads(repository, [make_lead("stale")])
            with repository.unit_of_work() as uow:
                uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
                uow.commit()
            late = attrs.evolve(lead, status=Status.ASSIGNED, holder_id="i-ben", version=2)
            with repository.unit_of_work() as uow, pytest.raises(StaleUpdate) as raised:
                uow.update(late, expected_version=1)
            assert raised.value.lead_id == lead.id
            assert raised.value.expected_version == 1
            with repository.unit_of_work() as uow:
                current = uow.get(lead.id)
            assert current.status is Status.CLAIMED
            assert current.version == 2

        def test_second_writer_from_the_same_version_loses(
            self, repository: LeadRepository
        ) -> None:
            """R3: two writers read version 1; the first wins, the second is refused
            even though it never saw the first."""
            (lead,) = store_leads(repository, [make_lead("race")])
            with repository.unit_of_work() as uow:
                seen = uow.get(lead.id)
                uow.update(
                    attrs.evolve(seen, holder_id="i-anna", status=Status.CLAIMED, version=2),
                    expected_version=seen.version,
                )
                uow.commit()
            with repository.unit_of_work() as uow, pytest.raises(StaleUpdate):
                uow.update(
                    attrs.evolve(lead, holder_id="i-ben", status=Status.CLAIMED, version=2),
                    expected_version=lead.version,
                )
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id).holder_id == "i-anna"

        def test_a_writer_that_read_the_lead_and_lost_stores_nothing(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R3/R10: a unit read version 1, another writer then stored version 2. The
            late unit's update is refused with StaleUpdate, by ``update`` or, where the
            backend holds the update back, by ``commit``, and none of its event, notice
            or tab counts is stored."""
            (lead,) = store_leads(repository, [make_lead("late")])
            queries = [query_for(Scope(None), tab) for tab in Tab]
            counts: list[int] = []

            def write_late() -> None:
                with repository.unit_of_work() as late:
                    seen = late.get(lead.id)
                    with repository.unit_of_work() as first:
                        won = attrs.evolve(
                            seen, status=Status.CLAIMED, holder_id="i-ben", version=2
                        )
                        first.update(won, expected_version=1)
                        first.append([_event(won, 2, EventKind.CLAIMED, actor_id="i-ben")])
                        first.commit()
                    with repository.unit_of_work() as reader:
                        counts.extend(reader.counts(queries))
                    assigned = attrs.evolve(
                        seen, status=Status.ASSIGNED, holder_id="i-anna", version=2
                    )
                    late.update(assigned, expected_version=1)
                    late.append([_event(assigned, 2, EventKind.ASSIGNED)])
                    late.enqueue([_notice(assigned, "i-anna", NotificationKind.ASSIGNED)])
                    late.commit()

            with pytest.raises(StaleUpdate) as raised:
                write_late()
            assert raised.value.lead_id == lead.id
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id).holder_id == "i-ben"
                assert [e.actor_id for e in uow.history(lead.id)] == ["i-ben"]
                assert uow.counts(queries) == counts
            assert list(outbox()) == []

        def test_a_batch_that_lost_one_lead_stores_nothing(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R11: a sweep's unit reads a batch of leads and updates each; another
            writer changed one of them in between. The batch is refused with StaleUpdate
            naming that lead (where the backend sends the batch's updates together, at
            the next statement or the commit), and nothing of the batch is stored: no
            other lead's update, event, notice or former holder."""
            leads = store_leads(repository, [make_lead(f"batch-{n}") for n in range(6)])
            raced = leads[3]

            def sweep_late() -> None:
                with repository.unit_of_work() as late:
                    seen = [late.get(lead.id) for lead in leads]
                    with repository.unit_of_work() as first:
                        won = attrs.evolve(
                            raced, status=Status.CLAIMED, holder_id="i-ben", version=2
                        )
                        first.update(won, expected_version=1)
                        first.append([_event(won, 2, EventKind.CLAIMED, actor_id="i-ben")])
                        first.commit()
                    changed = [
                        attrs.evolve(
                            lead,
                            status=Status.ASSIGNED,
                            holder_id="i-anna",
                            previous_holders=frozenset({"i-ben"}),
                            version=2,
                        )
                        for lead in seen
                    ]
                    for lead in changed:
                        late.update(lead, expected_version=1)
                    late.append([_event(lead, 2, EventKind.ASSIGNED) for lead in changed])
                    late.enqueue(
                        [_notice(lead, "i-anna", NotificationKind.ASSIGNED) for lead in changed]
                    )
                    late.commit()

            with pytest.raises(StaleUpdate) as raised:
                sweep_late()
            assert raised.value.lead_id == raced.id
            with repository.unit_of_work() as uow:
                for lead in leads:
                    stored = uow.get(lead.id)
                    if lead.id == raced.id:
                        assert stored.holder_id == "i-ben"
                        assert [e.actor_id for e in uow.history(lead.id)] == ["i-ben"]
                    else:
                        assert stored == lead
                        assert uow.history(lead.id) == []
            assert list(outbox()) == []

        def test_a_unit_reads_its_own_updates(self, repository: LeadRepository) -> None:
            """Inside a unit, get/find/counts/history see an update made before them,
            also when the backend holds the update back."""
            (lead,) = store_leads(repository, [make_lead("own-update")])
            new_tab = query_for(Scope(None), Tab.NEW)
            with repository.unit_of_work() as uow:
                seen = uow.get(lead.id)
                claimed = attrs.evolve(seen, status=Status.CLAIMED, holder_id="i-anna", version=2)
                uow.update(claimed, expected_version=1)
                assert uow.get(lead.id) == claimed
                contacted = attrs.evolve(claimed, status=Status.FIRST_CONTACT, version=3)
                uow.update(contacted, expected_version=2)
                uow.append([_event(claimed, 2, EventKind.CLAIMED)])
                assert [e.version for e in uow.history(lead.id)] == [2]
                assert [x.status for x in uow.find(query_for(Scope(None), Tab.ALL)).leads] == [
                    Status.FIRST_CONTACT
                ]
                assert uow.counts([new_tab]) == [0]
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == contacted

        def test_successive_updates_in_one_unit(self, repository: LeadRepository) -> None:
            """A unit of work sees its own update: the next one starts from it."""
            (lead,) = store_leads(repository, [make_lead("chain")])
            with repository.unit_of_work() as uow:
                v2 = attrs.evolve(lead, status=Status.CLAIMED, holder_id="i-anna", version=2)
                uow.update(v2, expected_version=1)
                v3 = attrs.evolve(v2, status=Status.FIRST_CONTACT, version=3)
                uow.update(v3, expected_version=2)
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == v3

    class TestUnitOfWork:
        def test_commit_stores_lead_history_and_outbox_together(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10/R13: the lead, its events and its notifications land together."""
            with repository.unit_of_work() as uow:
                lead = uow.add(make_lead("together"))
                uow.append([_event(lead, 1, EventKind.RECEIVED, from_status=None)])
                uow.enqueue([_notice(lead, "i-anna"), _notice(lead, "i-ben")])
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == lead
                assert [e.kind for e in uow.history(lead.id)] == [EventKind.RECEIVED]
            assert sorted(n.recipient_id for n in outbox()) == ["i-anna", "i-ben"]

        def test_leaving_without_commit_stores_nothing(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10: no commit, no lead, no history, no outbox record."""
            with repository.unit_of_work() as uow:
                lead = uow.add(make_lead("uncommitted"))
                uow.append([_event(lead, 1, EventKind.RECEIVED, from_status=None)])
                uow.enqueue([_notice(lead, "i-anna")])
            with repository.unit_of_work() as uow:
                assert uow.get_by_source("uncommitted") is None
                with pytest.raises(LeadNotFound):
                    uow.get(lead.id)
                assert uow.history(lead.id) == []
                assert uow.find(query_for(Scope(None), Tab.ALL)).total == 0
            assert list(outbox()) == []

        def test_exception_rolls_everything_back(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10: an exception inside the unit stores nothing — not the update, not
            the event, not the notice."""
            (lead,) = store_leads(repository, [make_lead("rollback")])
            with pytest.raises(_Boom):
                _write_everything_then_fail(repository, lead)
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == lead
                assert uow.history(lead.id) == []
                assert uow.get_by_source("rollback-new") is None
            assert list(outbox()) == []

        def test_explicit_rollback_discards(self, repository: LeadRepository) -> None:
            """rollback() discards the unit's writes; a unit left afterwards stores
            nothing either."""
            (lead,) = store_leads(repository, [make_lead("explicit")])
            with repository.unit_of_work() as uow:
                uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
                uow.rollback()
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id).status is Status.NEW

        def test_reads_see_own_writes(self, repository: LeadRepository) -> None:
            """Inside a unit, get/find/counts/history see what it wrote before commit."""
            with repository.unit_of_work() as uow:
                lead = uow.add(make_lead("own"))
                uow.append([_event(lead, 1, EventKind.RECEIVED, from_status=None)])
                assert uow.get(lead.id) == lead
                assert uow.get_by_source("own") == lead
                assert [e.kind for e in uow.history(lead.id)] == [EventKind.RECEIVED]
                query = query_for(Scope(None), Tab.ALL)
                assert [x.id for x in uow.find(query).leads] == [lead.id]
                assert uow.counts([query]) == [1]

        def test_a_unit_opened_for_writing_reads_then_writes(
            self, repository: LeadRepository
        ) -> None:
            """R3: ``unit_of_work(writing=True)`` (how LeadDesk opens every change) reads,
            updates conditionally, commits and rolls back like any other unit."""
            (lead,) = store_leads(repository, [make_lead("writing")])
            claimed = attrs.evolve(lead, status=Status.CLAIMED, holder_id="i-anna", version=2)
            with repository.unit_of_work(writing=True) as uow:
                assert uow.get(lead.id) == lead
                uow.update(claimed, expected_version=1)
                uow.append([_event(claimed, 2, EventKind.CLAIMED)])
                assert uow.counts([query_for(Scope(None), Tab.ALL)]) == [1]
                uow.commit()
            with repository.unit_of_work(writing=True) as uow, pytest.raises(StaleUpdate):
                uow.update(attrs.evolve(lead, version=2), expected_version=1)
            with repository.unit_of_work(writing=True) as uow:
                assert uow.get(lead.id) == claimed
                uow.update(attrs.evolve(claimed, status=Status.NEW, version=3), expected_version=2)
            with repository.unit_of_work() as uow:
                assert uow.get(lead.id) == claimed
                assert [e.version for e in uow.history(lead.id)] == [2]

    class TestHistory:
        def test_events_come_back_oldest_first(self, repository: LeadRepository) -> None:
            """R13: history in the order it happened, every field kept."""
            (lead,) = store_leads(repository, [make_lead("hist")])
            events = [
                _event(lead, 1, EventKind.RECEIVED, from_status=None, to_status=Status.NEW),
                _event(lead, 2, EventKind.CLAIMED, holder_id="i-anna"),
                _event(
                    lead,
                    3,
                    EventKind.RECORDED,
                    from_status=Status.CLAIMED,
                    to_status=Status.FOLLOW_UP,
                    channel=Channel.PHONE,
                    note="Rückruf erbeten – Dienstag",
                    due_at=T0 + dt.timedelta(days=3),
                    holder_id="i-anna",
                ),
                _event(
                    lead,
                    4,
                    EventKind.RELEASED,
                    from_status=Status.FOLLOW_UP,
                    to_status=Status.NEW,
                    reason=ReleaseReason.NO_CAPACITY,
                    holder_id="i-anna",
                ),
                _event(
                    lead,
                    5,
                    EventKind.EXPIRED,
                    actor_id=SYSTEM_ACTOR,
                    from_status=Status.CLAIMED,
                    to_status=Status.NEW,
                ),
            ]
            with repository.unit_of_work() as uow:
                uow.append(events[:2])
                uow.commit()
            with repository.unit_of_work() as uow:
                uow.append(events[2:3])
                uow.append(events[3:])
                uow.commit()
            with repository.unit_of_work() as uow:
                assert uow.history(lead.id) == events

        def test_each_lead_has_its_own_history(self, repository: LeadRepository) -> None:
            """R13: events belong to their lead; a lead without events has none."""
            a, b, c = store_leads(
                repository, [make_lead("h-a"), make_lead("h-b"), make_lead("h-c")]
            )
            with repository.unit_of_work() as uow:
                uow.append([_event(a, 1, EventKind.RECEIVED), _event(b, 1, EventKind.RECEIVED)])
                uow.append([_event(a, 2, EventKind.CLAIMED)])
                uow.commit()
            with repository.unit_of_work() as uow:
                assert [e.version for e in uow.history(a.id)] == [1, 2]
                assert [e.lead_id for e in uow.history(b.id)] == [b.id]
                assert uow.history(c.id) == []

    class TestDue:
        @pytest.fixture
        def stored(self, repository: LeadRepository) -> list[Lead]:
            drafts = [
                make_lead(
                    f"due-{n}",
                    status=Status.CLAIMED,
                    holder_id="i-anna",
                    deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, T0 + dt.timedelta(hours=n - 5)),
                )
                for n in (7, 0, 3, 5, 9, 1)
            ]
            drafts.append(make_lead("no-deadline", status=Status.FIRST_CONTACT, holder_id="i-b"))
            return store_leads(repository, drafts)

        def test_only_passed_deadlines_earliest_first(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R11: leads whose deadline.at <= now (inclusive), earliest first; none
            without a deadline."""
            with repository.unit_of_work() as uow:
                due = uow.due(T0, 100)
            assert [lead.source_id for lead in due] == ["due-0", "due-1", "due-3", "due-5"]
            for lead in due:
                assert lead.deadline is not None
                assert lead.deadline.at <= T0

        def test_at_most_limit(self, repository: LeadRepository, stored: list[Lead]) -> None:
            """R11: the sweep reads due leads in batches."""
            with repository.unit_of_work() as uow:
                assert [lead.source_id for lead in uow.due(T0, 2)] == ["due-0", "due-1"]

        def test_nothing_due_before_the_first_deadline(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R11: the sweep finds nothing when nothing has passed."""
            with repository.unit_of_work() as uow:
                assert uow.due(T0 - dt.timedelta(hours=5, microseconds=1), 100) == []
                later = uow.due(T0 + dt.timedelta(days=1), 100)
            assert len(later) == 6
