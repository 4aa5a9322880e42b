"""Tabs and lead queries as data (R2, R8).

A :class:`LeadQuery` says *which* leads and in *what order*, as a disjunction of
:class:`Clause` s; it never says *how*. :func:`matches` and :func:`sort_key` are the pure
rule; every repository turns the same clauses into its own query, and the contract
tests check that both agree on every lead.

The query types keep their hash once computed (``cache_hash``): a page looks its
queries up in several caches (:func:`query_for`, the SQL statements), and hashing a
query walks its clauses, sets and enums every time otherwise.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from qleads.lifecycle import OPEN_WORK_STATUSES, TERMINAL_STATUSES, Status
from qleads.model import Lead, LeadSummary
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = [
    "INSTALLER_TABS",
    "Clause",
    "LeadQuery",
    "Order",
    "Refinement",
    "Scope",
    "Tab",
    "TextSearch",
    "fold",
    "matches",
    "queries_for",
    "query_for",
    "sort_key",
    "tab_of",
]


class Tab(enum.Enum):
    """The manual's tabs (Anlage 1) plus the two lists of the start page."""

    ALL = "all"
    AVAILABLE = "available"
    MINE = "mine"
    NEW = "new"
    FOLLOW_UP = "follow_up"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    #: Admins only: leads no territory matched (R1).
    UNROUTED = "unrouted"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """The manual's name of the tab (Anlage 1) in ``language``, from the catalogs of
        :mod:`qleads.texts` (German where none has the language)."""
        return translation(language).gettext(_LABELS[self])

    @property
    def label_de(self) -> str:
        return self.label("de")

    @property
    def label_en(self) -> str:
        return self.label("en")


#: The message ids of the labels: the manual's German words.
_LABELS: Mapping[Tab, str] = MappingProxyType(
    {
        Tab.ALL: N_("Alle Einträge anzeigen"),
        Tab.AVAILABLE: N_("Verfügbare Anfragen"),
        Tab.MINE: N_("Meine Anfragen"),
        Tab.NEW: N_("Neue Anfragen"),
        Tab.FOLLOW_UP: N_("Wiedervorlage"),
        Tab.IN_PROGRESS: N_("In Bearbeitung"),
        Tab.CLOSED: N_("Abgeschlossene Projekte"),
        Tab.UNROUTED: N_("Nicht zugeordnet"),
    }
)

#: Which statuses belong to which work tab (the table in docs/rules.md).
_TAB_STATUSES: Mapping[Tab, frozenset[Status]] = MappingProxyType(
    {
        Tab.NEW: frozenset({Status.CLAIMED, Status.ASSIGNED}),
        Tab.IN_PROGRESS: OPEN_WORK_STATUSES - {Status.FOLLOW_UP},
        Tab.FOLLOW_UP: frozenset({Status.FOLLOW_UP}),
        Tab.CLOSED: TERMINAL_STATUSES,
    }
)

INSTALLER_TABS = (
    Tab.ALL,
    Tab.AVAILABLE,
    Tab.MINE,
    Tab.NEW,
    Tab.FOLLOW_UP,
    Tab.IN_PROGRESS,
    Tab.CLOSED,
)


def tab_of(status: Status) -> Tab | None:
    """The work tab a held lead in ``status`` belongs to; ``None`` for the pool."""
    for tab, statuses in _TAB_STATUSES.items():
        if status in statuses:
            return tab
    return None


class Order(enum.Enum):
    """The order of a page. Ties on the sort column go by id in the same direction; a
    lead without the column's value (no running deadline, no follow-up date) comes last
    either way."""

    #: Newest ``received_at`` first, then highest id (R8's default).
    RECEIVED_DESC = "received_desc"
    #: Earliest follow-up date first, then lowest id (R8, *follow_up*).
    DUE_ASC = "due_asc"
    RECEIVED_ASC = "received_asc"
    ID_ASC = "id_asc"
    ID_DESC = "id_desc"
    STATUS_AT_ASC = "status_at_asc"
    STATUS_AT_DESC = "status_at_desc"
    #: By the running deadline (:attr:`~qleads.model.LeadSummary.running_deadline`).
    DEADLINE_ASC = "deadline_asc"
    DEADLINE_DESC = "deadline_desc"

    @property
    def descending(self) -> bool:
        return self.value.endswith("_desc")


@attrs.frozen(cache_hash=True)
class Clause:
    """A conjunction: every field that is not ``None``/``False`` must hold."""

    statuses: frozenset[Status] | None = None
    territory_ids: frozenset[str] | None = None
    holder_id: str | None = None
    held: bool = False
    unrouted: bool = False
    #: Only leads without a holder: the pool, without the rep's queue (R2).
    unheld: bool = False

    def holds_for(self, lead: Lead | LeadSummary) -> bool:
        if self.statuses is not None and lead.status not in self.statuses:
            return False
        if self.territory_ids is not None and lead.territory_id not in self.territory_ids:
            return False
        if self.holder_id is not None and lead.holder_id != self.holder_id:
            return False
        if self.held and lead.holder_id is None:
            return False
        if self.unheld and lead.holder_id is not None:
            return False
        return not (self.unrouted and lead.territory_id is not None)


#: What the search folds to lower case: A–Z and the German umlauts. Every backend folds
#: exactly these (SQL: ``lower`` under the ``C`` collation, which folds ASCII only, and
#: ``replace`` for the umlauts), so that a search finds the same leads on all of them.
_FOLD: Final = str.maketrans(
    {**{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}, "Ä": "ä", "Ö": "ö", "Ü": "ü"}
)


def fold(text: str) -> str:
    """``text`` as the search compares it: A–Z and Ä, Ö, Ü in lower case, all else as is."""
    return text.translate(_FOLD)


@attrs.frozen(cache_hash=True)
class TextSearch:
    """A search box's text: the lead with that id (when the text is a number), or a lead
    whose postal code, city or customer name contains it, case folded (:func:`fold`).

    The name is searched only where its reader may see it (R16): with ``names=False``
    never, with ``names_held_by`` only in the leads that installer holds."""

    folded: str = attrs.field(validator=attrs.validators.min_len(1))
    lead_id: int | None = None
    names: bool = True
    names_held_by: str | None = None

    def holds_for(self, lead: Lead | LeadSummary) -> bool:
        if self.lead_id is not None and lead.id == self.lead_id:
            return True
        text = self.folded
        row = lead.summary() if isinstance(lead, Lead) else lead
        if text in fold(row.postal_code) or text in fold(row.city):
            return True
        if not self.names or (
            self.names_held_by is not None and lead.holder_id != self.names_held_by
        ):
            return False
        return text in fold(row.name)


@attrs.frozen(cache_hash=True)
class Refinement:
    """What a list's search and filters add to a tab's clauses: every condition that is
    not ``None`` must hold. Ranges include their start and exclude their end; the
    deadline range asks for a running deadline (hold or follow-up date) inside it."""

    search: TextSearch | None = None
    received_from: dt.datetime | None = None
    received_before: dt.datetime | None = None
    deadline_from: dt.datetime | None = None
    deadline_before: dt.datetime | None = None

    def holds_for(self, lead: Lead | LeadSummary) -> bool:
        if self.search is not None and not self.search.holds_for(lead):
            return False
        if self.received_from is not None and lead.received_at < self.received_from:
            return False
        if self.received_before is not None and lead.received_at >= self.received_before:
            return False
        if self.deadline_from is None and self.deadline_before is None:
            return True
        deadline = lead.running_deadline
        if deadline is None:
            return False
        if self.deadline_from is not None and deadline < self.deadline_from:
            return False
        return self.deadline_before is None or deadline < self.deadline_before


@attrs.frozen(cache_hash=True)
class Scope:
    """Who is looking: an installer (his id and his rep's territories), a rep (his
    territories) or an admin (``territory_ids=None``: everything)."""

    territory_ids: frozenset[str] | None
    installer_id: str | None = None


def _offset(_query: object, attribute: attrs.Attribute[int], value: int) -> None:
    # One plain function per field: attrs' composed validators cost more than the
    # rest of the query's construction, and a page builds eight of them per scope.
    if value < 0:
        raise ValueError(f"{attribute.name!r} must be >= 0: {value!r}")


def _limit(_query: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 500:
        raise ValueError(f"{attribute.name!r} must be between 1 and 500: {value!r}")


@attrs.frozen(cache_hash=True)
class LeadQuery:
    """One page of one tab, as data: the leads any clause selects and, where given, the
    refinement (search and filters) accepts."""

    clauses: tuple[Clause, ...]
    order: Order = Order.RECEIVED_DESC
    offset: int = attrs.field(default=0, validator=_offset)
    limit: int = attrs.field(default=50, validator=_limit)
    refinement: Refinement | None = None


@functools.lru_cache(maxsize=4096)
def query_for(scope: Scope, tab: Tab, *, offset: int = 0, limit: int = 50) -> LeadQuery:
    """The query of ``tab`` as seen by ``scope`` (R2, R8). Cached: a page counts every
    tab, and scopes and queries are immutable values."""
    return LeadQuery(_scope_clauses(scope)[tab], _order_of(tab), offset, limit)


def queries_for(scope: Scope, tabs: tuple[Tab, ...]) -> tuple[LeadQuery, ...]:
    """The first page's query of each of ``tabs`` (:func:`query_for`), made together:
    what a tab bar counts, for a scope met the first time."""
    clauses = _scope_clauses(scope)
    return tuple(LeadQuery(clauses[tab], _order_of(tab)) for tab in tabs)


def _order_of(tab: Tab) -> Order:
    return Order.DUE_ASC if tab is Tab.FOLLOW_UP else Order.RECEIVED_DESC


_NEW: Final = frozenset({Status.NEW})


@functools.lru_cache(maxsize=4096)
def _scope_clauses(scope: Scope) -> Mapping[Tab, tuple[Clause, ...]]:
    """Every tab's clauses for ``scope``, made together (a page counts every tab, so a
    scope seen for the first time needs them all) and cached: a scope's clauses never
    change (scopes and clauses are frozen)."""
    terr = scope.territory_ids
    # Only an admin (no territory restriction) sees unrouted leads.
    unrouted = (Clause(unrouted=True),) if scope.installer_id is None and terr is None else ()
    pool = (Clause(statuses=_NEW, territory_ids=terr, unheld=True),)
    work_tabs = (Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)
    if scope.installer_id is not None:
        me = scope.installer_id
        mine = Clause(holder_id=me)
        clauses = {
            Tab.ALL: (*pool, mine),
            Tab.AVAILABLE: pool,
            Tab.MINE: (mine,),
            **{tab: (Clause(statuses=_TAB_STATUSES[tab], holder_id=me),) for tab in work_tabs},
        }
    else:
        # Staff: every lead of the territories (all of them for an admin).
        clauses = {
            Tab.ALL: (Clause(territory_ids=terr),),
            Tab.AVAILABLE: pool,
            Tab.MINE: (Clause(territory_ids=terr, held=True),),
            **{
                tab: (Clause(statuses=_TAB_STATUSES[tab], territory_ids=terr),) for tab in work_tabs
            },
        }
    clauses[Tab.UNROUTED] = unrouted
    return MappingProxyType(clauses)


def matches(query: LeadQuery, lead: Lead | LeadSummary) -> bool:
    """The pure rule every repository's query must agree with."""
    if query.refinement is not None and not query.refinement.holds_for(lead):
        return False
    return any(clause.holds_for(lead) for clause in query.clauses)


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def sort_key(order: Order, lead: Lead | LeadSummary) -> tuple[int, int, int]:
    """Sorting ``sorted(leads, key=...)`` by this gives the query's order: (missing value,
    value, id), negated for a descending order but the first."""
    value: dt.datetime | None
    if order in (Order.ID_ASC, Order.ID_DESC):
        return (0, 0, -lead.id if order is Order.ID_DESC else lead.id)
    if order in (Order.RECEIVED_DESC, Order.RECEIVED_ASC):
        value = lead.received_at
    elif order in (Order.STATUS_AT_ASC, Order.STATUS_AT_DESC):
        value = lead.status_at
    elif order is Order.DUE_ASC:
        value = lead.due_at
    else:
        value = lead.running_deadline
    if value is None:
        return (1, 0, -lead.id if order.descending else lead.id)
    micros = (value - _EPOCH) // _MICROSECOND
    if order.descending:
        return (0, -micros, -lead.id)
    return (0, micros, lead.id)
