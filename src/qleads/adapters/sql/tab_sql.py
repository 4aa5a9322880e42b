"""The R8 page compiler: a tab query (:class:`~qleads.tabs.LeadQuery`) as one SQL
statement that reads a page and its total, and the totals of several tabs in one row.

A page reads the top rows of each (territory or holder, status) pair through the index
and merges them, and a total sums the counter table ``qleads_lead_count``, so a tab costs
the same at 10k and 1M leads (see :meth:`TabSql._page`, :meth:`TabSql._total`). A query
and its totals are written by one routine that both emits the text and collects the
parameters (:class:`_Sql`); once a text is cached, the routine runs again only to collect
the parameters, so text and parameters cannot drift apart. A query asked again (the same
person's tab) gets its statement and parameters from a cache keyed by the query itself.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, Final

import attrs

from qleads.adapters.sql.schema import UNROUTED, status_in
from qleads.adapters.sql.statements import STATEMENT_CACHE_SIZE, TextCache
from qleads.lifecycle import TERMINAL_STATUSES, Status
from qleads.tabs import Clause, LeadQuery, Order, Refinement

__all__ = ["TabSql"]


#: Shape of a clause for the statement cache: the statuses (part of the SQL, so that
#: partial indexes and plans can use them), whether territories are given (and empty),
#: whether a holder is named, ``held``, ``unrouted``.
_ClauseShape = tuple[frozenset[Status] | None, int, bool, bool, bool, bool]
#: What a tab row reads (:class:`~qleads.model.LeadSummary`): the state and the three
#: contact columns kept beside the document, never the document itself.
_SUMMARY_COLUMNS: Final = (
    "id, name, postal_code, city, received_at, territory_id, status, status_at, holder_id, "
    "hold_until, due_at, deadline_kind, deadline_at, previous_holders, version"
)
#: PostgreSQL's covered page (:meth:`TabSql._covered_page`): what its index carries,
#: and the tab row with the previous holders read from ``qleads_lead_handled``.
_INDEXED_SUMMARY_COLUMNS: Final = _SUMMARY_COLUMNS.replace(" previous_holders,", "")
_HANDLED_SUMMARY_COLUMNS: Final = _SUMMARY_COLUMNS.replace(
    " previous_holders,",
    " COALESCE((SELECT json_agg(h.installer_id ORDER BY h.installer_id) "
    "FROM qleads_lead_handled AS h WHERE h.lead_id = p.id)::text, '[]'),",
)
#: The sort column of each order (besides the id), all a merged page needs.
_ORDER_KEY: Final = {Order.RECEIVED_DESC: "received_at", Order.DUE_ASC: "due_at"}
_NO_CONDITION: Final = Clause()
_ORDER_BY: Final = {
    Order.RECEIVED_DESC: "received_at DESC, id DESC",
    Order.DUE_ASC: "due_at ASC NULLS LAST, id ASC",
    Order.RECEIVED_ASC: "received_at ASC, id ASC",
    Order.ID_ASC: "id ASC",
    Order.ID_DESC: "id DESC",
    Order.STATUS_AT_ASC: "status_at ASC, id ASC",
    Order.STATUS_AT_DESC: "status_at DESC, id DESC",
    Order.DEADLINE_ASC: "COALESCE(hold_until, due_at) ASC NULLS LAST, id ASC",
    Order.DEADLINE_DESC: "COALESCE(hold_until, due_at) DESC NULLS LAST, id DESC",
}
#: The search's case folding (``qleads.tabs.fold``) of a column: ``lower`` under the
#: ``C`` collation folds A–Z only (SQLite's ``lower`` always does), ``replace`` the umlauts.
#: Each replacement keeps the length, so for a search text without ä, ö or ü the
#: ``lower`` alone finds the same places (:data:`_LOWERED`): no umlaut can be part of a
#: match, capital or not.
_FOLDED: Final = "replace(replace(replace(lower({column}{collate}), 'Ä', 'ä'), 'Ö', 'ö'), 'Ü', 'ü')"
_LOWERED: Final = "lower({column}{collate})"
_UMLAUTS: Final = frozenset("äöü")
#: What every order of a refined page sorts by (:meth:`TabSql._scan_page`).
_SORT_COLUMNS: Final = "id, received_at, status_at, hold_until, due_at"

_ALL_STATUS_VALUES: Final = sorted(s.value for s in Status)
#: Above this many (territory, status) pairs a clause is read by one ordered scan
#: instead (SQLite allows 500 terms in a compound ``SELECT``; a rep has a handful).
_MAX_PAIRS: Final = 64


def _by_pairs(clause: Clause) -> str | None:
    """The column a page reads ``clause`` by, pair by pair with the status (see
    :meth:`TabSql._page`): ``holder_id`` for an installer's own leads,
    ``territory_id`` for a territory tab; ``None`` for one ordered scan."""
    statuses = clause.statuses
    if statuses is not None and not statuses:
        return None
    per_value = len(statuses) if statuses is not None else len(Status)
    if clause.holder_id is not None:
        return "holder_id" if per_value <= _MAX_PAIRS else None
    territories = clause.territory_ids
    if not territories or clause.unrouted:
        return None
    return "territory_id" if len(territories) * per_value <= _MAX_PAIRS else None


def _one_range(clause: Clause) -> bool:
    """Whether one range of an index holds ``clause``'s leads in a page's order: one
    territory and one status (``ix_qleads_lead_territory_status_received``), every
    status (``ix_qleads_lead_territory_received_rows``) or the closed ones (its partial
    twin). SQLite reads such a page with one ordered, limited scan of that range, as a
    hand-written query would (:meth:`TabSql._page`)."""
    territories = clause.territory_ids
    statuses = clause.statuses
    return (
        clause.holder_id is None
        and not clause.unrouted
        and territories is not None
        and len(territories) == 1
        and (statuses is None or len(statuses) == 1 or statuses == TERMINAL_STATUSES)
    )


def _covered(query: LeadQuery) -> bool:
    """Whether ``query`` is one clause of territories, newest first, without a status
    filter (a rep's "all" and "mine" tabs, R8) or of the closed leads (his "closed"
    tab): read per territory, rows and all, from the index of territory and arrival or
    its partial twin of closed leads (:meth:`TabSql._covered_page`)."""
    if query.order is not Order.RECEIVED_DESC or len(query.clauses) != 1:
        return False
    clause = query.clauses[0]
    return (
        clause.statuses in (None, TERMINAL_STATUSES)
        and clause.holder_id is None
        and _by_pairs(clause) == "territory_id"
    )


def _scanned(clauses: Sequence[Clause]) -> list[Clause]:
    """The clauses a total counts in the lead table: those naming a holder."""
    return [c for c in clauses if c.holder_id is not None]


def _one_holder(queries: Sequence[LeadQuery]) -> str | None:
    """The one holder that the clauses of ``queries`` name (see
    :meth:`TabSql._holder_tally`; a refined query's total is a scan of its own and does
    not count); ``None`` if they name none or several."""
    holders = {
        c.holder_id
        for query in queries
        if query.refinement is None
        for c in query.clauses
        if c.holder_id is not None
    }
    return holders.pop() if len(holders) == 1 else None


def _disjoint(a: Clause, b: Clause) -> bool:
    """Whether no lead can meet both clauses, judged by what a statement's text already
    depends on (the clause's shape), so that a cached text stays right: no unheld lead
    has a holder, and no lead has two statuses."""
    if (a.unheld and (b.holder_id is not None or b.held)) or (
        b.unheld and (a.holder_id is not None or a.held)
    ):
        return True
    return a.statuses is not None and b.statuses is not None and a.statuses.isdisjoint(b.statuses)


class _Sql:
    """SQL text and its DB-API parameters, written together; with ``emit=False`` only
    the parameters are collected (the text is cached)."""

    __slots__ = ("bare", "counted", "emit", "mark", "params", "parts")

    def __init__(
        self,
        mark: str,
        *,
        emit: bool,
        counted: Sequence[LeadQuery] = (),
        bare: bool = False,
    ) -> None:
        self.mark = mark
        self.emit = emit
        self.parts: list[str] = []
        self.params: list[Any] = []
        #: Queries whose totals a page statement carries beside its own (the tab bar).
        self.counted = counted
        #: A page statement without any total: its rows' columns only.
        self.bare = bare

    def text(self, text: str) -> None:
        if self.emit:
            self.parts.append(text)

    def arg(self, value: Any) -> None:
        self.params.append(value)
        if self.emit:
            self.parts.append(self.mark)


def _clause_shape(clause: Clause) -> _ClauseShape:
    territories = clause.territory_ids
    marker = 0 if territories is None else (1 if territories else 2)
    return (
        clause.statuses,
        marker,
        clause.holder_id is not None,
        clause.held,
        clause.unrouted,
        clause.unheld,
    )


def _refinement_shape(refinement: Refinement | None) -> tuple[bool, ...] | None:
    """What the text of a refinement depends on: which of its conditions are given."""
    if refinement is None:
        return None
    search = refinement.search
    return (
        search is not None,
        search is not None and not _UMLAUTS.isdisjoint(search.folded),
        search is not None and search.lead_id is not None,
        search is not None and search.names,
        search is not None and search.names_held_by is not None,
        refinement.received_from is not None,
        refinement.received_before is not None,
        refinement.deadline_from is not None,
        refinement.deadline_before is not None,
    )


def _refined(query: LeadQuery) -> bool:
    """Whether ``query`` is read by one filtered, ordered scan (:meth:`TabSql._scan_page`):
    a search or filter beyond the tab's clauses, or an order no tab has."""
    return query.refinement is not None or query.order not in _ORDER_KEY


class _Built(dict[Any, tuple[str, tuple[Any, ...]]]):
    """Statements with their parameters, at most :data:`STATEMENT_CACHE_SIZE`; read as a
    plain ``dict`` (no lock), written through :meth:`remember`."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def remember(self, key: Any, built: tuple[str, tuple[Any, ...]]) -> None:
        with self._lock:
            if len(self) >= STATEMENT_CACHE_SIZE:
                self.clear()
            self[key] = built


class TabSql:
    """The statements of tab pages and totals for one dialect, cached by the shape of
    their query; thread-safe."""

    def __init__(self, *, postgres: bool) -> None:
        self.postgres = postgres
        self.p = "%s" if postgres else "?"
        self._tabs = TextCache()
        #: Whole statements with their parameters, by the queries themselves: the same
        #: person opens the same tabs again and again, and a page asks for all seven
        #: counts each time (queries are immutable values).
        self._built = _Built()
        collate = ' COLLATE "C"' if postgres else ""
        self._fold = {
            (column, umlauts): (_FOLDED if umlauts else _LOWERED).format(
                column=column, collate=collate
            )
            for column in ("name", "postal_code", "city")
            for umlauts in (False, True)
        }
        self._contains = "strpos" if postgres else "instr"

    def tab(self, query: LeadQuery, counted: Sequence[LeadQuery] = ()) -> tuple[str, Sequence[Any]]:
        """A page of ``query`` plus, in each row, its total (see :meth:`_page`) and the
        total of each of ``counted`` (each with at least one clause), in that order: a
        tab page and its tab bar in one statement."""
        # Keyed apart from totals(), whose key is the flat tuple of its queries.
        asked = (query, tuple(counted)) if counted else query
        built = self._built.get(asked)
        if built is None:
            built = self._build_page(asked, query, counted, bare=False)
        return built

    def rows(self, query: LeadQuery) -> tuple[str, Sequence[Any]]:
        """A page of ``query`` without any total: its rows' columns alone.

        SQLite hands each column of each row to Python one by one, so nine totals
        repeated in every row of a full page cost more than a second statement that
        reads them once (:meth:`totals`): its unit of work reads a tab page and its
        tab bar that way (PostgreSQL sends them in one round trip, :meth:`tab`)."""
        asked = ("rows", query)
        built = self._built.get(asked)
        if built is None:
            built = self._build_page(asked, query, (), bare=True)
        return built

    def _build_page(
        self, asked: Any, query: LeadQuery, counted: Sequence[LeadQuery], *, bare: bool
    ) -> tuple[str, tuple[Any, ...]]:
        key = (
            "page",
            bare,
            query.order,
            tuple(self._clause_key(c) for c in query.clauses),
            _refinement_shape(query.refinement),
            self._totals_key(counted),
        )
        cached = self._tabs.get(key)
        sql = _Sql(self.p, emit=cached is None, counted=counted, bare=bare)
        if _refined(query):
            self._scan_page(sql, query)
        else:
            self._page(sql, query)
        if cached is None:
            cached = "".join(sql.parts)
            self._tabs.remember(key, cached)
        built = (cached, tuple(sql.params))
        self._built.remember(asked, built)
        return built

    def totals(self, queries: Sequence[LeadQuery]) -> tuple[str, Sequence[Any]]:
        """One row, one column per query (each with at least one clause): the total of
        each, from the counters where its clauses allow (see :meth:`_total`).

        When the leads the counters cannot count belong to one holder (an installer's
        tab bar: his own leads in five tabs), they are tallied in one pass over his
        range of the holder index (:meth:`_holder_tally`), not once per tab."""
        asked = tuple(queries)
        built = self._built.get(asked)
        if built is not None:
            return built
        holder = _one_holder(queries)
        key = ("totals", holder is not None, self._totals_key(queries))
        cached = self._tabs.get(key)
        sql = _Sql(self.p, emit=cached is None)
        sql.text("SELECT ")
        for n, query in enumerate(queries):
            if n:
                sql.text(", ")
            if holder is not None and query.refinement is None:
                self._total(sql, query.clauses, tally=n)
            else:
                self._query_total(sql, query)
            sql.text(f" AS n{n}")
        if holder is not None:
            self._holder_tally(sql, queries, holder)
        if cached is None:
            cached = "".join(sql.parts)
            self._tabs.remember(key, cached)
        built = (cached, tuple(sql.params))
        self._built.remember(asked, built)
        return built

    def _holder_tally(self, sql: _Sql, queries: Sequence[LeadQuery], holder: str) -> None:
        """``FROM`` a one-row table ``h`` whose column ``a<n>`` counts the holder's
        leads that the ``n``-th query selects and its counted clauses do not (see
        :meth:`_total`): conditional sums over one range of the holder index."""
        sql.text(" FROM (SELECT ")
        first = True
        for n, query in enumerate(queries):
            scanned = _scanned(query.clauses) if query.refinement is None else []
            if not scanned:
                continue
            sql.text("" if first else ", ")
            first = False
            sql.text("COALESCE(SUM(CASE WHEN (")
            self._any(sql, [attrs.evolve(c, holder_id=None) for c in scanned], counter=False)
            sql.text(")")
            self._not_counted(sql, query.clauses, scanned)
            sql.text(f" THEN 1 ELSE 0 END), 0) AS a{n}")
        sql.text(" FROM qleads_lead WHERE holder_id = ")
        sql.arg(holder)
        sql.text(") AS h")

    def _totals_key(self, queries: Sequence[LeadQuery]) -> tuple[Any, ...]:
        return tuple(
            (tuple(self._clause_key(c) for c in q.clauses), _refinement_shape(q.refinement))
            for q in queries
        )

    def _query_total(self, sql: _Sql, query: LeadQuery) -> None:
        if query.refinement is None:
            self._total(sql, query.clauses)
        else:
            self._scan_total(sql, query)

    def _page_totals(self, sql: _Sql, clauses: Sequence[Clause]) -> None:
        """A page's total columns after its row columns: its own (``total``, from
        ``clauses``), then one per query counted with it (``n0``, ``n1`` …); none in a
        bare page."""
        if sql.bare:
            return
        sql.text(", ")
        self._total(sql, clauses)
        sql.text(" AS total")
        self._counted_totals(sql)

    def _counted_totals(self, sql: _Sql) -> None:
        for n, query in enumerate(sql.counted):
            sql.text(", ")
            self._query_total(sql, query)
            sql.text(f" AS n{n}")

    def _clause_key(self, clause: Clause) -> tuple[Any, ...]:
        """What the text of a clause depends on: its shape, on SQLite the number of its
        territory ids (one mark each), and whether it is read pair by pair."""
        size = 0 if self.postgres or not clause.territory_ids else len(clause.territory_ids)
        return (_clause_shape(clause), size, self._pairs(clause))

    def _pairs(self, clause: Clause) -> str | None:
        """:func:`_by_pairs` in this dialect. SQLite reads an installer's own leads in
        one range of the holder index, sorted, as a hand-written query would: an
        installer holds tens of leads, and nine per-status subqueries merged through
        temporary B-trees cost twice as much as sorting them (a holder of thousands
        pays for the sort). PostgreSQL's ``LATERAL`` pairs cost no more than one range."""
        if clause.holder_id is not None and not self.postgres:
            return None
        return _by_pairs(clause)

    def _page(self, sql: _Sql, query: LeadQuery) -> None:
        """``SELECT`` the page, newest (or earliest due) first, with the total.

        A clause of territories and statuses (a pool, a rep's tab, R8) is read as the
        top ``offset + limit`` rows of each (territory, status) pair — one ordered range
        each of ``ix_qleads_lead_territory_status_received``, read from the index alone
        (id and sort key) — and on PostgreSQL an installer's own leads likewise per
        (holder, status) on ``ix_qleads_lead_holder_status_received`` (PostgreSQL: a
        ``LATERAL`` subquery per pair of ``unnest`` ed arrays, stable text; SQLite: a
        ``UNION`` of per-pair subqueries; SQLite reads the holder's range whole,
        :meth:`_pairs`). The candidates are merged, ordered and cut, and only the
        page's rows are fetched. The union of every pair's top rows holds the query's
        top rows, so the page is exact, and its cost follows the page and the number of
        pairs, not the number of leads. Any other clause (an admin's tabs, more than
        :data:`_MAX_PAIRS` pairs) goes into one ordered, limited scan of its own.
        The follow-up order (``due_at``, id) is sorted per pair (no index has it). A
        rep's "all", "mine" and "closed" tabs skip the fetch by id
        (:meth:`_covered_page`). On SQLite a clause that one index range holds
        (:func:`_one_range`: the pool of one territory, a rep's tab of one territory) is
        that range, scanned in order and cut, from the covering index where the tab has
        one: no merge, and no sort of the page's rows."""
        clauses = query.clauses
        one_range = not self.postgres and len(clauses) == 1 and _one_range(clauses[0])
        if _covered(query) and not one_range:
            self._covered_page(sql, query)
            return
        order = _ORDER_BY[query.order]
        sql.text(f"SELECT {_SUMMARY_COLUMNS}")
        self._page_totals(sql, clauses)
        sql.text(" FROM qleads_lead WHERE ")
        paired = [] if one_range else [c for c in clauses if self._pairs(c) is not None]
        if not paired:
            self._any(sql, clauses, counter=False)
            sql.text(f" ORDER BY {order} LIMIT ")
            sql.arg(query.limit)
            sql.text(" OFFSET ")
            sql.arg(query.offset)
            return
        top = query.offset + query.limit
        # Only the id and the sort key: the pair ranges are read from the index alone.
        key = _ORDER_KEY[query.order]
        sql.text("id IN (SELECT id FROM (")
        first = True
        whole = query.order is Order.RECEIVED_DESC
        for clause in paired:
            first = self._pair_sources(sql, clause, order, key, top, first, whole=whole)
        rest = [c for c in clauses if self._pairs(c) is None]
        if rest:
            sql.text(f" UNION SELECT id, {key} FROM (SELECT id, {key} FROM qleads_lead WHERE ")  # noqa: S608
            self._any(sql, rest, counter=False)
            sql.text(f" ORDER BY {order} LIMIT ")
            sql.arg(top)
            sql.text(") AS w")
        sql.text(f") AS u ORDER BY {order} LIMIT ")
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)
        sql.text(f") ORDER BY {order}")

    def _scan_page(self, sql: _Sql, query: LeadQuery) -> None:
        """``SELECT`` a page of a searched, filtered or re-sorted list (R8 with a
        refinement): one scan of the tab's clauses and the refinement, ordered and cut,
        with its total. A search for text inside names and places reads every lead of
        the tab, as a hand-written query would; the tab's own conditions (territory,
        status, holder) keep that to the reader's leads through the same indexes as a
        tab page.

        Without a refinement (a tab in another order) the total comes from the counters
        (:meth:`_total`). With one, the matching leads — id and sort columns — are
        selected once (a ``WITH`` used twice, which SQLite and PostgreSQL materialise), and
        both the total and the page's ids are read from them: the conditions, the text
        search's folding above all, are evaluated once per lead instead of once for the
        page and once more for its count."""
        order = _ORDER_BY[query.order]
        if query.refinement is None:
            sql.text(f"SELECT {_SUMMARY_COLUMNS}")
            self._page_totals(sql, query.clauses)
            sql.text(" FROM qleads_lead WHERE ")
            self._scan_condition(sql, query)
            sql.text(f" ORDER BY {order} LIMIT ")
            sql.arg(query.limit)
            sql.text(" OFFSET ")
            sql.arg(query.offset)
            return
        sql.text(f"WITH m AS (SELECT {_SORT_COLUMNS} FROM qleads_lead WHERE ")  # noqa: S608
        self._scan_condition(sql, query)
        sql.text(f") SELECT {_SUMMARY_COLUMNS}")
        if not sql.bare:
            sql.text(", (SELECT count(*) FROM m) AS total")
            self._counted_totals(sql)
        sql.text(f" FROM qleads_lead WHERE id IN (SELECT id FROM m ORDER BY {order} LIMIT ")  # noqa: S608
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)
        sql.text(f") ORDER BY {order}")

    def _scan_total(self, sql: _Sql, query: LeadQuery) -> None:
        """The number of leads a refined query selects, counted in the lead table."""
        sql.text("(SELECT count(*) FROM qleads_lead WHERE ")
        self._scan_condition(sql, query)
        sql.text(")")

    def _scan_condition(self, sql: _Sql, query: LeadQuery) -> None:
        sql.text("(")
        self._any(sql, query.clauses, counter=False)
        sql.text(")")
        if query.refinement is not None:
            self._refinement(sql, query.refinement)

    def _refinement(self, sql: _Sql, refinement: Refinement) -> None:
        """``qleads.tabs.Refinement.holds_for`` as ``AND`` terms: the search (id, or the
        folded text in postal code, city, or — where R16 lets the reader see it — the
        name), the arrival range and the running deadline's range."""
        search = refinement.search
        if search is not None:
            contains = self._contains
            umlauts = not _UMLAUTS.isdisjoint(search.folded)
            fold = {
                column: self._fold[(column, umlauts)] for column in ("name", "postal_code", "city")
            }
            sql.text(" AND (")
            if search.lead_id is not None:
                sql.text("id = ")
                sql.arg(search.lead_id)
                sql.text(" OR ")
            for n, column in enumerate(("postal_code", "city")):
                sql.text(" OR " if n else "")
                sql.text(f"{contains}({fold[column]}, ")
                sql.arg(search.folded)
                sql.text(") > 0")
            if search.names:
                sql.text(" OR (")
                if search.names_held_by is not None:
                    sql.text("holder_id = ")
                    sql.arg(search.names_held_by)
                    sql.text(" AND ")
                sql.text(f"{contains}({fold['name']}, ")
                sql.arg(search.folded)
                sql.text(") > 0)")
            sql.text(")")
        for column, bound, value in (
            ("received_at", ">=", refinement.received_from),
            ("received_at", "<", refinement.received_before),
            ("COALESCE(hold_until, due_at)", ">=", refinement.deadline_from),
            ("COALESCE(hold_until, due_at)", "<", refinement.deadline_before),
        ):
            if value is not None:
                sql.text(f" AND {column} {bound} ")
                sql.arg(self._instant(value))

    def _instant(self, value: dt.datetime) -> Any:
        """An instant as its column stores it (``qleads.adapters.sql.schema.UtcDateTime``)."""
        utc = value.astimezone(dt.UTC)
        if self.postgres:
            return utc
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds")

    def _covered_page(self, sql: _Sql, query: LeadQuery) -> None:
        """A rep's "all", "mine" and "closed" tabs (see :func:`_covered`): the newest
        ``offset + limit`` rows of each territory, read with the columns of a tab row from
        the index of territory and arrival alone (``qleads.adapters.sql.schema``; for the
        closed leads, its partial twin, whose condition the residual filter writes as the
        index does, :func:`status_in`), merged, ordered and cut. The territories' ranges
        do not overlap, hence ``UNION ALL`` on SQLite; PostgreSQL reads them in a ``LATERAL``
        subquery per ``unnest`` ed territory (stable text) and, for the page's rows only,
        their previous holders from ``qleads_lead_handled`` (which its indexes do not
        carry), as JSON text like the column's."""
        order = _ORDER_BY[query.order]
        clause = query.clauses[0]
        top = query.offset + query.limit
        residual = attrs.evolve(clause, territory_ids=None)
        filtered = residual if residual != _NO_CONDITION else None
        territories = sorted(clause.territory_ids or ())
        if self.postgres:
            sql.text(f"SELECT {_HANDLED_SUMMARY_COLUMNS}")
            self._page_totals(sql, query.clauses)
            sql.text(" FROM (SELECT c.* FROM unnest(")
            sql.arg(territories)
            sql.text(
                f"::text[]) AS pv(v) CROSS JOIN LATERAL (SELECT {_INDEXED_SUMMARY_COLUMNS} "  # noqa: S608
                "FROM qleads_lead WHERE territory_id = pv.v"
            )
            self._filtered_top(sql, filtered, order, top)
            sql.text(f") AS c ORDER BY {order} LIMIT ")
            sql.arg(query.limit)
            sql.text(" OFFSET ")
            sql.arg(query.offset)
            sql.text(f") AS p ORDER BY {order}")
            return
        sql.text(f"SELECT {_SUMMARY_COLUMNS}")
        self._page_totals(sql, query.clauses)
        sql.text(" FROM (")
        for n, territory in enumerate(territories):
            sql.text(" UNION ALL " if n else "")
            sql.text(f"SELECT * FROM (SELECT {_SUMMARY_COLUMNS} FROM qleads_lead WHERE ")  # noqa: S608
            sql.text("territory_id = ")
            sql.arg(territory)
            self._filtered_top(sql, filtered, order, top)
            sql.text(")")
        sql.text(f") ORDER BY {order} LIMIT ")
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)

    def _pair_sources(
        self,
        sql: _Sql,
        clause: Clause,
        order: str,
        key: str,
        top: int,
        first: bool,
        *,
        whole: bool,
    ) -> bool:
        """The top ``top`` rows of every (value, status) pair of ``clause``, by the
        column :func:`_by_pairs` names; the clause's other conditions filter each pair.

        With ``whole`` (newest first), a clause of territories without a status filter
        (a rep's "all" and "mine" tabs) is read per territory instead, on the index of
        territory and arrival (which alone serves such a tab, :meth:`_covered_page`; this
        branch is left for it in a query of several clauses): one range of ``top`` rows
        each, where per pair it would read up to ``top`` rows of every status."""
        column = _by_pairs(clause)
        values: list[str]
        if clause.holder_id is not None:
            values = [clause.holder_id]
            residual = attrs.evolve(clause, statuses=None, holder_id=None, held=False)
        else:
            values = sorted(clause.territory_ids or ())
            residual = attrs.evolve(clause, statuses=None, territory_ids=None)
        filtered = residual if residual != _NO_CONDITION else None
        inner = f"SELECT id, {key} FROM qleads_lead WHERE {column} = "  # noqa: S608
        if whole and clause.statuses is None and clause.holder_id is None:
            self._territory_sources(sql, values, filtered, inner, order, top, first)
            return False
        statuses = (
            sorted(s.value for s in clause.statuses)
            if clause.statuses is not None
            else _ALL_STATUS_VALUES
        )
        if self.postgres:
            sql.text("" if first else " UNION ")
            sql.text(f"SELECT c.id, c.{key} FROM unnest(")  # noqa: S608
            sql.arg(values)
            sql.text("::text[]) AS pv(v) CROSS JOIN unnest(")
            sql.arg(list(statuses))
            sql.text(f"::text[]) AS ps(s) CROSS JOIN LATERAL ({inner}pv.v AND status = ps.s")
            self._filtered_top(sql, filtered, order, top)
            sql.text(") AS c")
            return False
        for value in values:
            for status in statuses:
                sql.text("" if first else " UNION ")
                first = False
                sql.text(f"SELECT id, {key} FROM ({inner}")  # noqa: S608
                sql.arg(value)
                sql.text(f" AND status = '{status}'")
                self._filtered_top(sql, filtered, order, top)
                sql.text(")")
        return first

    def _territory_sources(
        self,
        sql: _Sql,
        territories: list[str],
        residual: Clause | None,
        inner: str,
        order: str,
        top: int,
        first: bool,
    ) -> None:
        """The newest ``top`` rows of each territory (see :meth:`_pair_sources`)."""
        if self.postgres:
            sql.text("" if first else " UNION ")
            sql.text("SELECT c.id, c.received_at FROM unnest(")
            sql.arg(territories)
            sql.text(f"::text[]) AS pv(v) CROSS JOIN LATERAL ({inner}pv.v")
            self._filtered_top(sql, residual, order, top)
            sql.text(") AS c")
            return
        for territory in territories:
            sql.text("" if first else " UNION ")
            first = False
            sql.text(f"SELECT id, received_at FROM ({inner}")  # noqa: S608
            sql.arg(territory)
            self._filtered_top(sql, residual, order, top)
            sql.text(")")

    def _filtered_top(self, sql: _Sql, residual: Clause | None, order: str, top: int) -> None:
        """The tail of one range: the clause's other conditions, the order, the limit."""
        if residual is not None:
            sql.text(" AND ")
            self._clause(sql, residual, counter=False)
        sql.text(f" ORDER BY {order} LIMIT ")
        sql.arg(top)

    def _total(self, sql: _Sql, clauses: Sequence[Clause], tally: int | None = None) -> None:
        """The number of leads any of ``clauses`` selects, as a scalar expression.

        Clauses without a holder depend only on (territory, status, held), so their
        union is a set of cells of ``qleads_lead_count`` and its total a sum over the
        counter table, whatever the number of leads. Clauses naming a holder (an
        installer's own leads: few, on ``ix_qleads_lead_holder_status_received``) are
        counted in the lead table, without the leads the counted clauses already hold
        (:meth:`_not_counted`); with ``tally``, taken from column ``a<tally>`` of the
        holder's tally (:meth:`_holder_tally`) instead."""
        counted = [c for c in clauses if c.holder_id is None]
        scanned = _scanned(clauses)
        if not clauses:
            sql.text("0")
            return
        sql.text("(")
        if counted:
            sql.text("(SELECT COALESCE(SUM(n), 0) FROM qleads_lead_count WHERE ")
            self._any(sql, counted, counter=True)
            sql.text(")")
        if scanned and tally is not None:
            sql.text(f" + h.a{tally}" if counted else f"h.a{tally}")
        elif scanned:
            sql.text(" + (" if counted else "(")
            sql.text("SELECT count(*) FROM qleads_lead WHERE (")
            self._any(sql, scanned, counter=False)
            sql.text(")")
            self._not_counted(sql, clauses, scanned)
            sql.text(")")
        sql.text(")")

    def _not_counted(self, sql: _Sql, clauses: Sequence[Clause], scanned: Sequence[Clause]) -> None:
        """``AND NOT`` the counted clauses that may select a lead of ``scanned`` as well
        (none for a pool's unheld leads beside a holder's own: :func:`_disjoint`), so
        that such a lead counts once. ``NOT COALESCE(…, FALSE)``: an unknown comparison
        with a NULL column means "no match" in the pure rule."""
        overlapping = [
            c for c in clauses if c.holder_id is None and not all(_disjoint(c, s) for s in scanned)
        ]
        if overlapping:
            sql.text(" AND NOT COALESCE((")
            self._any(sql, overlapping, counter=False)
            sql.text("), FALSE)")

    def _any(self, sql: _Sql, clauses: Sequence[Clause], *, counter: bool) -> None:
        """A disjunction of clauses (``qleads.tabs.Clause.holds_for``) on the lead table,
        or with ``counter`` on ``qleads_lead_count`` (no holder clauses there)."""
        if len(clauses) == 1:
            self._clause(sql, clauses[0], counter)
            return
        for n, clause in enumerate(clauses):
            sql.text(") OR (" if n else "(")
            self._clause(sql, clause, counter)
        sql.text(")")

    def _clause(self, sql: _Sql, clause: Clause, counter: bool) -> None:
        terms = 0
        if clause.statuses is not None:
            sql.text(status_in(clause.statuses))
            terms = 1
        territories = clause.territory_ids
        if territories is not None:
            sql.text(" AND " if terms else "")
            terms = 1
            if not territories:
                sql.text("1 = 0")
            elif self.postgres:
                sql.text("territory_id = ANY(")
                sql.arg(sorted(territories))
                sql.text(")")
            else:
                sql.text("territory_id IN (")
                for n, territory in enumerate(sorted(territories)):
                    sql.text(", " if n else "")
                    sql.arg(territory)
                sql.text(")")
        if clause.holder_id is not None:
            sql.text(" AND holder_id = " if terms else "holder_id = ")
            sql.arg(clause.holder_id)
            terms = 1
        if clause.held:
            sql.text(" AND " if terms else "")
            sql.text("held = 1" if counter else "holder_id IS NOT NULL")
            terms = 1
        if clause.unheld:
            sql.text(" AND " if terms else "")
            # SQLite without statistics takes "holder_id IS NULL" for a selective term of
            # the holder index and reads every unheld lead of every territory to find a
            # pool's page; the unary + keeps it on the territory's range (R8).
            unheld = "holder_id IS NULL" if self.postgres else "+holder_id IS NULL"
            sql.text("held = 0" if counter else unheld)
            terms = 1
        if clause.unrouted:
            sql.text(" AND " if terms else "")
            sql.text(f"territory_id = '{UNROUTED}'" if counter else "territory_id IS NULL")
            terms = 1
        if not terms:
            sql.text("1 = 1")
