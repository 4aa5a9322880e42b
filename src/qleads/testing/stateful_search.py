"""The state machine's searches (:mod:`qleads.testing.stateful`): after any sequence of
intake, claims, assignments, records, releases, expiries and sweeps, a searched,
filtered and sorted list (:meth:`~qleads.desk.LeadDesk.search`) holds exactly the rows of
its tab that the filter keeps, read by hand (R2, R8, R16).

A mixin of the machine: it reads ``self.desk`` and ``self.now`` and adds one rule. The
tab pages it starts from are checked against the machine's model by the machine's own
invariants; the name search may use a row's name only where the row shows it (R16).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import rule

from qleads.model import Actor, Admin, Installer, SalesRep
from qleads.tabs import Tab
from qleads.testing.contract.lead_search import lead_filters, narrowed_by_hand
from qleads.testing.world import ADMIN, CAST

if TYPE_CHECKING:
    from qleads.desk import LeadDesk

__all__ = ["SearchRules"]

_READERS: tuple[Actor, ...] = (*CAST.installers, *CAST.reps, ADMIN)
_TABS = tuple(tab for tab in Tab if tab is not Tab.UNROUTED)


class SearchRules:
    """The search rule of :class:`~qleads.testing.stateful.LeadDeskMachine`."""

    desk: LeadDesk

    if TYPE_CHECKING:  # the machine these rules are mixed into provides it

        @property
        def now(self) -> dt.datetime: ...

    @rule(data=st.data(), reader=st.sampled_from(_READERS), tab=st.sampled_from(_TABS))
    def search(self, data: st.DataObject, reader: Actor, tab: Tab) -> None:
        """R2/R8/R16: the searched list is its tab narrowed by the filter, in order."""
        if isinstance(reader, SalesRep):
            mine = tuple(i.id for i in CAST.installers if i.rep_id == reader.id)
        else:
            mine = tuple(i.id for i in CAST.installers)
        lead_filter = data.draw(
            lead_filters(staff=not isinstance(reader, Installer), installers=mine),
            label="filter",
        )
        calendar = None if isinstance(reader, Admin) else getattr(reader, "calendar", None)
        zone = ZoneInfo(calendar.tz if calendar is not None and calendar.tz else "Europe/Berlin")
        rows = self.desk.tab(reader, tab, per_page=500).items
        expected = narrowed_by_hand(
            ((row.lead, row.name is not None) for row in rows),
            lead_filter,
            tab=tab,
            now=self.now,
            zone=zone,
        )
        found = self.desk.search(reader, tab, lead_filter, per_page=500)
        note(f"search {reader.id} {tab.value} {lead_filter}")
        assert [row.lead.id for row in found.items] == [lead.id for lead in expected]
        assert found.total == len(expected)
        assert [row.name for row in found.items] == [
            row.name for lead in expected for row in rows if row.lead.id == lead.id
        ]
