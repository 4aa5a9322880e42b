"""Searched, filtered and sorted lists agree with the pure rule and with a brute-force
model (R2, R8, R16): part of :class:`~qleads.testing.contract.RepositoryContract`.

For every filter of a fixed set (search by id, postal code, city and name, with case and
umlauts; statuses; arrival days; deadline windows; installer; every sort) and every
scope and tab, ``find`` returns exactly the leads :func:`qleads.tabs.matches` selects
from the query :func:`qleads.filters.refine` makes, in :func:`qleads.tabs.sort_key`
order, with the total. Every adapter that passes returns the same lists, so memory,
SQLite and PostgreSQL agree with each other. A property test then draws leads and
filters and compares :meth:`~qleads.desk.LeadDesk.search` through a
:class:`~qleads.testing.world.World` with a model written from the rulebook alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qleads.filters import DeadlineWindow, LeadFilter, SortKey, refine
from qleads.lifecycle import Status
from qleads.model import Actor, Admin, Installer, Lead, LeadSummary, Policy, SalesRep
from qleads.ports import LeadRepository
from qleads.tabs import LeadQuery, Scope, Tab, matches, query_for, sort_key
from qleads.testing.contract.tab_queries import SCOPES, fixed_leads
from qleads.testing.profiles import examples
from qleads.testing.world import T0, World, make_document, store_leads

__all__ = [
    "FILTERS",
    "LeadSearchContract",
    "folded_by_hand",
    "lead_filters",
    "model_sort_key",
    "narrowed_by_hand",
    "searchable_leads",
]

_COUNTER = itertools.count()
_BERLIN = ZoneInfo("Europe/Berlin")

#: Names, places and postal codes with case, umlauts and shared parts, for the search.
_PEOPLE = (
    ("Erika Mustermann", "04107", "Leipzig"),
    ("Jürgen Özdemir", "04109", "LEIPZIG-Süd"),
    ("ÖZTÜRK, Ümit", "01067", "Dresden"),
    ("Ute Straße", "80331", "München"),
    ("Max Müller", "09111", "Chemnitz"),
    ("anna leipziger", "04229", "Markkleeberg"),
    ("Zoë Åberg", "86150", "Augsburg"),
)


def searchable_leads() -> list[Lead]:
    """:func:`~qleads.testing.contract.tab_queries.fixed_leads` with varied customers
    (:data:`_PEOPLE`) and status dates, so that every search and sort has work to do."""
    leads = []
    for n, lead in enumerate(fixed_leads()):
        name, postal_code, city = _PEOPLE[n % len(_PEOPLE)]
        document = make_document(
            lead.document.source_id,
            postal_code=postal_code,
            city=city,
            name=name,
            received_at=lead.received_at,
        )
        status_at = lead.received_at + dt.timedelta(hours=(n * 5) % 17)
        leads.append(attrs.evolve(lead, document=document, status_at=status_at))
    return leads


#: The filters the agreement test runs, by name.
FILTERS: dict[str, LeadFilter] = {
    "nothing": LeadFilter(),
    "postal code prefix": LeadFilter(text="041"),
    "city, other case": LeadFilter(text="leipzig"),
    "city with umlaut, upper case": LeadFilter(text="SÜD"),
    "name with umlaut, lower case": LeadFilter(text="özdemir"),
    "name, upper case umlauts": LeadFilter(text="ÜMIT"),
    "name: a letter beyond the folding": LeadFilter(text="zoë"),
    "name: sharp s": LeadFilter(text="straße"),
    "a lead id": LeadFilter(text="3"),
    "nothing found": LeadFilter(text="gibt es nicht"),
    "statuses": LeadFilter(statuses=frozenset({Status.NEW, Status.OFFER_SENT})),
    "received between": LeadFilter(
        received_from=dt.date(2026, 11, 10), received_to=dt.date(2026, 11, 14)
    ),
    "deadline overdue": LeadFilter(deadline=DeadlineWindow.OVERDUE),
    "deadline this week": LeadFilter(deadline=DeadlineWindow.THIS_WEEK),
    "installer": LeadFilter(installer_id="i-ben"),
    "sort by id": LeadFilter(sort=SortKey.ID),
    "sort by id, descending": LeadFilter(sort=SortKey.ID, descending=True),
    "sort by received": LeadFilter(sort=SortKey.RECEIVED),
    "sort by status date, descending": LeadFilter(sort=SortKey.STATUS_AT, descending=True),
    "sort by status date": LeadFilter(sort=SortKey.STATUS_AT),
    "sort by deadline": LeadFilter(sort=SortKey.DEADLINE),
    "sort by deadline, descending": LeadFilter(sort=SortKey.DEADLINE, descending=True),
    "everything at once": LeadFilter(
        text="e",
        statuses=frozenset({Status.NEW, Status.CLAIMED, Status.FOLLOW_UP}),
        received_from=dt.date(2026, 11, 1),
        sort=SortKey.DEADLINE,
    ),
}

_POLICIES = {"hidden": Policy(), "shown": Policy(contact_before_claim="shown")}


def _refined(
    scope: Scope, tab: Tab, lead_filter: LeadFilter, policy: Policy, *, offset: int = 0, limit: int
) -> LeadQuery:
    return refine(
        scope, tab, lead_filter, policy=policy, now=T0, zone=_BERLIN, offset=offset, limit=limit
    )


class LeadSearchContract:
    """The searched lists' share of :class:`~qleads.testing.contract.RepositoryContract`,
    which provides the ``repository`` fixture."""

    class TestLeadSearch:
        @pytest.fixture
        def stored(self, repository: LeadRepository) -> list[Lead]:
            return store_leads(repository, searchable_leads())

        @pytest.mark.parametrize("policy_name", sorted(_POLICIES))
        @pytest.mark.parametrize("filter_name", list(FILTERS))
        def test_find_agrees_with_the_pure_rule(
            self,
            repository: LeadRepository,
            stored: list[Lead],
            filter_name: str,
            policy_name: str,
        ) -> None:
            """R2/R8/R16: for every scope and tab the filtered query returns exactly the
            leads qleads.tabs.matches selects, in sort_key order, with the total, and
            counts() agrees."""
            lead_filter = FILTERS[filter_name]
            for scope in SCOPES.values():
                if scope.installer_id is not None and lead_filter.installer_id is not None:
                    continue
                for tab in Tab:
                    query = _refined(scope, tab, lead_filter, _POLICIES[policy_name], limit=500)
                    expected = sorted(
                        (lead for lead in stored if matches(query, lead)),
                        key=lambda lead, q=query: sort_key(q.order, lead),  # type: ignore[misc]
                    )
                    with repository.unit_of_work() as uow:
                        page = uow.find(query)
                        (count,) = uow.counts([query]) if query.clauses else (0,)
                    assert list(page.leads) == [lead.summary() for lead in expected], (
                        scope,
                        tab,
                    )
                    assert page.total == len(expected) == count

        def test_the_filters_find_something(self, stored: list[Lead]) -> None:
            """Guard on the fixture: each search but the one for nothing finds a lead
            for the admin, so agreement means something."""
            for name, lead_filter in FILTERS.items():
                query = _refined(Scope(None), Tab.ALL, lead_filter, Policy(), limit=500)
                found = [lead for lead in stored if matches(query, lead)]
                assert bool(found) is (name != "nothing found"), name

        def test_a_hidden_name_is_not_searched(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R16: a name search finds a pool lead for an installer only where the
            policy shows him its contact; his own leads he finds by name either way."""
            anna = SCOPES["installer anna (Leipzig, Dresden)"]
            by_name = LeadFilter(text="Mustermann")
            pool = [
                lead
                for lead in stored
                if lead.status is Status.NEW
                and lead.territory_id in ("t-leipzig", "t-dresden")
                and lead.document.contact.name == "Erika Mustermann"
            ]
            own = [
                lead
                for lead in stored
                if lead.holder_id == "i-anna" and lead.document.contact.name == "Erika Mustermann"
            ]
            assert pool
            assert own
            with repository.unit_of_work() as uow:
                hidden = uow.find(_refined(anna, Tab.ALL, by_name, Policy(), limit=500))
                shown = uow.find(_refined(anna, Tab.ALL, by_name, _POLICIES["shown"], limit=500))
            assert {lead.id for lead in hidden.leads} == {lead.id for lead in own}
            assert {lead.id for lead in shown.leads} == {lead.id for lead in own + pool}

        def test_pages_of_a_filtered_list_split_it(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R8: pages of 3 of a searched, re-sorted list concatenate to the whole."""
            scope, lead_filter = SCOPES["admin"], LeadFilter(text="e", sort=SortKey.STATUS_AT)
            with repository.unit_of_work() as uow:
                whole = uow.find(_refined(scope, Tab.ALL, lead_filter, Policy(), limit=500))
            pages: list[LeadSummary] = []
            for offset in range(0, whole.total + 3, 3):
                with repository.unit_of_work() as uow:
                    page = uow.find(
                        _refined(scope, Tab.ALL, lead_filter, Policy(), offset=offset, limit=3)
                    )
                assert page.total == whole.total
                pages.extend(page.leads)
            assert tuple(pages) == whole.leads
            assert whole.total > 6

        @settings(
            max_examples=examples(0.2),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(data=st.data())
        def test_search_agrees_with_a_brute_force_model(
            self, repository: LeadRepository, data: st.DataObject
        ) -> None:
            """Property (R2, R8, R16): LeadDesk.search on drawn leads and filters returns
            what a model written from the rulebook alone returns."""
            policy = data.draw(st.sampled_from(list(_POLICIES.values())), label="policy")
            world = World(repository, policy=policy)
            drafts = data.draw(st.lists(_drawn_leads(), min_size=1, max_size=8), label="leads")
            world.store(*drafts)
            readers: list[Actor] = [world.anna, world.carl, world.rep_east, world.admin]
            actor = data.draw(st.sampled_from(readers), label="reader")
            tab = data.draw(
                st.sampled_from([Tab.ALL, Tab.AVAILABLE, Tab.MINE, Tab.FOLLOW_UP, Tab.CLOSED]),
                label="tab",
            )
            lead_filter = data.draw(
                lead_filters(staff=not isinstance(actor, Installer)), label="filter"
            )
            with repository.unit_of_work() as uow:
                everything = uow.find(query_for(Scope(None), Tab.ALL, limit=500)).leads
            page = world.desk.search(actor, tab, lead_filter, per_page=500)
            expected = _model(everything, actor, tab, lead_filter, policy, world)
            assert [row.lead.id for row in page.items] == [lead.id for lead in expected]
            assert page.total == len(expected)


# --- the brute-force model -------------------------------------------------------------------

_NAMES = ("Özil", "özil", "Anna Müller", "MÜLLER", "Bauer", "Zoë", "Straße")
_CITIES = ("Leipzig", "leipzig-Ost", "Dresden", "München", "Ürzig")


@st.composite
def _drawn_leads(draw: st.DrawFn) -> Lead:
    """Leads of the East and the South, with names and places the filters hit."""
    received = T0 - dt.timedelta(hours=draw(st.integers(-24, 24 * 20)))
    status = draw(st.sampled_from(Status))
    held = status is not Status.NEW
    hold = T0 + dt.timedelta(hours=draw(st.integers(-72, 240)))
    due = T0 + dt.timedelta(hours=draw(st.integers(-72, 240)))
    document = make_document(
        f"model-{next(_COUNTER)}",
        name=draw(st.sampled_from(_NAMES)),
        city=draw(st.sampled_from(_CITIES)),
        postal_code=draw(st.sampled_from(("04107", "01067", "80331", "04229"))),
        received_at=received,
    )
    return Lead(
        id=0,
        document=document,
        received_at=received,
        territory_id=draw(st.sampled_from(["t-leipzig", "t-dresden", "t-munich", None])),
        status=status,
        status_at=received + dt.timedelta(hours=draw(st.integers(0, 48))),
        holder_id=draw(st.sampled_from(["i-anna", "i-ben", "i-carl"])) if held else None,
        hold_until=hold if status is Status.CLAIMED and draw(st.booleans()) else None,
        due_at=due if status is Status.FOLLOW_UP else None,
    )


@st.composite
def lead_filters(
    draw: st.DrawFn, *, staff: bool, installers: Sequence[str] = ("i-anna", "i-ben")
) -> LeadFilter:
    """Filters of every kind, the installer filter only for ``staff`` (from
    ``installers``)."""
    low = draw(st.none() | st.dates(dt.date(2026, 10, 25), dt.date(2026, 11, 20)))
    high = draw(st.none() | st.dates(low or dt.date(2026, 10, 25), dt.date(2026, 11, 25)))
    return LeadFilter(
        text=draw(st.sampled_from(["", "ö", "ÖZ", "müller", "leipzig", "04", "zoë", "1", "ürz"])),
        statuses=draw(st.frozensets(st.sampled_from(Status), max_size=3)),
        received_from=low,
        received_to=high,
        deadline=draw(st.none() | st.sampled_from(DeadlineWindow)),
        installer_id=draw(st.none() | st.sampled_from(list(installers))) if staff else None,
        sort=draw(st.none() | st.sampled_from(SortKey)),
        descending=draw(st.booleans()),
    )


def folded_by_hand(text: str) -> str:
    """The search's folding, written out: ASCII letters and Ä, Ö, Ü to lower case."""
    return "".join(ch.lower() if ("A" <= ch <= "Z" or ch in "ÄÖÜ") else ch for ch in text)


def _model(
    leads: tuple[LeadSummary, ...],
    actor: Actor,
    tab: Tab,
    lead_filter: LeadFilter,
    policy: Policy,
    world: World,
) -> list[LeadSummary]:
    """The rulebook read directly: R2 visibility, R8's tab table, R16 for names, then the
    filter, then the order (R8's default or the sort column, id breaking ties, leads
    without the column's value last)."""
    is_installer = isinstance(actor, Installer)
    if isinstance(actor, Admin):
        mine: set[str | None] | None = None
    else:
        rep_id = actor.rep_id if isinstance(actor, Installer) else actor.id
        assert isinstance(actor, Installer | SalesRep)
        mine = {t.id for t in world.cast.territories if t.rep_id == rep_id}
    work_tabs = {
        Tab.NEW: {Status.CLAIMED, Status.ASSIGNED},
        Tab.IN_PROGRESS: {Status.CONTACT_ATTEMPTED, Status.FIRST_CONTACT, Status.OFFER_SENT},
        Tab.FOLLOW_UP: {Status.FOLLOW_UP},
        Tab.CLOSED: {Status.ORDER_PLACED, Status.UNSUCCESSFUL},
    }
    shown: list[tuple[LeadSummary, bool]] = []
    for lead in leads:
        own = is_installer and lead.holder_id == actor.id
        in_area = mine is None or lead.territory_id in mine
        pool = lead.status is Status.NEW and in_area
        if tab is Tab.AVAILABLE:
            visible = pool
        elif tab is Tab.MINE:
            visible = own if is_installer else (in_area and lead.holder_id is not None)
        elif tab is Tab.ALL:
            visible = (pool or own) if is_installer else in_area
        else:
            visible = lead.status in work_tabs[tab] and (own if is_installer else in_area)
        if visible:
            name_visible = not is_installer or policy.contact_before_claim == "shown" or own
            shown.append((lead, name_visible))
    return narrowed_by_hand(shown, lead_filter, tab=tab, now=T0, zone=_BERLIN)


def narrowed_by_hand(
    shown: Iterable[tuple[LeadSummary, bool]],
    lead_filter: LeadFilter,
    *,
    tab: Tab,
    now: dt.datetime,
    zone: ZoneInfo,
) -> list[LeadSummary]:
    """The leads of a tab (each with whether its reader may see its name, R16) that
    ``lead_filter`` keeps, in its order: the filter read from the rulebook, without
    :mod:`qleads.filters`."""
    local_today = now.astimezone(zone).date()
    week_end = dt.datetime.combine(
        local_today + dt.timedelta(days=7 - local_today.weekday()), dt.time(), tzinfo=zone
    )
    chosen = []
    for lead, name_visible in shown:
        if lead_filter.statuses and lead.status not in lead_filter.statuses:
            continue
        if lead_filter.installer_id is not None and lead.holder_id != lead_filter.installer_id:
            continue
        day = lead.received_at.astimezone(zone).date()
        if lead_filter.received_from is not None and day < lead_filter.received_from:
            continue
        if lead_filter.received_to is not None and day > lead_filter.received_to:
            continue
        deadline = lead.hold_until or lead.due_at
        if lead_filter.deadline is DeadlineWindow.OVERDUE and not (deadline and deadline < now):
            continue
        if lead_filter.deadline is DeadlineWindow.THIS_WEEK and not (
            deadline and now <= deadline < week_end
        ):
            continue
        text = folded_by_hand(lead_filter.text)
        if text:
            hit = (
                text == str(lead.id)
                or text in folded_by_hand(lead.postal_code)
                or text in folded_by_hand(lead.city)
                or (name_visible and text in folded_by_hand(lead.name))
            )
            if not hit:
                continue
        chosen.append(lead)
    return sorted(chosen, key=lambda lead: model_sort_key(lead, tab, lead_filter))


def model_sort_key(lead: LeadSummary, tab: Tab, lead_filter: LeadFilter) -> tuple[object, ...]:
    """The order of a list by hand: the filter's column (id breaking ties in the same
    direction, leads without a value last), else the tab's (R8)."""
    sort, descending = lead_filter.sort, lead_filter.descending
    if sort is None:
        sort, descending = (
            (SortKey.DEADLINE, False) if tab is Tab.FOLLOW_UP else (SortKey.RECEIVED, True)
        )
        if tab is Tab.FOLLOW_UP:
            due = lead.due_at
            return (due is None, due.timestamp() if due is not None else 0.0, lead.id)
    sign = -1 if descending else 1
    if sort is SortKey.ID:
        return (False, 0, sign * lead.id)
    value = {
        SortKey.RECEIVED: lead.received_at,
        SortKey.STATUS_AT: lead.status_at,
        SortKey.DEADLINE: lead.hold_until or lead.due_at,
    }[sort]
    if value is None:
        return (True, 0, sign * lead.id)
    return (False, sign * value.timestamp(), sign * lead.id)
