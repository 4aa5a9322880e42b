"""The tab queries of a repository agree with the pure rule (R2, R8): part of
:class:`~qleads.testing.contract.RepositoryContract`.

For every tab and every kind of scope — installers with and without territories, reps,
the admin — ``find`` returns exactly the leads :func:`qleads.tabs.matches` selects, in
:func:`qleads.tabs.sort_key` order, page by page, with the total, and ``counts``
answers every tab at once. On ~40 fixed leads that cover every status, unrouted leads,
ties in ``received_at``, due dates and several holders, and on drawn ones.
"""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qleads.lifecycle import Status
from qleads.model import Deadline, DeadlineKind, Lead, LeadSummary
from qleads.ports import FindsCounted, FindsTab, LeadRepository, Page
from qleads.tabs import (
    INSTALLER_TABS,
    LeadQuery,
    Refinement,
    Scope,
    Tab,
    matches,
    query_for,
    sort_key,
)
from qleads.testing.profiles import examples
from qleads.testing.strategies import stored_leads
from qleads.testing.world import T0, make_lead, store_leads

__all__ = ["SCOPES", "TabQueryContract", "fixed_leads"]

_COUNTER = itertools.count()


def fixed_leads() -> list[Lead]:
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


def _find(repository: LeadRepository, query: LeadQuery) -> Page:
    with repository.unit_of_work() as uow:
        return uow.find(query)


def _store_drafts(repository: LeadRepository, drafts: list[Lead]) -> None:
    """Store drawn leads, each under a source id of its own (a drawn one may repeat)."""
    store_leads(
        repository,
        [
            attrs.evolve(d, document=attrs.evolve(d.document, source_id=f"p-{next(_COUNTER)}"))
            for d in drafts
        ],
    )


class TabQueryContract:
    """The tab queries' share of :class:`~qleads.testing.contract.RepositoryContract`,
    which provides the ``repository`` fixture."""

    class TestTabQueries:
        @pytest.fixture
        def stored(self, repository: LeadRepository) -> list[Lead]:
            return store_leads(repository, fixed_leads())

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
            with repository.unit_of_work() as uow:
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
            with repository.unit_of_work() as uow:
                assert uow.counts(queries) == expected
                assert uow.counts([]) == []

        @pytest.mark.parametrize("scope_name", sorted(SCOPES))
        @pytest.mark.parametrize("offset", [0, 2, 500])
        def test_a_page_read_with_the_counts_agrees(
            self, repository: LeadRepository, stored: list[Lead], scope_name: str, offset: int
        ) -> None:
            """R8: a page read together with the tab bar's counts (``find_counted``,
            where the unit offers it) is the page and the counts read apart: every tab,
            a page inside the list and one past its end (no rows, totals still)."""
            scope = SCOPES[scope_name]
            counted = [query_for(scope, tab) for tab in Tab]
            expected_counts = [sum(1 for lead in stored if matches(q, lead)) for q in counted]
            refined = attrs.evolve(
                query_for(scope, Tab.ALL, offset=offset, limit=3),
                refinement=Refinement(received_from=T0 - dt.timedelta(days=5)),
            )
            queries = [query_for(scope, tab, offset=offset, limit=3) for tab in Tab]
            with repository.unit_of_work() as uow:
                assert isinstance(uow, FindsCounted)
                for query in [*queries, refined]:
                    expected = sorted(
                        (lead for lead in stored if matches(query, lead)),
                        key=lambda lead, q=query: sort_key(q.order, lead),  # type: ignore[misc]
                    )
                    page, counts = uow.find_counted(query, counted)
                    window = expected[query.offset : query.offset + query.limit]
                    assert list(page.leads) == [lead.summary() for lead in window]
                    assert page.total == len(expected)
                    assert counts == expected_counts
                assert uow.find_counted(queries[0], []) == (uow.find(queries[0]), [])

        @pytest.mark.parametrize("offset", [0, 2, 500])
        def test_a_tab_asked_by_its_scope_is_the_tab_asked_by_its_queries(
            self, repository: LeadRepository, stored: list[Lead], offset: int
        ) -> None:
            """R8: a tab page with the tab bar asked by the scope (``find_tab``) is
            exactly the page and counts of their queries (``find_counted``): every scope,
            two installers of one shape in turn (the second is read with what the first
            one's page prepared), an installer whose id is also one of his territories',
            every tab, counting every tab, an installer's tabs or a few."""
            scopes = [
                *SCOPES.values(),
                Scope(frozenset({"t-leipzig", "i-anna"}), installer_id="i-anna"),
            ]
            tab_bars = [tuple(Tab), INSTALLER_TABS, (Tab.CLOSED, Tab.ALL), (Tab.UNROUTED,)]
            with repository.unit_of_work() as uow:
                assert isinstance(uow, FindsTab)
                assert isinstance(uow, FindsCounted)
                for scope, tab, tabs in itertools.product(scopes, Tab, tab_bars):
                    query = query_for(scope, tab, offset=offset, limit=3)
                    expected = uow.find_counted(query, [query_for(scope, t) for t in tabs])
                    assert uow.find_tab(scope, tab, tabs, offset=offset, limit=3) == expected

        def test_counts_of_several_holders_and_a_refined_query_agree(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """R8: one counts() call over two installers' tabs, a rep's and a filtered
            list (a portal's overview) counts each as the pure rule does; and a page read
            with counts that leave out its own tab still carries its own total."""
            anna = SCOPES["installer anna (Leipzig, Dresden)"]
            carl = SCOPES["installer carl (Munich)"]
            rep = SCOPES["rep of Leipzig and Dresden"]
            refined = attrs.evolve(
                query_for(anna, Tab.MINE),
                refinement=Refinement(received_from=T0 - dt.timedelta(days=5)),
            )
            queries = [
                *(query_for(anna, tab) for tab in Tab),
                *(query_for(carl, tab) for tab in (Tab.ALL, Tab.IN_PROGRESS, Tab.CLOSED)),
                query_for(rep, Tab.ALL),
                refined,
            ]
            expected = [sum(1 for lead in stored if matches(q, lead)) for q in queries]
            with repository.unit_of_work() as uow:
                assert uow.counts(queries) == expected
                assert uow.counts([refined, queries[0]]) == [expected[-1], expected[0]]
                if isinstance(uow, FindsCounted):
                    page_query = query_for(anna, Tab.MINE, limit=2)
                    others = [query_for(anna, Tab.ALL), query_for(anna, Tab.CLOSED)]
                    page, counts = uow.find_counted(page_query, others)
                    assert page.total == expected[list(Tab).index(Tab.MINE)]
                    assert len(page.leads) == min(2, page.total)
                    assert counts == [
                        expected[list(Tab).index(Tab.ALL)],
                        expected[list(Tab).index(Tab.CLOSED)],
                    ]

        def test_a_page_with_the_counts_sees_the_units_own_writes(
            self, repository: LeadRepository, stored: list[Lead]
        ) -> None:
            """A unit reads its own writes (PostgreSQL holds its counter changes until
            the commit): a page with the counts after an intake in the same unit counts
            the new lead."""
            scope = SCOPES["rep of Leipzig and Dresden"]
            counted = [query_for(scope, tab) for tab in Tab]
            draft = make_lead("own-write", territory_id="t-leipzig", received_at=T0)
            with repository.unit_of_work(writing=True) as uow:
                assert isinstance(uow, FindsCounted)
                before = uow.counts(counted)
                uow.add(draft)
                page, counts = uow.find_counted(query_for(scope, Tab.AVAILABLE), counted)
                assert isinstance(uow, FindsTab)
                tabs = tuple(Tab)
                assert uow.find_tab(scope, Tab.AVAILABLE, tabs, offset=0, limit=50) == (
                    page,
                    counts,
                )
                assert counts == uow.counts(counted)
                assert counts[list(Tab).index(Tab.AVAILABLE)] == before[1] + 1
                assert page.total == counts[list(Tab).index(Tab.AVAILABLE)]

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
                with repository.unit_of_work() as uow:
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
            max_examples=examples(0.15),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(drafts=st.lists(stored_leads(), min_size=1, max_size=6))
        def test_any_leads_are_counted_as_the_rule_selects(
            self, repository: LeadRepository, drafts: list[Lead]
        ) -> None:
            """Property (R8): on arbitrary leads every scope's tab bar counts what the
            rule selects, read alone and beside a page."""
            _store_drafts(repository, drafts)
            with repository.unit_of_work() as uow:
                everything = list(uow.find(query_for(Scope(None), Tab.ALL, limit=500)).leads)
                for scope in SCOPES.values():
                    counted = [query_for(scope, tab) for tab in Tab]
                    expected = [sum(1 for lead in everything if matches(q, lead)) for q in counted]
                    assert uow.counts(counted) == expected
                    if isinstance(uow, FindsCounted):
                        mine = query_for(scope, Tab.MINE, limit=3)
                        page, counts = uow.find_counted(mine, counted)
                        assert counts == expected
                        assert page.total == expected[list(Tab).index(Tab.MINE)]

        @settings(
            max_examples=examples(0.15),
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(drafts=st.lists(stored_leads(), min_size=1, max_size=6))
        def test_any_leads_agree(self, repository: LeadRepository, drafts: list[Lead]) -> None:
            """Property (R8): on arbitrary leads the query and the rule agree too."""
            _store_drafts(repository, drafts)
            with repository.unit_of_work() as uow:
                everything = list(uow.find(query_for(Scope(None), Tab.ALL, limit=500)).leads)
                for scope in SCOPES.values():
                    for tab in (Tab.ALL, Tab.AVAILABLE, Tab.MINE, Tab.FOLLOW_UP, Tab.CLOSED):
                        query = query_for(scope, tab, limit=500)
                        expected = sorted(
                            (lead for lead in everything if matches(query, lead)),
                            key=lambda lead, q=query: sort_key(q.order, lead),  # type: ignore[misc]
                        )
                        assert list(uow.find(query).leads) == expected
