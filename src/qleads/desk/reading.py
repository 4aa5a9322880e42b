"""Reading leads (R2, R8, R13, R16): one lead, its history, a tab page, the tab counts.

Every read goes through the reader's scope (R2): a lead he may not see is not found, and
what he sees of one he may is decided by :mod:`qleads.visibility` (R16).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import cast

import attrs

from qleads.desk.base import DeskBase, current_time, offers, scope_of
from qleads.desk.personal_data import log_access, shown_to
from qleads.desk.policies import effective_policy
from qleads.errors import InvalidInput, LeadNotFound, NotPermitted
from qleads.model import Actor, Admin, HistoryEvent
from qleads.personal_data import AccessKind
from qleads.ports import FindsCounted, FindsTab, Page, UnitOfWork
from qleads.tabs import INSTALLER_TABS, LeadQuery, Scope, Tab, queries_for, query_for
from qleads.visibility import LeadView, RowView, can_see, view_rows

__all__ = ["ReadingDesk", "TabPage", "check_paging", "count_queries", "read_page", "tabs_for"]


@attrs.frozen
class TabPage:
    """One page of one tab, with every tab's count for the tab bar (R8). Its rows are
    summaries (:class:`~qleads.model.LeadSummary`); :meth:`LeadDesk.get` opens one.
    ``counts`` is empty when the page was read with ``counts=False`` (a screen of
    several lists counts the tabs once)."""

    tab: Tab
    items: tuple[RowView, ...]
    total: int
    page: int
    per_page: int
    counts: Mapping[Tab, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class ReadingDesk(DeskBase):
    """:meth:`get`, :meth:`history`, :meth:`tab` and :meth:`counts`."""

    def get(
        self,
        actor: Actor,
        lead_id: int,
        *,
        access: AccessKind = AccessKind.VIEW,
        client: str = "",
        contact: bool = True,
    ) -> LeadView:
        """The lead as ``actor`` may see it; :class:`LeadNotFound` if R2 hides it.

        When the view shows the contact, an access record of kind ``access`` (a print,
        an API read …) with the client's address is written first (R14).
        ``contact=False``: the contact is withheld and nothing recorded, for a caller
        that only decides on the lead's state (whether he holds it, its status)."""
        scope = scope_of(self.directory, actor)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            policy = effective_policy(self, lead.territory_id, uow)
        if not can_see(scope, lead):
            raise LeadNotFound(lead_id)
        return shown_to(
            self, actor, lead, access=access, client=client, policy=policy, contact=contact
        )

    def history(self, actor: Actor, lead_id: int) -> list[HistoryEvent]:
        """R13, oldest first, for whoever may see the lead."""
        scope = scope_of(self.directory, actor)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            return uow.history(lead_id)

    def tab(
        self,
        actor: Actor,
        tab: Tab,
        *,
        page: int = 1,
        per_page: int = 50,
        access: AccessKind = AccessKind.LIST,
        client: str = "",
        counts: bool = True,
    ) -> TabPage:
        """R8: one page of a tab plus every tab's count. Each row that shows the
        customer's name gets an access record of kind ``access`` (R14).

        ``counts=False`` leaves the counts out (``TabPage.counts`` is empty): for the
        second list of a screen whose first list brought them, so one answer does not
        count every tab twice."""
        check_paging(page, per_page)
        scope = scope_of(self.directory, actor)
        tabs = tabs_for(actor)
        if tab not in tabs:
            raise NotPermitted(actor.id, f"open the tab {tab.value!r}")
        return read_page(
            self,
            actor,
            scope,
            tab,
            None,
            page=page,
            per_page=per_page,
            access=access,
            client=client,
            counts=counts,
        )

    def counts(self, actor: Actor) -> dict[Tab, int]:
        """Every tab's count, as the tab bar shows it ("Neue Anfragen (2)")."""
        scope = scope_of(self.directory, actor)
        tabs = tabs_for(actor)
        with self.repository.unit_of_work() as uow:
            totals = uow.counts(count_queries(scope, tabs))
        return dict(zip(tabs, totals, strict=True))


def check_paging(page: int, per_page: int) -> None:
    """Refuse a page before the first or a page size outside 1–500."""
    if page < 1:
        raise InvalidInput("page", "starts at 1")
    if not 1 <= per_page <= 500:
        raise InvalidInput("per_page", "must be between 1 and 500")


def read_page(
    desk: DeskBase,
    actor: Actor,
    scope: Scope,
    tab: Tab,
    query: LeadQuery | None,
    *,
    page: int,
    per_page: int,
    access: AccessKind,
    client: str,
    counts: bool = True,
) -> TabPage:
    """One page of ``tab`` read by ``query`` (``None``: the tab's own, of ``scope``),
    with every tab's count (none with ``counts=False``), each row as the reader may see
    it under its territory's rules; each row that shows the customer's name is an
    access (R14). What a tab page and a searched page share."""
    tabs = tabs_for(actor) if counts else ()
    with desk.repository.unit_of_work() as uow:
        found, totals = _found(uow, scope, tab, query, tabs, (page - 1) * per_page, per_page)
        items = view_rows(
            scope, found.leads, lambda territory: effective_policy(desk, territory, uow)
        )
        named = [item.lead for item in items if not item.contact_hidden]
        now = current_time(desk.clock)
        log_access(desk.repository, actor, named, access, now, client, uow=uow)
    return TabPage(
        tab=tab,
        items=items,
        total=found.total,
        page=page,
        per_page=per_page,
        counts=dict(zip(tabs, totals, strict=True)),
    )


def _found(
    uow: UnitOfWork,
    scope: Scope,
    tab: Tab,
    query: LeadQuery | None,
    tabs: tuple[Tab, ...],
    offset: int,
    limit: int,
) -> tuple[Page, list[int]]:
    """The page ``query`` reads (``None``: ``tab``'s own) and the counts of ``tabs``, in
    as few reads as the unit offers: by the scope itself (``FindsTab``), the page with
    its counts (``FindsCounted``), or the page and the counts apart."""
    if query is None:
        if tabs and offers(uow, "find_tab"):
            return cast(FindsTab, uow).find_tab(scope, tab, tabs, offset=offset, limit=limit)
        query = query_for(scope, tab, offset=offset, limit=limit)
    if not tabs:
        return uow.find(query), []
    counted = count_queries(scope, tabs)
    if offers(uow, "find_counted"):
        return cast(FindsCounted, uow).find_counted(query, counted)
    return uow.find(query), uow.counts(counted)


@functools.lru_cache(maxsize=4096)
def count_queries(scope: Scope, tabs: tuple[Tab, ...]) -> tuple[LeadQuery, ...]:
    """The queries that count ``tabs`` for ``scope`` (the tab bar, R8). Cached like
    :func:`~qleads.tabs.query_for`: every page asks for the same ones."""
    return queries_for(scope, tabs)


def tabs_for(actor: Actor) -> tuple[Tab, ...]:
    """The tabs ``actor`` may open: an admin also has the unrouted leads (R1)."""
    if isinstance(actor, Admin):
        return (*INSTALLER_TABS, Tab.UNROUTED)
    return INSTALLER_TABS
