"""Finding leads in a list (R2, R8, R16): a tab's page narrowed by a search, filters and
a sort (:class:`~qleads.filters.LeadFilter`).

The filter is compiled with the reader's scope (:func:`~qleads.filters.refine`), so it
can only narrow what the tab shows him, and his name search reaches only the names R16
shows him.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from qleads.desk.base import DeskBase, current_time, scope_of
from qleads.desk.reading import TabPage, check_paging, read_page, tabs_for
from qleads.errors import InvalidInput, NotPermitted
from qleads.filters import LeadFilter, refine
from qleads.model import Actor, Installer, SalesRep
from qleads.personal_data import AccessKind
from qleads.tabs import Tab

__all__ = ["SearchDesk"]

#: The zone of readers without a calendar of their own (admins): the default calendar's.
_DEFAULT_ZONE = ZoneInfo("Europe/Berlin")


class SearchDesk(DeskBase):
    """:meth:`search`."""

    def search(
        self,
        actor: Actor,
        tab: Tab,
        lead_filter: LeadFilter,
        *,
        page: int = 1,
        per_page: int = 50,
        access: AccessKind = AccessKind.LIST,
        client: str = "",
        counts: bool = True,
    ) -> TabPage:
        """One page of ``tab`` as :meth:`tab` shows it (R2, R8), narrowed and sorted by
        ``lead_filter``, with its total; the counts are every tab's unfiltered ones (the
        tab bar), left out with ``counts=False`` as by :meth:`tab`. Days and "this week"
        are read in the reader's time zone (his calendar's; an admin's is
        Europe/Berlin).

        Raises :class:`~qleads.errors.InvalidInput` for a bad page, an installer filter
        from an installer or for an installer the reader does not know, and
        :class:`~qleads.errors.NotPermitted` for a tab he does not have."""
        check_paging(page, per_page)
        scope = scope_of(self.directory, actor)
        tabs = tabs_for(actor)
        if tab not in tabs:
            raise NotPermitted(actor.id, f"open the tab {tab.value!r}")
        wanted = lead_filter.installer_id
        if wanted is not None and not isinstance(actor, Installer):
            installer = self.directory.installer(wanted)
            if installer is None or (isinstance(actor, SalesRep) and installer.rep_id != actor.id):
                raise InvalidInput("installer", f"{wanted[:100]!r} is none of your installers")
        zone = (
            ZoneInfo(actor.calendar.tz or "Europe/Berlin")
            if isinstance(actor, Installer | SalesRep)
            else _DEFAULT_ZONE
        )
        query = refine(
            scope,
            tab,
            lead_filter,
            policy=self.policy,
            now=current_time(self.clock),
            zone=zone,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        return read_page(
            self,
            actor,
            scope,
            tab,
            query,
            page=page,
            per_page=per_page,
            access=access,
            client=client,
            counts=counts,
        )
