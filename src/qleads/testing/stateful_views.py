"""The views' invariants of the desk's state machine (:mod:`qleads.testing.stateful`):
what installers, reps and admins see (R2, R8, R16).

* every lead an installer holds is in exactly one of his tabs new / follow-up /
  in progress / closed, the pool tab shows exactly his territories' ``new`` leads
  without a holder (a rep's queue is not the pool), contact details are masked per
  R16, and every tab's count equals its list (R8);
* a rep's and an admin's "all" tab lists every lead of their territories (of all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from hypothesis.stateful import RuleBasedStateMachine, invariant

from qleads.desk import LeadDesk, TabPage
from qleads.errors import LeadNotFound
from qleads.lifecycle import Status
from qleads.model import Actor, Admin, LeadSummary, SalesRep
from qleads.tabs import Tab, tab_of
from qleads.testing.lead_model import ExpectedLead
from qleads.testing.world import ADMIN, Cast

__all__ = ["ViewInvariants"]

_WORK_TABS = (Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)
_PER_PAGE = 500


class ViewInvariants(RuleBasedStateMachine):
    """The invariants of what each actor sees; the machine supplies its cast."""

    cast: ClassVar[Cast]
    desk: LeadDesk
    expected: dict[int, ExpectedLead]

    def _erased(self, lead_id: int) -> bool:
        """Whether the lead's personal data was erased (R14; the machine's rules erase)."""
        return False

    @invariant()
    def installers_see_their_own_and_the_pool_only(self) -> None:
        holders: Counter[int] = Counter()
        for installer in self.cast.installers:
            pages: dict[Tab, TabPage] = {
                tab: self.desk.tab(installer, tab, per_page=_PER_PAGE)
                for tab in Tab
                if tab is not Tab.UNROUTED
            }
            ids = {tab: [view.lead.id for view in page.items] for tab, page in pages.items()}
            _check_counts(installer, pages)
            territories = self.cast.territory_ids_of(installer.rep_id)
            held = {i for i, e in self.expected.items() if e.holder_id == installer.id}
            pool = {
                i
                for i, e in self.expected.items()
                if e.status is Status.NEW and e.holder_id is None and e.territory_id in territories
            }
            assert set(ids[Tab.MINE]) == held, (installer.id, ids[Tab.MINE], held)
            assert set(ids[Tab.AVAILABLE]) == pool, (installer.id, ids[Tab.AVAILABLE], pool)
            assert set(ids[Tab.ALL]) == held | pool
            holders.update(held)
            for lead_id in held:
                tabs = [tab for tab in _WORK_TABS if lead_id in ids[tab]]
                assert tabs == [tab_of(self.expected[lead_id].status)], (lead_id, tabs)
            for view in pages[Tab.AVAILABLE].items:
                assert view.contact_hidden
                assert view.name is None
                assert view.lead.name == ""
                assert view.previously_handled == (
                    installer.id in self.expected[view.lead.id].previous
                )
            for view in pages[Tab.MINE].items:
                assert not view.contact_hidden
                assert view.name == view.lead.name
                assert view.name != "" or self._erased(view.lead.id)  # R14
            for lead_id, expected in self.expected.items():
                if expected.holder_id not in (None, installer.id):
                    assert all(lead_id not in found for found in ids.values())
                    try:
                        self.desk.get(installer, lead_id)
                    except LeadNotFound:
                        continue
                    raise AssertionError(f"{installer.id} sees lead {lead_id} held by another")
        assert all(n == 1 for n in holders.values()), f"leads with two holders: {holders}"

    @invariant()
    def staff_counts_equal_their_lists(self) -> None:
        staff: tuple[SalesRep | Admin, ...] = (*self.cast.reps, ADMIN)
        for actor in staff:
            tabs = [tab for tab in Tab if tab is not Tab.UNROUTED or isinstance(actor, Admin)]
            pages: dict[Tab, TabPage] = {
                tab: self.desk.tab(actor, tab, per_page=_PER_PAGE) for tab in tabs
            }
            _check_counts(actor, pages)
            everything = {view.lead.id for view in pages[Tab.ALL].items}
            mine = None if isinstance(actor, Admin) else self.cast.territory_ids_of(actor.id)
            assert everything == {
                i for i, e in self.expected.items() if mine is None or e.territory_id in mine
            }
        unrouted = self.desk.tab(ADMIN, Tab.UNROUTED, per_page=_PER_PAGE)
        assert {v.lead.id for v in unrouted.items} == {
            i for i, e in self.expected.items() if e.territory_id is None
        }


def _check_counts(actor: Actor, pages: dict[Tab, TabPage]) -> None:
    """R8: a tab's total equals its count in the tab bar and the rows it lists, and the
    order is the tab's order."""
    for tab, page in pages.items():
        assert page.total == page.counts[tab] == len(page.items), (actor.id, tab, page.total)
        leads: Sequence[LeadSummary] = [view.lead for view in page.items]
        if tab is Tab.FOLLOW_UP:
            keys: list[tuple[Any, ...]] = [(lead.due_at, lead.id) for lead in leads]
        else:
            keys = [(-lead.received_at.timestamp(), -lead.id) for lead in leads]
        assert keys == sorted(keys), (actor.id, tab, keys)
