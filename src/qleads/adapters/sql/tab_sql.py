"""The R8 page compiler: a tab query (:class:`~qleads.tabs.LeadQuery`) as one SQL
statement that reads a page, with its total and the tab bar's counts where asked
(:mod:`qleads.adapters.sql.tab_totals`), or its rows alone.

A page reads the top rows of each (territory or holder, status) pair through the index
and merges them, and a total sums the counter table ``qleads_lead_count``, so a tab costs
the same at 10k and 1M leads (see :meth:`TabSql._page`, :meth:`TotalsSql._total`). Text and
parameters are written together (:class:`~qleads.adapters.sql.tab_conditions.SqlText`).
A query asked again (the same person's tab) gets its statement and parameters from a
cache keyed by the query itself; another person's query of the same shape, from the
recipe of the first (:class:`~qleads.adapters.sql.tab_conditions.Recipe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs

from qleads.adapters.sql.tab_conditions import (
    ALL_STATUS_VALUES,
    Recipe,
    Spec,
    SqlText,
    by_pairs,
    refinement_shape,
)
from qleads.adapters.sql.tab_totals import TotalsSql
from qleads.lifecycle import TERMINAL_STATUSES
from qleads.tabs import Clause, LeadQuery, Order

__all__ = ["TabSql"]


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
#: What every order of a refined page sorts by (:meth:`TabSql._scan_page`).
_SORT_COLUMNS: Final = "id, received_at, status_at, hold_until, due_at"


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
        and by_pairs(clause) == "territory_id"
    )


def _refined(query: LeadQuery) -> bool:
    """Whether ``query`` is read by one filtered, ordered scan (:meth:`TabSql._scan_page`):
    a search or filter beyond the tab's clauses, or an order no tab has."""
    return query.refinement is not None or query.order not in _ORDER_KEY


class TabSql(TotalsSql):
    """The statements of tab pages and totals for one dialect, cached by the shape of
    their query; thread-safe."""

    def tab(self, query: LeadQuery, counted: Sequence[LeadQuery] = ()) -> tuple[str, Sequence[Any]]:
        """A page of ``query`` plus, in each row, its total (see :meth:`_page`) and the
        total of each of ``counted`` (each with at least one clause), in that order: a
        tab page and its tab bar in one statement."""
        # Keyed apart from totals(), whose key is the flat tuple of its queries.
        asked = (query, tuple(counted)) if counted else query
        built = self._built.get(asked)
        if built is None:
            built = self._statement(asked, self._page_spec(query, counted, bare=False))
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
            built = self._statement(asked, self._page_spec(query, (), bare=True))
        return built

    def tab_recipe(
        self, query: LeadQuery, counted: Sequence[LeadQuery] = ()
    ) -> tuple[Recipe, list[str]] | None:
        """:meth:`tab` as a :class:`Recipe` and the ids that fill it in."""
        return self.recipe(self._page_spec(query, counted, bare=False))

    def rows_recipe(self, query: LeadQuery) -> tuple[Recipe, list[str]] | None:
        """:meth:`rows` as a :class:`Recipe` and the ids that fill it in."""
        return self.recipe(self._page_spec(query, (), bare=True))

    def _page_spec(self, query: LeadQuery, counted: Sequence[LeadQuery], *, bare: bool) -> Spec:
        write = self._scan_page if _refined(query) else self._page
        return Spec(
            ("page", bare, query.offset, query.limit),
            (query, *counted),
            lambda: (
                "page",
                bare,
                query.order,
                tuple(self._clause_key(c) for c in query.clauses),
                refinement_shape(query.refinement),
                self._totals_key(counted),
            ),
            lambda sql: write(sql, query),
            counted,
            bare,
        )

    def _page(self, sql: SqlText, query: LeadQuery) -> None:
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

    def _scan_page(self, sql: SqlText, query: LeadQuery) -> None:
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

    def _covered_page(self, sql: SqlText, query: LeadQuery) -> None:
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
            sql.ids_arg(territories)
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
            sql.id_arg(territory)
            self._filtered_top(sql, filtered, order, top)
            sql.text(")")
        sql.text(f") ORDER BY {order} LIMIT ")
        sql.arg(query.limit)
        sql.text(" OFFSET ")
        sql.arg(query.offset)

    def _pair_sources(
        self,
        sql: SqlText,
        clause: Clause,
        order: str,
        key: str,
        top: int,
        first: bool,
        *,
        whole: bool,
    ) -> bool:
        """The top ``top`` rows of every (value, status) pair of ``clause``, by the
        column :func:`~qleads.adapters.sql.tab_conditions.by_pairs` names; the clause's
        other conditions filter each pair.

        With ``whole`` (newest first), a clause of territories without a status filter
        (a rep's "all" and "mine" tabs) is read per territory instead, on the index of
        territory and arrival (which alone serves such a tab, :meth:`_covered_page`; this
        branch is left for it in a query of several clauses): one range of ``top`` rows
        each, where per pair it would read up to ``top`` rows of every status."""
        column = by_pairs(clause)
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
            else ALL_STATUS_VALUES
        )
        if self.postgres:
            sql.text("" if first else " UNION ")
            sql.text(f"SELECT c.id, c.{key} FROM unnest(")  # noqa: S608
            sql.ids_arg(values)
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
                sql.id_arg(value)
                sql.text(f" AND status = '{status}'")
                self._filtered_top(sql, filtered, order, top)
                sql.text(")")
        return first

    def _territory_sources(
        self,
        sql: SqlText,
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
            sql.ids_arg(territories)
            sql.text(f"::text[]) AS pv(v) CROSS JOIN LATERAL ({inner}pv.v")
            self._filtered_top(sql, residual, order, top)
            sql.text(") AS c")
            return
        for territory in territories:
            sql.text("" if first else " UNION ")
            first = False
            sql.text(f"SELECT id, received_at FROM ({inner}")  # noqa: S608
            sql.id_arg(territory)
            self._filtered_top(sql, residual, order, top)
            sql.text(")")

    def _filtered_top(self, sql: SqlText, residual: Clause | None, order: str, top: int) -> None:
        """The tail of one range: the clause's other conditions, the order, the limit."""
        if residual is not None:
            sql.text(" AND ")
            self._clause(sql, residual, counter=False)
        sql.text(f" ORDER BY {order} LIMIT ")
        sql.arg(top)
