"""Search, filters and sort of a lead list, as a person asks for them (R2, R8, R16).

A :class:`LeadFilter` is what a list's search box, filter fields and column headers say:
a text, statuses, an arrival range in days, a deadline window, an installer (for staff)
and a sort column. :func:`parse_filter` reads one from query parameters (a bookmarkable
URL) and :meth:`LeadFilter.params` writes it back; bad input is refused with
:class:`~qleads.errors.InvalidInput` naming the parameter. :func:`refine` turns a filter
into the :class:`~qleads.tabs.LeadQuery` of a tab as one reader sees it: the tab's own
clauses (R2) narrowed by statuses and installer, plus a
:class:`~qleads.tabs.Refinement` for the rest. The name is searched only where R16 shows
it to the reader, so a search never finds a lead by a name its reader may not see.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.model import Policy
from qleads.tabs import LeadQuery, Order, Refinement, Scope, Tab, TextSearch, fold, query_for

__all__ = [
    "SEARCH_LIMIT",
    "DeadlineWindow",
    "LeadFilter",
    "SortKey",
    "parse_filter",
    "refine",
]

#: The longest search text: more than any id, postal code, city or name needs.
SEARCH_LIMIT: Final = 100
#: Lead ids are 64-bit: a longer number is searched as text only.
_MAX_ID: Final = 2**63 - 1


class SortKey(enum.Enum):
    """The sortable columns of a lead list."""

    ID = "id"
    RECEIVED = "received"
    STATUS_AT = "status_at"
    DEADLINE = "deadline"


class DeadlineWindow(enum.Enum):
    """Which running deadlines (hold or follow-up date) a list shows."""

    #: Passed already.
    OVERDUE = "overdue"
    #: From now to the end of the reader's week (Sunday, 24:00, in his time zone).
    THIS_WEEK = "this_week"


_ORDERS: Final = {
    (SortKey.ID, False): Order.ID_ASC,
    (SortKey.ID, True): Order.ID_DESC,
    (SortKey.RECEIVED, False): Order.RECEIVED_ASC,
    (SortKey.RECEIVED, True): Order.RECEIVED_DESC,
    (SortKey.STATUS_AT, False): Order.STATUS_AT_ASC,
    (SortKey.STATUS_AT, True): Order.STATUS_AT_DESC,
    (SortKey.DEADLINE, False): Order.DEADLINE_ASC,
    (SortKey.DEADLINE, True): Order.DEADLINE_DESC,
}


def _clean_text(text: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput("q", "must be text")
    cleaned = " ".join(text.split())
    if len(cleaned) > SEARCH_LIMIT:
        raise InvalidInput("q", f"is longer than {SEARCH_LIMIT} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise InvalidInput("q", "contains a control character")
    return cleaned


@attrs.frozen
class LeadFilter:
    """A list's search, filters and sort; the empty filter shows the tab as it is.

    ``text`` is stripped (inner runs of white space become one blank) and refused over
    :data:`SEARCH_LIMIT` characters; ``received_from`` and ``received_to`` are days in the
    reader's time zone, both included, and refused the wrong way round; ``sort`` ``None``
    keeps the tab's order (R8)."""

    text: str = attrs.field(default="", converter=_clean_text)
    statuses: frozenset[Status] = frozenset()
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    deadline: DeadlineWindow | None = None
    installer_id: str | None = None
    sort: SortKey | None = None
    descending: bool = False

    def __attrs_post_init__(self) -> None:
        low, high = self.received_from, self.received_to
        if low is not None and high is not None and low > high:
            raise InvalidInput("to", "lies before the start of the range")

    @property
    def is_empty(self) -> bool:
        """Whether it narrows nothing (its sort may still reorder)."""
        return attrs.evolve(self, sort=None, descending=False) == LeadFilter()

    def params(self) -> list[tuple[str, str]]:
        """Its query parameters, the inverse of :func:`parse_filter` (empty ones left out)."""
        pairs: list[tuple[str, str]] = []
        if self.text:
            pairs.append(("q", self.text))
        pairs += [("status", s.value) for s in sorted(self.statuses, key=lambda s: s.value)]
        if self.received_from is not None:
            pairs.append(("from", self.received_from.isoformat()))
        if self.received_to is not None:
            pairs.append(("to", self.received_to.isoformat()))
        if self.deadline is not None:
            pairs.append(("deadline", self.deadline.value))
        if self.installer_id is not None:
            pairs.append(("installer", self.installer_id))
        if self.sort is not None:
            pairs.append(("sort", ("-" if self.descending else "") + self.sort.value))
        return pairs


def _one(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = [v.strip() for v in params.get(name, ()) if v.strip()]
    if len(values) > 1:
        raise InvalidInput(name, "given more than once")
    return values[0] if values else ""


def _day(params: Mapping[str, Sequence[str]], name: str) -> dt.date | None:
    value = _one(params, name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(name, f"{value[:20]!r} is not a date (YYYY-MM-DD)") from None


def parse_filter(params: Mapping[str, Sequence[str]]) -> LeadFilter:
    """The filter of query parameters (each name with its list of values, as
    ``request.args.to_dict(flat=False)``): ``q`` the search text, ``status`` (repeatable),
    ``from`` and ``to`` (days, ``YYYY-MM-DD``), ``deadline`` (``overdue``,
    ``this_week``), ``installer``, ``sort`` (a :class:`SortKey` value, ``-`` before it
    for descending). Other parameters (the page, the tab) are not its business.
    Raises :class:`~qleads.errors.InvalidInput` naming the first bad parameter."""
    statuses: set[Status] = set()
    for value in params.get("status", ()):
        if not value.strip():
            continue
        try:
            statuses.add(Status(value.strip()))
        except ValueError:
            raise InvalidInput("status", f"{value[:30]!r} is no status") from None
    deadline_text = _one(params, "deadline")
    try:
        deadline = DeadlineWindow(deadline_text) if deadline_text else None
    except ValueError:
        raise InvalidInput("deadline", f"{deadline_text[:30]!r} is no deadline filter") from None
    sort_text = _one(params, "sort")
    descending = sort_text.startswith("-")
    try:
        sort = SortKey(sort_text.removeprefix("-")) if sort_text else None
    except ValueError:
        raise InvalidInput("sort", f"{sort_text[:30]!r} is no sortable column") from None
    installer = _one(params, "installer")
    if len(installer) > 100:
        raise InvalidInput("installer", "is no installer id")
    texts = params.get("q", ())
    if len(texts) > 1:
        raise InvalidInput("q", "given more than once")
    return LeadFilter(
        text=texts[0] if texts else "",
        statuses=frozenset(statuses),
        received_from=_day(params, "from"),
        received_to=_day(params, "to"),
        deadline=deadline,
        installer_id=installer or None,
        sort=sort,
        descending=descending,
    )


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _search(text: str, scope: Scope, policy: Policy) -> TextSearch | None:
    if not text:
        return None
    # An id is written without leading zeros; "04107" is a postal code.
    as_id = text.isascii() and text.isdigit() and not text.startswith("0") and int(text) <= _MAX_ID
    lead_id = int(text) if as_id else None
    # R16: an installer reads names only of the leads he holds, unless they are shown.
    hidden = policy.contact_before_claim == "hidden" and scope.installer_id is not None
    return TextSearch(
        folded=fold(text),
        lead_id=lead_id,
        names_held_by=scope.installer_id if hidden else None,
    )


def refine(
    scope: Scope,
    tab: Tab,
    lead_filter: LeadFilter,
    *,
    policy: Policy,
    now: dt.datetime,
    zone: ZoneInfo,
    offset: int = 0,
    limit: int = 50,
) -> LeadQuery:
    """The query of ``tab`` as ``scope`` sees it (:func:`~qleads.tabs.query_for`, R2),
    narrowed by ``lead_filter``: its statuses and installer narrow each clause (a clause
    left without a status is dropped), the rest becomes the query's refinement. Days and
    the week are read in ``zone``; ``now`` is the reader's clock. An installer cannot
    filter by installer (:class:`~qleads.errors.InvalidInput`): he sees only his own."""
    base = query_for(scope, tab, offset=offset, limit=limit)
    clauses = base.clauses
    if lead_filter.statuses:
        wanted = lead_filter.statuses
        clauses = tuple(
            attrs.evolve(c, statuses=(c.statuses & wanted) if c.statuses is not None else wanted)
            for c in clauses
        )
        clauses = tuple(c for c in clauses if c.statuses)
    if lead_filter.installer_id is not None:
        if scope.installer_id is not None:
            raise InvalidInput("installer", "only staff filter by installer")
        clauses = tuple(attrs.evolve(c, holder_id=lead_filter.installer_id) for c in clauses)
    search = _search(lead_filter.text, scope, policy)
    received_from = received_before = deadline_from = deadline_before = None
    if lead_filter.received_from is not None:
        received_from = _midnight(lead_filter.received_from, zone)
    if lead_filter.received_to is not None:
        received_before = _midnight(lead_filter.received_to + dt.timedelta(days=1), zone)
    if lead_filter.deadline is DeadlineWindow.OVERDUE:
        deadline_before = now
    elif lead_filter.deadline is DeadlineWindow.THIS_WEEK:
        today = now.astimezone(zone).date()
        deadline_from = now
        deadline_before = _midnight(today + dt.timedelta(days=7 - today.weekday()), zone)
    refinement = Refinement(
        search=search,
        received_from=received_from,
        received_before=received_before,
        deadline_from=deadline_from,
        deadline_before=deadline_before,
    )
    order = (
        base.order
        if lead_filter.sort is None
        else _ORDERS[(lead_filter.sort, lead_filter.descending)]
    )
    return attrs.evolve(
        base,
        clauses=clauses,
        order=order,
        refinement=None if refinement == Refinement() else refinement,
    )
