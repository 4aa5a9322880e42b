"""A list's search, filters and sort as a person asks for them (R2, R8, R16):
``qleads.filters`` and ``LeadDesk.search``."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qleads import DeadlineWindow, LeadFilter, SortKey, parse_filter
from qleads.errors import InvalidInput, NotPermitted
from qleads.filters import SEARCH_LIMIT, refine
from qleads.lifecycle import Status
from qleads.model import Policy
from qleads.tabs import Order, Scope, Tab, fold
from qleads.testing.world import T0, World, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
ANNA_SCOPE = Scope(frozenset({"t-leipzig", "t-dresden"}), installer_id="i-anna")


def _params(**values: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


class TestParseFilter:
    def test_reads_every_parameter(self) -> None:
        parsed = parse_filter(
            _params(
                q="  Leipzig  Süd ",
                status=["new", "offer_sent"],
                to="2026-11-14",
                deadline="overdue",
                installer="i-ben",
                sort="-deadline",
                page="3",
                tab="all",
                **{"from": "2026-11-10"},
            )
        )
        assert parsed == LeadFilter(
            text="Leipzig Süd",
            statuses=frozenset({Status.NEW, Status.OFFER_SENT}),
            received_from=dt.date(2026, 11, 10),
            received_to=dt.date(2026, 11, 14),
            deadline=DeadlineWindow.OVERDUE,
            installer_id="i-ben",
            sort=SortKey.DEADLINE,
            descending=True,
        )

    def test_params_round_trip(self) -> None:
        """The URL a list writes reads back as the same filter (a bookmark keeps it)."""
        chosen = LeadFilter(
            text="Özdemir",
            statuses=frozenset({Status.FOLLOW_UP}),
            received_from=dt.date(2026, 1, 2),
            deadline=DeadlineWindow.THIS_WEEK,
            sort=SortKey.STATUS_AT,
        )
        pairs = chosen.params()
        as_lists: dict[str, list[str]] = {}
        for key, value in pairs:
            as_lists.setdefault(key, []).append(value)
        assert parse_filter(as_lists) == chosen
        assert LeadFilter().params() == []
        assert LeadFilter().is_empty
        assert LeadFilter(sort=SortKey.ID).is_empty
        assert not chosen.is_empty

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            (_params(sort="name"), "sort"),
            (_params(sort="--id"), "sort"),
            (_params(status="lost"), "status"),
            (_params(deadline="tomorrow"), "deadline"),
            (_params(to="14.11.2026"), "to"),
            (_params(**{"from": "2026-02-30"}), "from"),
            (_params(**{"from": "2026-11-15"}, to="2026-11-14"), "to"),
            (_params(q="x" * (SEARCH_LIMIT + 1)), "q"),
            (_params(q=["a", "b"]), "q"),
            (_params(q="a\x00b"), "q"),
            (_params(sort=["id", "received"]), "sort"),
            (_params(installer="i" * 101), "installer"),
        ],
    )
    def test_bad_input_names_the_parameter(self, params: dict[str, list[str]], field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            parse_filter(params)
        assert raised.value.field == field

    def test_a_long_search_is_refused_by_the_filter_itself(self) -> None:
        with pytest.raises(InvalidInput, match="longer than 100"):
            LeadFilter(text="ä" * 101)

    @given(
        st.dictionaries(
            st.sampled_from(["q", "status", "from", "to", "deadline", "installer", "sort"]),
            st.lists(st.text(max_size=30), max_size=3),
        )
    )
    def test_any_parameters_parse_or_are_refused_clearly(
        self, params: dict[str, list[str]]
    ) -> None:
        """Whatever a URL holds: a filter, or InvalidInput — never another error."""
        refused: InvalidInput | None = None
        try:
            parse_filter(params)
        except InvalidInput as error:
            refused = error
        assert refused is None or refused.field in params


class TestRefine:
    def test_the_empty_filter_is_the_tab(self) -> None:
        query = refine(ANNA_SCOPE, Tab.ALL, LeadFilter(), policy=Policy(), now=T0, zone=BERLIN)
        assert query.refinement is None
        assert query.order is Order.RECEIVED_DESC

    def test_an_installer_searches_names_only_of_his_leads(self) -> None:
        """R16: with hidden contacts his name search is limited to what he holds."""
        hidden = refine(
            ANNA_SCOPE, Tab.ALL, LeadFilter(text="Erika"), policy=Policy(), now=T0, zone=BERLIN
        )
        shown = refine(
            ANNA_SCOPE,
            Tab.ALL,
            LeadFilter(text="Erika"),
            policy=Policy(contact_before_claim="shown"),
            now=T0,
            zone=BERLIN,
        )
        staff = refine(
            Scope(None), Tab.ALL, LeadFilter(text="Erika"), policy=Policy(), now=T0, zone=BERLIN
        )
        assert hidden.refinement is not None
        assert hidden.refinement.search is not None
        assert hidden.refinement.search.names_held_by == "i-anna"
        assert shown.refinement is not None
        assert shown.refinement.search is not None
        assert shown.refinement.search.names_held_by is None
        assert staff.refinement is not None
        assert staff.refinement.search is not None
        assert staff.refinement.search.names_held_by is None

    def test_days_and_the_week_are_read_in_the_readers_zone(self) -> None:
        """T0 is Monday 16 November 2026, 09:00 in Berlin: the week ends at Sunday 24:00."""
        query = refine(
            Scope(None),
            Tab.ALL,
            LeadFilter(
                received_from=dt.date(2026, 11, 2),
                received_to=dt.date(2026, 11, 2),
                deadline=DeadlineWindow.THIS_WEEK,
            ),
            policy=Policy(),
            now=T0,
            zone=BERLIN,
        )
        refinement = query.refinement
        assert refinement is not None
        assert refinement.received_from == dt.datetime(2026, 11, 1, 23, 0, tzinfo=dt.UTC)
        assert refinement.received_before == dt.datetime(2026, 11, 2, 23, 0, tzinfo=dt.UTC)
        assert refinement.deadline_from == T0
        assert refinement.deadline_before == dt.datetime(2026, 11, 22, 23, 0, tzinfo=dt.UTC)

    def test_a_status_outside_the_tab_leaves_nothing(self) -> None:
        query = refine(
            ANNA_SCOPE,
            Tab.CLOSED,
            LeadFilter(statuses=frozenset({Status.NEW})),
            policy=Policy(),
            now=T0,
            zone=BERLIN,
        )
        assert query.clauses == ()

    def test_an_installer_cannot_filter_by_installer(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            refine(
                ANNA_SCOPE,
                Tab.ALL,
                LeadFilter(installer_id="i-ben"),
                policy=Policy(),
                now=T0,
                zone=BERLIN,
            )
        assert raised.value.field == "installer"

    def test_the_folding_is_ascii_and_umlauts(self) -> None:
        assert fold("ÄÖÜ ÉÅ ABC ß") == "äöü ÉÅ abc ß"


class TestSearchDesk:
    def test_a_rep_finds_by_city_sorted_by_id(self) -> None:
        world = World()
        ids = [
            lead.id
            for lead in world.store(
                make_lead("a", territory_id="t-leipzig"),
                make_lead("b", territory_id="t-dresden"),
                make_lead("c", territory_id="t-munich"),
            )
        ]
        page = world.desk.search(
            world.rep_east, Tab.ALL, LeadFilter(text="LEIPZIG", sort=SortKey.ID), per_page=10
        )
        # The default document's city is Leipzig; the South's lead is not the East's.
        assert [row.lead.id for row in page.items] == ids[:2]
        assert page.total == 2
        assert page.counts[Tab.ALL] == 2

    def test_the_installers_name_search_skips_hidden_contacts(self) -> None:
        """R16: a pool lead's customer name is not searchable for an installer."""
        world = World()
        pool, own = world.store(
            make_lead("pool", territory_id="t-leipzig"),
            make_lead("own", territory_id="t-leipzig", status=Status.CLAIMED, holder_id="i-anna"),
        )
        page = world.desk.search(world.anna, Tab.ALL, LeadFilter(text="mustermann"))
        assert [row.lead.id for row in page.items] == [own.id]
        page = world.desk.search(world.anna, Tab.ALL, LeadFilter(text="leipzig"))
        assert {row.lead.id for row in page.items} == {own.id, pool.id}

    def test_a_rep_filters_only_by_his_own_installers(self) -> None:
        world = World()
        with pytest.raises(InvalidInput) as raised:
            world.desk.search(world.rep_east, Tab.ALL, LeadFilter(installer_id="i-carl"))
        assert raised.value.field == "installer"
        with pytest.raises(InvalidInput):
            world.desk.search(world.admin, Tab.ALL, LeadFilter(installer_id="nobody"))
        assert world.desk.search(world.admin, Tab.ALL, LeadFilter(installer_id="i-carl")).total == 0

    def test_tabs_and_pages_are_checked(self) -> None:
        world = World()
        with pytest.raises(NotPermitted):
            world.desk.search(world.anna, Tab.UNROUTED, LeadFilter())
        with pytest.raises(InvalidInput):
            world.desk.search(world.anna, Tab.ALL, LeadFilter(), page=0)

    def test_a_lead_is_found_by_its_id(self) -> None:
        world = World()
        leads = world.store(*(make_lead(f"l{n}") for n in range(12)))
        wanted = leads[10]
        page = world.desk.search(world.admin, Tab.ALL, LeadFilter(text=str(wanted.id)))
        assert wanted.id in [row.lead.id for row in page.items]
