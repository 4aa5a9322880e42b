"""Who sees what, how it is masked, and which tab lists it (R2, R8, R16) — the pure rules."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from qleads.lifecycle import Status
from qleads.model import Lead, Policy
from qleads.tabs import (
    INSTALLER_TABS,
    Order,
    Scope,
    Tab,
    matches,
    queries_for,
    query_for,
    sort_key,
    tab_of,
)
from qleads.testing.world import make_lead
from qleads.visibility import (
    ContactView,
    can_see,
    contact_hidden,
    previously_handled,
    view,
    view_row,
    view_rows,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
EAST = frozenset({"t-leipzig", "t-dresden"})
ANNA = Scope(EAST, installer_id="i-anna")
BEN = Scope(EAST, installer_id="i-ben")
CARL = Scope(frozenset({"t-munich"}), installer_id="i-carl")
REP_EAST = Scope(EAST)
REP_SOUTH = Scope(frozenset({"t-munich"}))
ADMIN = Scope(None)


def lead(
    n: int,
    status: Status = Status.NEW,
    *,
    territory: str | None = "t-leipzig",
    holder: str | None = None,
    previous: frozenset[str] = frozenset(),
    received: dt.datetime = T0,
    due: dt.datetime | None = None,
) -> Lead:
    return attrs.evolve(
        make_lead(
            f"l-{n}",
            received_at=received,
            territory_id=territory,
            status=status,
            holder_id=holder,
            due_at=due,
            previous_holders=previous,
        ),
        id=n,
    )


class TestVisibility:
    def test_installer_sees_the_pool_of_his_reps_territories(self) -> None:
        """R2a: a new lead of his rep's territories, not of another rep's."""
        assert can_see(ANNA, lead(1))
        assert can_see(ANNA, lead(2, territory="t-dresden"))
        assert not can_see(ANNA, lead(3, territory="t-munich"))
        assert not can_see(ANNA, lead(4, territory=None))

    @pytest.mark.parametrize("status", [s for s in Status if s is not Status.NEW])
    def test_installer_sees_what_he_holds_in_any_status(self, status: Status) -> None:
        """R2b: his own leads, whatever their status or territory."""
        assert can_see(ANNA, lead(1, status, holder="i-anna"))
        assert can_see(ANNA, lead(2, status, territory="t-munich", holder="i-anna"))

    @pytest.mark.parametrize("status", [s for s in Status if s is not Status.NEW])
    def test_held_lead_is_invisible_to_other_installers(self, status: Status) -> None:
        """R2: once claimed or assigned, no other installer sees it."""
        held = lead(1, status, holder="i-anna")
        assert not can_see(BEN, held)
        assert not can_see(CARL, held)

    @pytest.mark.parametrize("status", list(Status))
    def test_rep_sees_every_lead_of_his_territories(self, status: Status) -> None:
        """R2: a rep sees his territories in any status, and no other territory."""
        holder = None if status is Status.NEW else "i-anna"
        assert can_see(REP_EAST, lead(1, status, holder=holder))
        assert not can_see(REP_SOUTH, lead(1, status, holder=holder))

    def test_admin_sees_everything(self) -> None:
        """R2: an admin sees all leads, unrouted ones included."""
        assert can_see(ADMIN, lead(1, territory=None))
        assert can_see(ADMIN, lead(2, Status.UNSUCCESSFUL, territory="t-munich", holder="i-c"))


class TestPreviouslyHandledMarker:
    def test_marker_on_a_new_lead_he_held_before(self) -> None:
        """R2c: the green icon: a new lead this installer released or let expire."""
        returned = lead(1, previous=frozenset({"i-anna"}))
        assert previously_handled(ANNA, returned)
        assert not previously_handled(BEN, returned)
        assert view(ANNA, returned, Policy()).previously_handled

    def test_no_marker_once_held_again_or_for_staff(self) -> None:
        """R2c: the marker belongs to the pool, and to installers only."""
        held = lead(1, Status.CLAIMED, holder="i-anna", previous=frozenset({"i-anna"}))
        assert not previously_handled(ANNA, held)
        assert not previously_handled(REP_EAST, lead(2, previous=frozenset({"i-anna"})))


class TestContactDetails:
    def test_hidden_before_the_claim(self) -> None:
        """R16: by default an installer sees postal code, city and the project data of
        a new lead, not name, street, e-mail or phone."""
        pooled = lead(1)
        shown = view(ANNA, pooled, Policy())
        contact = shown.lead.document.contact
        assert shown.contact_hidden
        assert (contact.name, contact.street, contact.email, contact.phone) == ("", "", "", "")
        assert (contact.postal_code, contact.city) == ("04107", "Leipzig")
        assert shown.lead.document.costs == pooled.document.costs
        assert shown.lead.document.roof == pooled.document.roof
        assert shown.lead.document.consumption == pooled.document.consumption

    def test_free_texts_are_withheld_too(self) -> None:
        """R16: reachability ("Erreichbarkeit") and the comment are free text that may
        name the customer or his number, so they are withheld like the comment."""
        pooled = lead(1)
        assert pooled.document.contact.reachability != ""
        assert pooled.document.contact.comment != ""
        shown = view(ANNA, pooled, Policy())
        assert shown.lead.document.contact.reachability == ""
        assert shown.lead.document.contact.comment == ""
        assert (shown.contact.reachability, shown.contact.comment) == (None, None)

    def test_withheld_is_none_and_empty_stays_empty(self) -> None:
        """R16: a withheld field reads ``None``, a field the customer left empty ``""``,
        so a portal can say "visible after claiming" instead of showing a blank."""
        blank_phone = attrs.evolve(
            lead(1),
            document=attrs.evolve(
                lead(1).document,
                contact=attrs.evolve(lead(1).document.contact, phone="", comment=""),
            ),
        )
        hidden = view(ANNA, blank_phone, Policy()).contact
        assert hidden.withheld
        assert hidden == ContactView(
            name=None, street=None, postal_code="04107", city="Leipzig", country="DE",
            email=None, phone=None, reachability=None, comment=None,
        )  # fmt: skip
        held = attrs.evolve(blank_phone, status=Status.CLAIMED, holder_id="i-anna")
        mine = view(ANNA, held, Policy()).contact
        assert not mine.withheld
        assert (mine.phone, mine.comment) == ("", "")
        assert mine.name == held.document.contact.name
        assert view(REP_EAST, blank_phone, Policy()).contact.phone == ""

    def test_revealed_to_the_holder(self) -> None:
        """R16: once the lead is his, the holder sees who the customer is."""
        mine = lead(1, Status.CLAIMED, holder="i-anna")
        shown = view(ANNA, mine, Policy())
        assert not shown.contact_hidden
        assert shown.lead.document == mine.document

    def test_shown_policy_is_the_manuals_behaviour(self) -> None:
        """R16: ``shown`` reveals contact details before the claim (Anlage 2)."""
        policy = Policy(contact_before_claim="shown")
        assert not contact_hidden(ANNA, lead(1), policy)
        assert view(ANNA, lead(1), policy).lead.document == lead(1).document

    @pytest.mark.parametrize("scope", [REP_EAST, ADMIN], ids=["rep", "admin"])
    def test_staff_always_see_contact_details(self, scope: Scope) -> None:
        """R16: reps and admins always see them."""
        shown = view(scope, lead(1), Policy())
        assert not shown.contact_hidden
        assert shown.lead.document == lead(1).document

    def test_installer_does_not_learn_other_installers(self) -> None:
        """R2: who held a lead before is none of another installer's business."""
        returned = lead(1, previous=frozenset({"i-ben"}))
        assert view(ANNA, returned, Policy()).lead.previous_holders == frozenset()
        assert view(REP_EAST, returned, Policy()).lead.previous_holders == {"i-ben"}
        shown = Policy(contact_before_claim="shown")
        assert view(ANNA, returned, shown).lead.previous_holders == frozenset()


class TestTabRows:
    """A tab row (R8) is a summary; it must withhold what the lead view withholds."""

    def test_summary_carries_the_state_and_the_name_and_place(self) -> None:
        held = lead(1, Status.FOLLOW_UP, holder="i-anna", due=T0 + dt.timedelta(days=3))
        row = held.summary()
        contact = held.document.contact
        assert (row.name, row.postal_code, row.city) == (
            contact.name,
            contact.postal_code,
            contact.city,
        )
        state = attrs.asdict(held, recurse=False)
        del state["document"]
        assert {k: getattr(row, k) for k in state} == state
        assert row.running_deadline == held.running_deadline == held.due_at

    def test_name_hidden_in_the_pool_place_kept(self) -> None:
        """R16: the row of a pool lead names no customer; postal code and city stay."""
        row = view_row(ANNA, lead(1).summary(), Policy())
        assert row.contact_hidden
        assert row.name is None
        assert row.lead.name == ""
        assert (row.lead.postal_code, row.lead.city) == ("04107", "Leipzig")

    def test_holder_staff_and_shown_policy_see_the_name(self) -> None:
        name = lead(1).document.contact.name
        assert name != ""
        mine = lead(1, Status.CLAIMED, holder="i-anna").summary()
        assert view_row(ANNA, mine, Policy()).lead.name == name
        assert view_row(ANNA, mine, Policy()).name == name
        assert view_row(REP_EAST, lead(1).summary(), Policy()).lead.name == name
        shown = Policy(contact_before_claim="shown")
        assert view_row(ANNA, lead(1).summary(), shown).lead.name == name

    def test_marker_without_other_installers_names(self) -> None:
        """R2c on a row: Ben sees his marker, but not who else held the lead."""
        returned = lead(1, previous=frozenset({"i-ben", "i-anna"})).summary()
        ben = view_row(BEN, returned, Policy())
        assert ben.previously_handled
        assert ben.lead.previous_holders == frozenset()
        assert not view_row(CARL, returned, Policy()).previously_handled
        assert view_row(REP_EAST, returned, Policy()).lead.previous_holders == {"i-ben", "i-anna"}

    @pytest.mark.parametrize("scope", [ANNA, BEN, REP_EAST, ADMIN])
    @pytest.mark.parametrize("holder", [None, "i-anna"])
    @pytest.mark.parametrize("previous", [frozenset(), frozenset({"i-ben"})])
    def test_a_row_differs_from_its_lead_only_in_what_is_withheld(
        self, scope: Scope, holder: str | None, previous: frozenset[str]
    ) -> None:
        """A row's view is built field by field (for speed); every field not withheld
        is the summary's, so a field added to the summary cannot be dropped or moved."""
        status = Status.NEW if holder is None else Status.FOLLOW_UP
        summary = attrs.evolve(
            lead(7, status, holder=holder, previous=previous, due=T0).summary(),
            hold_until=T0,
        )
        row = view_row(scope, summary, Policy())
        withheld: dict[str, object] = {}
        if row.contact_hidden:
            withheld = {"name": "", "previous_holders": frozenset()}
        elif scope.installer_id is not None:
            withheld = {"previous_holders": frozenset()}
        assert row.lead == attrs.evolve(summary, **withheld)

    @pytest.mark.parametrize("scope", [ANNA, BEN, CARL, REP_EAST, ADMIN])
    def test_a_page_of_rows_is_each_row_as_its_territory_shows_it(self, scope: Scope) -> None:
        """R16 per territory: a page's rows are viewed as :func:`view_row` views each,
        under the policy of the row's own territory, which is asked once per territory
        and not at all for staff."""
        rows = [
            lead(1).summary(),
            lead(2, territory="t-dresden").summary(),
            lead(3, Status.CLAIMED, holder="i-anna").summary(),
            lead(4, previous=frozenset({"i-ben"})).summary(),
            lead(5, territory="t-dresden", previous=frozenset({"i-anna"})).summary(),
            lead(6, territory=None).summary(),
        ]
        policies = {"t-dresden": Policy(contact_before_claim="shown")}
        asked: list[str | None] = []

        def policy_of(territory: str | None) -> Policy:
            asked.append(territory)
            return policies.get(territory or "", Policy())

        views = view_rows(scope, rows, policy_of)
        assert views == tuple(
            view_row(scope, row, policies.get(row.territory_id or "", Policy())) for row in rows
        )
        if scope.installer_id is None:
            assert asked == []
        else:
            assert asked == ["t-leipzig", "t-dresden", None]


class TestTabs:
    @pytest.mark.parametrize(
        ("status", "tab"),
        [
            (Status.NEW, None),
            (Status.CLAIMED, Tab.NEW),
            (Status.ASSIGNED, Tab.NEW),
            (Status.CONTACT_ATTEMPTED, Tab.IN_PROGRESS),
            (Status.FIRST_CONTACT, Tab.IN_PROGRESS),
            (Status.OFFER_SENT, Tab.IN_PROGRESS),
            (Status.FOLLOW_UP, Tab.FOLLOW_UP),
            (Status.ORDER_PLACED, Tab.CLOSED),
            (Status.UNSUCCESSFUL, Tab.CLOSED),
        ],
    )
    def test_each_status_has_its_tab(self, status: Status, tab: Tab | None) -> None:
        """R8: the table of docs/rules.md, status by status."""
        assert tab_of(status) is tab

    @pytest.mark.parametrize("status", [s for s in Status if s is not Status.NEW])
    def test_held_lead_is_in_exactly_one_work_tab(self, status: Status) -> None:
        """R8: a lead he holds is in exactly one of new / follow-up / in progress /
        closed, and in mine and all."""
        held = lead(1, status, holder="i-anna")
        work = [
            t
            for t in (Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)
            if matches(query_for(ANNA, t), held)
        ]
        assert work == [tab_of(status)]
        assert matches(query_for(ANNA, Tab.MINE), held)
        assert matches(query_for(ANNA, Tab.ALL), held)
        assert not matches(query_for(ANNA, Tab.AVAILABLE), held)
        assert not any(matches(query_for(BEN, t), held) for t in INSTALLER_TABS)

    def test_available_is_the_visible_pool(self) -> None:
        """R8: available = visible new leads; all = available ∪ mine."""
        pooled = lead(1)
        foreign = lead(2, territory="t-munich")
        assert matches(query_for(ANNA, Tab.AVAILABLE), pooled)
        assert matches(query_for(ANNA, Tab.ALL), pooled)
        assert not matches(query_for(ANNA, Tab.MINE), pooled)
        assert not matches(query_for(ANNA, Tab.AVAILABLE), foreign)
        assert not matches(query_for(ANNA, Tab.ALL), foreign)

    def test_unrouted_tab_is_for_admins(self) -> None:
        """R1: an unrouted lead is listed for admins, never for installers or reps."""
        unrouted = lead(1, territory=None)
        assert matches(query_for(ADMIN, Tab.UNROUTED), unrouted)
        assert not matches(query_for(ADMIN, Tab.UNROUTED), lead(2))
        assert not matches(query_for(REP_EAST, Tab.UNROUTED), unrouted)
        assert not matches(query_for(ANNA, Tab.UNROUTED), unrouted)

    def test_staff_tabs_cover_their_territories(self) -> None:
        """R2/R8: a rep's tabs list every lead of his territories by status."""
        held = lead(1, Status.OFFER_SENT, holder="i-anna")
        assert matches(query_for(REP_EAST, Tab.IN_PROGRESS), held)
        assert matches(query_for(REP_EAST, Tab.MINE), held)
        assert not matches(query_for(REP_SOUTH, Tab.ALL), held)
        assert matches(query_for(ADMIN, Tab.ALL), held)

    def test_default_order_is_newest_first(self) -> None:
        """R8: newest received_at first; ties: the higher id first."""
        leads = [
            lead(1, received=T0),
            lead(2, received=T0 + dt.timedelta(hours=1)),
            lead(3, received=T0),
            lead(4, received=T0 - dt.timedelta(days=1)),
        ]
        ordered = sorted(leads, key=lambda x: sort_key(Order.RECEIVED_DESC, x))
        assert [x.id for x in ordered] == [2, 3, 1, 4]
        assert query_for(ANNA, Tab.ALL).order is Order.RECEIVED_DESC

    def test_follow_up_order_is_by_due_date(self) -> None:
        """R8: the follow-up tab lists the earliest due date first."""
        leads = [
            lead(1, Status.FOLLOW_UP, holder="i-anna", due=T0 + dt.timedelta(days=3)),
            lead(2, Status.FOLLOW_UP, holder="i-anna", due=T0 + dt.timedelta(hours=1)),
            lead(3, Status.FOLLOW_UP, holder="i-anna", due=T0 + dt.timedelta(days=3)),
        ]
        query = query_for(ANNA, Tab.FOLLOW_UP)
        assert query.order is Order.DUE_ASC
        ordered = sorted(leads, key=lambda x: sort_key(query.order, x))
        assert [x.id for x in ordered] == [2, 1, 3]

    @pytest.mark.parametrize("scope", [ANNA, REP_EAST, ADMIN])
    def test_the_tab_bar_asks_each_tabs_first_page(self, scope: Scope) -> None:
        """R8: the queries a tab bar counts are the tabs' first pages, in its order."""
        tabs = (*INSTALLER_TABS, Tab.UNROUTED)
        assert queries_for(scope, tabs) == tuple(query_for(scope, tab) for tab in tabs)

    def test_paging_parameters(self) -> None:
        """R8: each tab is paged; a page holds 1 to 500 rows."""
        query = query_for(ANNA, Tab.ALL, offset=50, limit=25)
        assert (query.offset, query.limit) == (50, 25)
        with pytest.raises(ValueError, match="limit"):
            query_for(ANNA, Tab.ALL, limit=0)
        with pytest.raises(ValueError, match="offset"):
            query_for(ANNA, Tab.ALL, offset=-1)

    def test_tab_labels_are_the_manuals(self) -> None:
        """Anlage 1: the German tab names."""
        assert Tab.AVAILABLE.label_de == "Verfügbare Anfragen"
        assert Tab.MINE.label_de == "Meine Anfragen"
        assert Tab.CLOSED.label_de == "Abgeschlossene Projekte"
        assert all(tab.label_en for tab in Tab)
