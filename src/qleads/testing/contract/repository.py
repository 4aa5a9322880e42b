"""The repository contract: what every :class:`~qleads.ports.LeadRepository` must do.

Shipped inside the package (like eventsourcing's ``eventsourcing/tests/persistence.py``) so
that anyone writing a storage adapter runs the same suite as the adapters qleads ships.
Subclass :class:`RepositoryContract` in a test module and provide a ``repository``
fixture that returns a fresh, empty repository::

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self) -> LeadRepository:
            return MyRepository(...)

The port has no reading side for the notification outbox (a dispatcher delivers it, a
later concern), so the suite reads it through the ``outbox`` fixture: by default the
repository's ``notifications()`` method, as :class:`InMemoryLeadRepository` has it;
override the fixture if your adapter names it differently.

The suite states the promises the service (``qleads.desk``) builds on: ids and the
``source_id`` conflict (R1), conditional updates (R3, R11), one transaction for the lead,
its history and its outbox (R10, R13), the tab queries agreeing with the pure rule of
``qleads.tabs`` on every lead (R2, R8), due deadlines (R11), and short end-to-end
scenarios of :class:`~qleads.desk.LeadDesk` on the repository, the deadline boundary
among them (R4: a record at or after ``hold_until`` is refused; a change after any other
deadline stores that deadline's effect first, several versions of a lead in one unit).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qleads.adapters.clock import FrozenClock
from qleads.adapters.memory import InMemoryDirectory
from qleads.calendar import Calendar
from qleads.desk import SYSTEM_ACTOR, LeadDesk
from qleads.errors import (
    ClaimExpired,
    IntakeConflict,
    LeadNoLongerAvailable,
    LeadNotFound,
    StaleUpdate,
)
from qleads.lifecycle import Status
from qleads.model import (
    Admin,
    Channel,
    Consumption,
    Contact,
    CostRow,
    Costs,
    Deadline,
    DeadlineKind,
    EcoBalance,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadDocument,
    LeadSource,
    LeadSummary,
    Notification,
    NotificationKind,
    Policy,
    ReleaseReason,
    Roof,
    SalesRep,
    Territory,
)
from qleads.ports import LeadRepository, Page, UnitOfWork
from qleads.tabs import LeadQuery, Scope, Tab, matches, query_for, sort_key

__all__ = ["RepositoryContract", "make_document", "make_lead", "stored_leads"]

UTC = dt.UTC
#: A fixed instant the fixed leads are spread around (a Monday).
T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=UTC)

Outbox = Callable[[], Sequence[Notification]]


class _HasNotifications(Protocol):
    def notifications(self) -> Sequence[Notification]: ...


# --- building values ---------------------------------------------------------------------


def make_document(
    source_id: str,
    *,
    postal_code: str = "04107",
    city: str = "Leipzig",
    name: str = "Erika Mustermann",
    received_at: dt.datetime | None = None,
) -> LeadDocument:
    """A complete lead document with the manual's example figures (Anlage 2)."""
    return LeadDocument(
        source_id=source_id,
        contact=Contact(
            name=name,
            street="Augustusplatz 9",
            postal_code=postal_code,
            city=city,
            country="DE",
            email="erika@example.org",
            phone="+49 341 1234567",
            reachability="werktags ab 17 Uhr",
            comment="Bitte zuerst per E-Mail — danke!",
        ),
        consumption=Consumption(
            persons=4,
            annual_kwh=4500,
            price_ct_per_kwh=Decimal("31.45"),
            main_usage="evenings",
        ),
        roof=Roof(
            area_m2=Decimal("42.50"),
            tilt_deg=35,
            azimuth_deg=180,
            modules="Q.PEAK DUO ML-G10 400",
            module_count=18,
            storage_interest=True,
        ),
        costs=Costs(
            per_month=CostRow(with_pv=Decimal("15.00"), without_pv=Decimal("92.00")),
            per_year=CostRow(with_pv=Decimal("180.00"), without_pv=Decimal("1104.00")),
            after_20_years=CostRow(with_pv=Decimal("3600.00"), without_pv=Decimal("22080.00")),
        ),
        eco_balance=EcoBalance(co2_saving_kg=48000, trees_planted=2400),
        received_at=received_at,
    )


def make_lead(
    source_id: str,
    *,
    received_at: dt.datetime = T0,
    territory_id: str | None = "t-leipzig",
    status: Status = Status.NEW,
    holder_id: str | None = None,
    hold_until: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    deadline: Deadline | None = None,
    previous_holders: frozenset[str] = frozenset(),
    version: int = 1,
) -> Lead:
    """A draft lead (``id`` 0) for :meth:`~qleads.ports.UnitOfWork.add`."""
    return Lead(
        id=0,
        document=make_document(source_id, received_at=received_at),
        received_at=received_at,
        territory_id=territory_id,
        status=status,
        status_at=received_at,
        holder_id=holder_id,
        hold_until=hold_until,
        due_at=due_at,
        deadline=deadline,
        previous_holders=previous_holders,
        version=version,
    )


def _instants() -> st.SearchStrategy[dt.datetime]:
    return st.datetimes(
        # Hypothesis wants naive bounds and adds the zone itself.
        min_value=dt.datetime(2018, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2035, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )


def _money() -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(0), max_value=Decimal("999999.99"), places=2, allow_nan=False
    )


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)


@st.composite
def stored_leads(draw: st.DrawFn) -> Lead:
    """Draft leads with every field varied, for round-trip properties. The ``source_id``
    is the same for every draw: callers make it unique."""
    received = draw(_instants())
    status = draw(st.sampled_from(Status))
    held = status is not Status.NEW
    holder = draw(st.sampled_from(["i-anna", "i-ben", "i-ümit"])) if held else None
    deadline = draw(
        st.none() | st.builds(Deadline, kind=st.sampled_from(DeadlineKind), at=_instants())
    )
    document = LeadDocument(
        source_id="drawn-lead",
        contact=Contact(
            name=draw(_TEXT),
            street=draw(_TEXT),
            postal_code=draw(st.from_regex(r"\A[0-9]{5}\Z")),
            city=draw(_TEXT),
            country="DE",
            email=draw(st.emails(domains=st.just("example.org"))),
            phone=draw(_TEXT),
            reachability=draw(_TEXT),
            comment=draw(_TEXT),
        ),
        consumption=Consumption(
            persons=draw(st.integers(1, 50)),
            annual_kwh=draw(st.integers(0, 100_000)),
            price_ct_per_kwh=draw(_money()),
            main_usage=draw(_TEXT),
        ),
        roof=Roof(
            area_m2=draw(_money()),
            tilt_deg=draw(st.integers(0, 90)),
            azimuth_deg=draw(st.integers(0, 360)),
            modules=draw(_TEXT),
            module_count=draw(st.integers(0, 500)),
            storage_interest=draw(st.booleans()),
        ),
        costs=Costs(
            per_month=CostRow(with_pv=draw(_money()), without_pv=draw(_money())),
            per_year=CostRow(with_pv=draw(_money()), without_pv=draw(_money())),
            after_20_years=CostRow(with_pv=draw(_money()), without_pv=draw(_money())),
        ),
        eco_balance=EcoBalance(
            co2_saving_kg=draw(st.integers(0, 10**7)),
            trees_planted=draw(st.integers(0, 10**6)),
        ),
        received_at=draw(st.none() | st.just(received)),
    )
    return Lead(
        id=0,
        document=document,
        received_at=received,
        territory_id=draw(st.none() | st.sampled_from(["t-leipzig", "t-dresden", "t-münchen"])),
        status=status,
        status_at=draw(_instants()),
        holder_id=holder,
        hold_until=draw(st.none() | _instants()) if held else None,
        due_at=draw(st.none() | _instants()),
        deadline=deadline,
        previous_holders=draw(st.frozensets(st.sampled_from(["i-anna", "i-ben", "i-carl"]))),
        version=draw(st.integers(1, 1000)),
    )


def _fixed_leads() -> list[Lead]:
    """~40 leads covering every status, three territories and unrouted ones, several
    holders, due dates, ties in ``received_at`` and the marker (for R2/R8 agreement)."""
    territories = ["t-leipzig", "t-dresden", "t-munich", None]
    holders = ["i-anna", "i-ben", "i-carl"]
    statuses = list(Status)
    leads: list[Lead] = []
    for n in range(42):
        status = statuses[n % len(statuses)]
        held = status is not Status.NEW
        # Every fifth lead shares its received_at with the one before: the id decides.
        received = T0 - dt.timedelta(hours=7 * (n - n % 5 // 4))
        due = (
            T0 + dt.timedelta(days=(n * 7) % 11 - 3, minutes=n)
            if status is Status.FOLLOW_UP or n % 13 == 0
            else None
        )
        leads.append(
            make_lead(
                f"fixed-{n:02d}",
                received_at=received,
                territory_id=territories[(n // 3) % len(territories)],
                status=status,
                holder_id=holders[n % len(holders)] if held else None,
                hold_until=T0 + dt.timedelta(days=2) if status is Status.CLAIMED else None,
                due_at=due,
                deadline=Deadline(DeadlineKind.FOLLOW_UP_DUE, due) if due and held else None,
                previous_holders=frozenset(holders[: n % 3]),
            )
        )
    return leads


#: The scopes the agreement tests look through: installers (two with territories,
#: one whose rep has none), reps and the admin.
SCOPES: dict[str, Scope] = {
    "installer anna (Leipzig, Dresden)": Scope(
        frozenset({"t-leipzig", "t-dresden"}), installer_id="i-anna"
    ),
    "installer ben (Leipzig, Dresden)": Scope(
        frozenset({"t-leipzig", "t-dresden"}), installer_id="i-ben"
    ),
    "installer carl (Munich)": Scope(frozenset({"t-munich"}), installer_id="i-carl"),
    "installer without territories": Scope(frozenset(), installer_id="i-anna"),
    "rep of Leipzig and Dresden": Scope(frozenset({"t-leipzig", "t-dresden"})),
    "rep of Munich": Scope(frozenset({"t-munich"})),
    "rep without territories": Scope(frozenset()),
    "admin": Scope(None),
}


def _add_all(repository: LeadRepository, drafts: Sequence[Lead]) -> list[Lead]:
    with repository.unit_of_work() as uow:
        stored = [uow.add(draft) for draft in drafts]
        uow.commit()
    return stored


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


def _notice(
    lead: Lead, recipient: str, kind: NotificationKind = NotificationKind.NEW_LEAD
) -> Notification:
    return Notification.for_lead(kind, lead, recipient, T0, deadline_at=T0 + dt.timedelta(days=2))


class _Boom(Exception):
    """Raised inside a unit of work to prove it rolls back."""


def _write_everything_then_fail(repository: LeadRepository, lead: Lead) -> None:
    with repository.unit_of_work() as uow:
        uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
        uow.append([_event(lead, 2, EventKind.CLAIMED)])
        uow.enqueue([_notice(lead, "i-anna")])
        uow.add(make_lead("rollback-new"))
        raise _Boom


def _uow(repository: LeadRepository) -> UnitOfWork:
    return repository.unit_of_work()


# --- the contract ---------------------------------------------------------------------------


class RepositoryContract:
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
            stored = _add_all(repository, [make_lead("a"), make_lead("b"), make_lead("c")])
            ids = [lead.id for lead in stored]
            assert len(set(ids)) == 3
            assert all(isinstance(i, int) and i > 0 for i in ids)
            with _uow(repository) as uow:
                assert [uow.get(i).source_id for i in ids] == ["a", "b", "c"]

        def test_known_source_id_is_a_conflict(self, repository: LeadRepository) -> None:
            """R1: a second lead under a known source_id raises IntakeConflict naming
            the lead that has it."""
            (first,) = _add_all(repository, [make_lead("dup")])
            with _uow(repository) as uow, pytest.raises(IntakeConflict) as raised:
                uow.add(make_lead("dup", received_at=T0 + dt.timedelta(days=1)))
            assert raised.value.source_id == "dup"
            assert raised.value.lead_id == first.id
            assert raised.value.code == "intake_conflict"

        def test_source_id_added_in_the_same_unit_is_a_conflict(
            self, repository: LeadRepository
        ) -> None:
            """R1: the conflict holds before commit too."""
            with _uow(repository) as uow:
                uow.add(make_lead("twice"))
                with pytest.raises(IntakeConflict):
                    uow.add(make_lead("twice"))

        def test_get_by_source_finds_the_lead(self, repository: LeadRepository) -> None:
            """R1: idempotent intake looks leads up by source_id."""
            (lead,) = _add_all(repository, [make_lead("src-1")])
            with _uow(repository) as uow:
                assert uow.get_by_source("src-1") == lead
                assert uow.get_by_source("src-unknown") is None

    class TestGet:
        def test_unknown_id_is_not_found(self, repository: LeadRepository) -> None:
            """R2/R15: an unknown id raises LeadNotFound carrying the id."""
            with _uow(repository) as uow, pytest.raises(LeadNotFound) as raised:
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
            (stored,) = _add_all(repository, [draft])
            assert stored == attrs.evolve(draft, id=stored.id)
            with _uow(repository) as uow:
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
            (stored,) = _add_all(repository, [draft])
            with _uow(repository) as uow:
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
            (stored,) = _add_all(
                repository,
                [make_lead("utc", received_at=received, due_at=received, status=Status.CLAIMED)],
            )
            with _uow(repository) as uow:
                back = uow.get(stored.id)
            for instant in (back.received_at, back.status_at, back.due_at):
                assert instant is not None
                assert instant.utcoffset() == dt.timedelta(0)
                assert instant == received

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(draft=stored_leads())
        def test_any_lead_survives(self, repository: LeadRepository, draft: Lead) -> None:
            """Property: whatever a lead holds, get returns it equal."""
            source_id = f"any-{next(_COUNTER)}"
            draft = attrs.evolve(draft, document=attrs.evolve(draft.document, source_id=source_id))
            (stored,) = _add_all(repository, [draft])
            with _uow(repository) as uow:
                assert uow.get(stored.id) == attrs.evolve(draft, id=stored.id)
                assert uow.get_by_source(source_id) == stored

    class TestConditionalUpdate:
        def test_current_version_is_replaced(self, repository: LeadRepository) -> None:
            """R3/R11: an update from the stored version replaces the lead."""
            (lead,) = _add_all(repository, [make_lead("upd")])
            claimed = attrs.evolve(
                lead,
                status=Status.CLAIMED,
                holder_id="i-anna",
                hold_until=T0 + dt.timedelta(days=2),
                deadline=Deadline(DeadlineKind.CLAIM_EXPIRY, T0 + dt.timedelta(days=2)),
                version=2,
            )
            with _uow(repository) as uow:
                uow.update(claimed, expected_version=1)
                uow.commit()
            with _uow(repository) as uow:
                assert uow.get(lead.id) == claimed

        def test_fields_can_be_cleared(self, repository: LeadRepository) -> None:
            """An update that clears holder, hold, due date and deadline stores None."""
            (lead,) = _add_all(
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
            with _uow(repository) as uow:
                uow.update(released, expected_version=1)
                uow.commit()
            with _uow(repository) as uow:
                assert uow.get(lead.id) == released

        def test_stale_version_is_refused(self, repository: LeadRepository) -> None:
            """R3/R11: an update from an old version raises StaleUpdate and changes
            nothing."""
            (lead,) = _add_all(repository, [make_lead("stale")])
            with _uow(repository) as uow:
                uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
                uow.commit()
            late = attrs.evolve(lead, status=Status.ASSIGNED, holder_id="i-ben", version=2)
            with _uow(repository) as uow, pytest.raises(StaleUpdate) as raised:
                uow.update(late, expected_version=1)
            assert raised.value.lead_id == lead.id
            assert raised.value.expected_version == 1
            with _uow(repository) as uow:
                current = uow.get(lead.id)
            assert current.status is Status.CLAIMED
            assert current.version == 2

        def test_second_writer_from_the_same_version_loses(
            self, repository: LeadRepository
        ) -> None:
            """R3: two writers read version 1; the first wins, the second is refused
            even though it never saw the first."""
            (lead,) = _add_all(repository, [make_lead("race")])
            with _uow(repository) as uow:
                seen = uow.get(lead.id)
                uow.update(
                    attrs.evolve(seen, holder_id="i-anna", status=Status.CLAIMED, version=2),
                    expected_version=seen.version,
                )
                uow.commit()
            with _uow(repository) as uow, pytest.raises(StaleUpdate):
                uow.update(
                    attrs.evolve(lead, holder_id="i-ben", status=Status.CLAIMED, version=2),
                    expected_version=lead.version,
                )
            with _uow(repository) as uow:
                assert uow.get(lead.id).holder_id == "i-anna"

        def test_a_writer_that_read_the_lead_and_lost_stores_nothing(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R3/R10: a unit read version 1, another writer then stored version 2. The
            late unit's update is refused with StaleUpdate, by ``update`` or, where the
            backend holds the update back, by ``commit``, and none of its event, notice
            or tab counts is stored."""
            (lead,) = _add_all(repository, [make_lead("late")])
            queries = [query_for(Scope(None), tab) for tab in Tab]
            counts: list[int] = []

            def write_late() -> None:
                with _uow(repository) as late:
                    seen = late.get(lead.id)
                    with _uow(repository) as first:
                        won = attrs.evolve(
                            seen, status=Status.CLAIMED, holder_id="i-ben", version=2
                        )
                        first.update(won, expected_version=1)
                        first.append([_event(won, 2, EventKind.CLAIMED, actor_id="i-ben")])
                        first.commit()
                    with _uow(repository) as reader:
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
            with _uow(repository) as uow:
                assert uow.get(lead.id).holder_id == "i-ben"
                assert [e.actor_id for e in uow.history(lead.id)] == ["i-ben"]
                assert uow.counts(queries) == counts
            assert list(outbox()) == []

        def test_a_unit_reads_its_own_updates(self, repository: LeadRepository) -> None:
            """Inside a unit, get/find/counts/history see an update made before them,
            also when the backend holds the update back."""
            (lead,) = _add_all(repository, [make_lead("own-update")])
            new_tab = query_for(Scope(None), Tab.NEW)
            with _uow(repository) as uow:
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
            with _uow(repository) as uow:
                assert uow.get(lead.id) == contacted

        def test_successive_updates_in_one_unit(self, repository: LeadRepository) -> None:
            """A unit of work sees its own update: the next one starts from it."""
            (lead,) = _add_all(repository, [make_lead("chain")])
            with _uow(repository) as uow:
                v2 = attrs.evolve(lead, status=Status.CLAIMED, holder_id="i-anna", version=2)
                uow.update(v2, expected_version=1)
                v3 = attrs.evolve(v2, status=Status.FIRST_CONTACT, version=3)
                uow.update(v3, expected_version=2)
                uow.commit()
            with _uow(repository) as uow:
                assert uow.get(lead.id) == v3

    class TestUnitOfWork:
        def test_commit_stores_lead_history_and_outbox_together(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10/R13: the lead, its events and its notifications land together."""
            with _uow(repository) as uow:
                lead = uow.add(make_lead("together"))
                uow.append([_event(lead, 1, EventKind.RECEIVED, from_status=None)])
                uow.enqueue([_notice(lead, "i-anna"), _notice(lead, "i-ben")])
                uow.commit()
            with _uow(repository) as uow:
                assert uow.get(lead.id) == lead
                assert [e.kind for e in uow.history(lead.id)] == [EventKind.RECEIVED]
            assert sorted(n.recipient_id for n in outbox()) == ["i-anna", "i-ben"]

        def test_leaving_without_commit_stores_nothing(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R10: no commit, no lead, no history, no outbox record."""
            with _uow(repository) as uow:
                lead = uow.add(make_lead("uncommitted"))
                uow.append([_event(lead, 1, EventKind.RECEIVED, from_status=None)])
                uow.enqueue([_notice(lead, "i-anna")])
            with _uow(repository) as uow:
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
            (lead,) = _add_all(repository, [make_lead("rollback")])
            with pytest.raises(_Boom):
                _write_everything_then_fail(repository, lead)
            with _uow(repository) as uow:
                assert uow.get(lead.id) == lead
                assert uow.history(lead.id) == []
                assert uow.get_by_source("rollback-new") is None
            assert list(outbox()) == []

        def test_explicit_rollback_discards(self, repository: LeadRepository) -> None:
            """rollback() discards the unit's writes; a unit left afterwards stores
            nothing either."""
            (lead,) = _add_all(repository, [make_lead("explicit")])
            with _uow(repository) as uow:
                uow.update(attrs.evolve(lead, status=Status.CLAIMED, version=2), expected_version=1)
                uow.rollback()
            with _uow(repository) as uow:
                assert uow.get(lead.id).status is Status.NEW

        def test_reads_see_own_writes(self, repository: LeadRepository) -> None:
            """Inside a unit, get/find/counts/history see what it wrote before commit."""
            with _uow(repository) as uow:
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
            (lead,) = _add_all(repository, [make_lead("writing")])
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
            with _uow(repository) as uow:
                assert uow.get(lead.id) == claimed
                assert [e.version for e in uow.history(lead.id)] == [2]

    class TestOutbox:
        def test_duplicate_key_is_ignored(self, repository: LeadRepository, outbox: Outbox) -> None:
            """R10: a stable key per event and recipient; a second record with the same
            key is ignored, within a unit and across units."""
            (lead,) = _add_all(repository, [make_lead("outbox")])
            first = _notice(lead, "i-anna")
            again = attrs.evolve(first, created_at=T0 + dt.timedelta(hours=1))
            with _uow(repository) as uow:
                uow.enqueue([first, again])
                uow.commit()
            with _uow(repository) as uow:
                uow.enqueue([again])
                uow.commit()
            stored = [n for n in outbox() if n.key == first.key]
            assert stored == [first]

        def test_records_round_trip(self, repository: LeadRepository, outbox: Outbox) -> None:
            """R10: kind, lead, recipient and both instants come back as written."""
            (lead,) = _add_all(repository, [make_lead("kinds")])
            notices = [_notice(lead, f"i-{kind.value}", kind) for kind in NotificationKind]
            notices.append(attrs.evolve(_notice(lead, "i-plain"), deadline_at=None))
            with _uow(repository) as uow:
                uow.enqueue(notices)
                uow.commit()
            assert sorted(outbox(), key=lambda n: n.key) == sorted(notices, key=lambda n: n.key)

    class TestHistory:
        def test_events_come_back_oldest_first(self, repository: LeadRepository) -> None:
            """R13: history in the order it happened, every field kept."""
            (lead,) = _add_all(repository, [make_lead("hist")])
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
            with _uow(repository) as uow:
                uow.append(events[:2])
                uow.commit()
            with _uow(repository) as uow:
                uow.append(events[2:3])
                uow.append(events[3:])
                uow.commit()
            with _uow(repository) as uow:
                assert uow.history(lead.id) == events

        def test_each_lead_has_its_own_history(self, repository: LeadRepository) -> None:
            """R13: events belong to their lead; a lead without events has none."""
            a, b, c = _add_all(repository, [make_lead("h-a"), make_lead("h-b"), make_lead("h-c")])
            with _uow(repository) as uow:
                uow.append([_event(a, 1, EventKind.RECEIVED), _event(b, 1, EventKind.RECEIVED)])
                uow.append([_event(a, 2, EventKind.CLAIMED)])
                uow.commit()
            with _uow(repository) as uow:
                assert [e.version for e in uow.history(a.id)] == [1, 2]
                assert [e.lead_id for e in uow.history(b.id)] == [b.id]
                assert uow.history(c.id) == []

    class TestTabQueries:
        @pytest.fixture
        def stored(self, repository: LeadRepository) -> list[Lead]:
            return _add_all(repository, _fixed_leads())

        @pytest.mark.parametrize("scope_name", sorted(SCOPES))
        @pytest.mark.parametrize("tab", list(Tab), ids=lambda tab: tab.value)
        def test_find_agrees_with_the_pure_rule(
            self,
            repository: LeadRepository,
            stored: list[Lead],
            scope_name: str,
            tab: Tab,
        ) -> None:
            """R2/R8: for every tab and scope, the repository's query returns exactly
            the leads qleads.tabs.matches selects, in sort_key order, with the total."""
            query = query_for(SCOPES[scope_name], tab, limit=500)
            expected = sorted(
                (lead for lead in stored if matches(query, lead)),
                key=lambda lead: sort_key(query.order, lead),
            )
            with _uow(repository) as uow:
                page = uow.find(query)
                (count,) = uow.counts([query])
            # Rows are summaries: state, and the name and place the document holds.
            assert list(page.leads) == [lead.summary() for lead in expected]
            assert page.total == len(expected) == count

        @pytest.mark.parametrize("scope_name", sorted(SCOPES))
        def test_counts_agree_for_all_tabs_at_once(
            self, repository: LeadRepository, stored: list[Lead], scope_name: str
        ) -> None:
            """R8: one counts() call answers every tab, in the order asked."""
            scope = SCOPES[scope_name]
            queries = [query_for(scope, tab, offset=3, limit=1) for tab in Tab]
            expected = [sum(1 for lead in stored if matches(q, lead)) for q in queries]
            with _uow(repository) as uow:
                assert uow.counts(queries) == expected
                assert uow.counts([]) == []

        def test_the_fixed_leads_are_varied(self, stored: list[Lead]) -> None:
            """Guard on the fixture itself: every status, unrouted leads, received_at
            ties, due dates and several holders, so agreement means something."""
            assert {lead.status for lead in stored} == set(Status)
            assert any(lead.territory_id is None for lead in stored)
            assert len({lead.received_at for lead in stored}) < len(stored)
            assert sum(1 for lead in stored if lead.due_at is not None) >= 5
            assert len({lead.holder_id for lead in stored}) == 4

        @pytest.mark.parametrize("tab", [Tab.ALL, Tab.FOLLOW_UP, Tab.AVAILABLE])
        def test_pages_split_the_list(
            self, repository: LeadRepository, stored: list[Lead], tab: Tab
        ) -> None:
            """R8: pages of 4 concatenate to the whole list; every page reports the
            same total; a page past the end is empty."""
            scope = SCOPES["admin"]
            everything = _find(repository, query_for(scope, tab, limit=500))
            pages: list[LeadSummary] = []
            offset = 0
            while True:
                with _uow(repository) as uow:
                    page = uow.find(query_for(scope, tab, offset=offset, limit=4))
                assert page.total == len(everything.leads)
                assert len(page.leads) <= 4
                if not page.leads:
                    break
                pages.extend(page.leads)
                offset += 4
            assert tuple(pages) == everything.leads
            assert offset >= len(everything.leads)

        def test_follow_up_tab_is_ordered_by_due_date(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R8: the follow-up tab lists the earliest due date first."""
            page = _find(repository, query_for(SCOPES["admin"], Tab.FOLLOW_UP, limit=500))
            dues = [lead.due_at for lead in page.leads]
            assert len(dues) >= 3
            assert all(d is not None for d in dues)
            assert dues == sorted(d for d in dues if d is not None)

        def test_default_order_is_newest_first_then_highest_id(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R8: newest received first; equal received_at: the higher id first."""
            page = _find(repository, query_for(SCOPES["admin"], Tab.ALL, limit=500))
            keys = [(-lead.received_at.timestamp(), -lead.id) for lead in page.leads]
            assert keys == sorted(keys)
            assert page.total == len(stored)

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(drafts=st.lists(stored_leads(), min_size=1, max_size=6))
        def test_any_leads_agree(self, repository: LeadRepository, drafts: list[Lead]) -> None:
            """Property (R8): on arbitrary leads the query and the rule agree too."""
            unique = [
                attrs.evolve(d, document=attrs.evolve(d.document, source_id=f"p-{next(_COUNTER)}"))
                for d in drafts
            ]
            _add_all(repository, unique)
            with _uow(repository) as uow:
                everything = list(uow.find(query_for(Scope(None), Tab.ALL, limit=500)).leads)
                for scope in SCOPES.values():
                    for tab in (Tab.ALL, Tab.AVAILABLE, Tab.MINE, Tab.FOLLOW_UP, Tab.CLOSED):
                        query = query_for(scope, tab, limit=500)
                        expected = sorted(
                            (lead for lead in everything if matches(query, lead)),
                            key=lambda lead, q=query: sort_key(q.order, lead),  # type: ignore[misc]
                        )
                        assert list(uow.find(query).leads) == expected

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
            return _add_all(repository, drafts)

        def test_only_passed_deadlines_earliest_first(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R11: leads whose deadline.at <= now (inclusive), earliest first; none
            without a deadline."""
            with _uow(repository) as uow:
                due = uow.due(T0, 100)
            assert [lead.source_id for lead in due] == ["due-0", "due-1", "due-3", "due-5"]
            for lead in due:
                assert lead.deadline is not None
                assert lead.deadline.at <= T0

        def test_at_most_limit(self, repository: LeadRepository, stored: list[Lead]) -> None:
            """R11: the sweep reads due leads in batches."""
            with _uow(repository) as uow:
                assert [lead.source_id for lead in uow.due(T0, 2)] == ["due-0", "due-1"]

        def test_nothing_due_before_the_first_deadline(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R11: the sweep finds nothing when nothing has passed."""
            with _uow(repository) as uow:
                assert uow.due(T0 - dt.timedelta(hours=5, microseconds=1), 100) == []
                later = uow.due(T0 + dt.timedelta(days=1), 100)
            assert len(later) == 6

    class TestLeadDeskOnTheRepository:
        def test_claim_record_release_and_sweep(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R1/R3/R4/R6/R7/R10/R11/R13 end to end: the desk works on this adapter."""
            world = _World(repository)
            desk, anna, ben = world.desk, world.anna, world.ben
            # Friday 2026-11-13 16:00 Berlin.
            world.clock.set(dt.datetime(2026, 11, 13, 15, 0, tzinfo=UTC))
            first = desk.intake(world.source, make_document("e2e-1")).lead
            again = desk.intake(world.source, make_document("e2e-1"))
            assert not again.created
            assert again.lead.id == first.id
            assert {n.recipient_id for n in outbox() if n.kind is NotificationKind.NEW_LEAD} == {
                "i-anna",
                "i-ben",
            }

            claimed = desk.claim(anna, first.id)
            assert claimed.lead.hold_until == dt.datetime(2026, 11, 17, 15, 0, tzinfo=UTC)
            with pytest.raises(LeadNoLongerAvailable):
                desk.claim(ben, first.id)
            with pytest.raises(LeadNotFound):
                desk.get(ben, first.id)

            world.clock.advance(dt.timedelta(hours=1))
            desk.record(anna, first.id, Status.FIRST_CONTACT, channel=Channel.PHONE, note="ok")
            desk.release(anna, first.id, reason=ReleaseReason.NO_TIME)
            assert desk.get(anna, first.id).previously_handled

            second = desk.intake(world.source, make_document("e2e-2")).lead
            desk.claim(ben, second.id)
            world.clock.advance(dt.timedelta(days=5))
            report = desk.sweep()
            assert report.expired == 1
            assert desk.sweep().total == 0
            expired = desk.get(world.admin, second.id).lead
            assert expired.status is Status.NEW
            assert expired.holder_id is None
            assert ("claim_expired", "i-ben") in {
                (n.kind.value, n.recipient_id) for n in outbox() if n.lead_id == second.id
            }

            kinds = [e.kind for e in desk.history(world.admin, first.id)]
            assert kinds == [
                EventKind.RECEIVED,
                EventKind.CLAIMED,
                EventKind.RECORDED,
                EventKind.RELEASED,
            ]
            counts = desk.counts(anna)
            assert counts[Tab.AVAILABLE] == 2
            assert counts[Tab.MINE] == 0

        def test_a_record_at_hold_until_is_refused_and_the_sweep_releases_it(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R4: from hold_until on the claim is over before any sweep: a record is
            refused with ClaimExpired, nothing is stored, the next sweep releases."""
            world = _World(repository)
            lead_id = world.desk.intake(world.source, make_document("late-claim")).lead.id
            hold = world.desk.claim(world.anna, lead_id).lead.hold_until
            assert hold is not None
            world.clock.set(hold)
            before = world.desk.get(world.admin, lead_id).lead
            with pytest.raises(ClaimExpired):
                world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
            with pytest.raises(ClaimExpired):
                world.desk.release(world.anna, lead_id)
            assert world.desk.get(world.admin, lead_id).lead == before
            assert len(world.desk.history(world.admin, lead_id)) == 2
            assert world.desk.sweep().expired == 1
            lead = world.desk.get(world.admin, lead_id).lead
            assert (lead.status, lead.holder_id, lead.hold_until) == (Status.NEW, None, None)
            assert ("claim_expired", "i-anna") in {
                (n.kind.value, n.recipient_id) for n in outbox() if n.lead_id == lead_id
            }

        def test_a_late_record_fires_the_due_deadlines_first(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R5, R11: a record after the reminder and the escalation fell due stores
            both, dated at their deadlines, with their notices, then the record — three
            versions of the lead in one unit of work — and the sweep finds nothing."""
            world = _World(repository, policy=Policy(escalation_days=1))
            lead_id = world.desk.intake(world.source, make_document("late-assigned")).lead.id
            assigned = world.desk.assign(world.rep, lead_id, world.anna).lead
            assert assigned.deadline is not None
            reminded_at = assigned.deadline.at
            world.clock.set(reminded_at + dt.timedelta(days=10))
            recorded = world.desk.record(world.anna, lead_id, Status.OFFER_SENT).lead
            stored = world.desk.get(world.admin, lead_id).lead
            assert stored == recorded
            assert (stored.status, stored.deadline, stored.version) == (
                Status.OFFER_SENT,
                None,
                assigned.version + 3,
            )
            events = world.desk.history(world.admin, lead_id)
            assert [(e.kind, e.version) for e in events[-3:]] == [
                (EventKind.REMINDED, assigned.version + 1),
                (EventKind.ESCALATED, assigned.version + 2),
                (EventKind.RECORDED, assigned.version + 3),
            ]
            assert events[-3].effective_at == reminded_at
            kinds = {(n.kind, n.recipient_id) for n in outbox() if n.lead_id == lead_id}
            assert (NotificationKind.ASSIGNMENT_REMINDER, "i-anna") in kinds
            assert (NotificationKind.ESCALATION, "r-ost") in kinds
            assert world.desk.sweep().total == 0

        def test_assigning_an_expired_claim_expires_it_first(
            self, repository: LeadRepository, outbox: Outbox
        ) -> None:
            """R4, R5: for the rep an expired claim is back in the pool: the expiry is
            stored (dated at the hold), then the assignment."""
            world = _World(repository)
            lead_id = world.desk.intake(world.source, make_document("late-reassign")).lead.id
            hold = world.desk.claim(world.anna, lead_id).lead.hold_until
            assert hold is not None
            world.clock.set(hold + dt.timedelta(hours=1))
            world.desk.assign(world.rep, lead_id, world.ben)
            events = world.desk.history(world.admin, lead_id)
            assert [e.kind for e in events] == [
                EventKind.RECEIVED,
                EventKind.CLAIMED,
                EventKind.EXPIRED,
                EventKind.ASSIGNED,
            ]
            assert events[2].effective_at == hold
            lead = world.desk.get(world.admin, lead_id).lead
            assert (lead.status, lead.holder_id) == (Status.ASSIGNED, "i-ben")
            assert lead.previous_holders == {"i-anna"}
            assert world.desk.sweep().total == 0


_COUNTER = itertools.count()


def _find(repository: LeadRepository, query: LeadQuery) -> Page:
    with _uow(repository) as uow:
        return uow.find(query)


class _World:
    """Two installers of one rep in Leipzig, an admin and the calculator."""

    def __init__(self, repository: LeadRepository, policy: Policy | None = None) -> None:
        self.directory = InMemoryDirectory()
        saxony = Calendar("DE", "SN")
        self.rep = self.directory.add_rep(SalesRep("r-ost", "Rita Ost", "rita@example.org"))
        self.directory.add_territory(
            Territory("t-leipzig", "Leipzig", "DE", frozenset({"04"}), "r-ost")
        )
        self.anna = self.directory.add_installer(
            Installer("i-anna", "Anna", "anna@example.org", "r-ost", calendar=saxony)
        )
        self.ben = self.directory.add_installer(
            Installer("i-ben", "Ben", "ben@example.org", "r-ost", calendar=saxony)
        )
        self.admin = self.directory.add_admin(Admin("a-root", "Root"))
        self.source = self.directory.add_source(LeadSource("solarrechner", "Solarrechner"))
        self.clock = FrozenClock(T0)
        self.desk = LeadDesk(repository, self.directory, self.clock, policy)
