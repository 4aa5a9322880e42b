"""The totals of R8 statements: how many leads a tab query selects, from the counter table
``qleads_lead_count`` where its clauses allow and otherwise from the lead table, for a
page's own total, the tab bar's counts beside a page, or every tab's count in one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from qleads.adapters.sql.tab_conditions import (
    ConditionSql,
    Recipe,
    Spec,
    SqlText,
    refinement_shape,
)
from qleads.tabs import Clause, LeadQuery

__all__ = ["TotalsSql"]


def _scanned(clauses: Sequence[Clause]) -> list[Clause]:
    """The clauses a total counts in the lead table: those naming a holder."""
    return [c for c in clauses if c.holder_id is not None]


def _one_holder(queries: Sequence[LeadQuery]) -> str | None:
    """The one holder that the clauses of ``queries`` name (see
    :meth:`TotalsSql._holder_tally`; a refined query's total is a scan of its own and does
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


class TotalsSql(ConditionSql):
    """:meth:`totals`, and the total columns a page statement carries
    (:meth:`_page_totals`)."""

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
        return self._statement(asked, self._totals_spec(queries))

    def totals_recipe(self, queries: Sequence[LeadQuery]) -> tuple[Recipe, list[str]] | None:
        """:meth:`totals` as a :class:`Recipe` and the ids that fill it in."""
        return self.recipe(self._totals_spec(queries))

    def _totals_spec(self, queries: Sequence[LeadQuery]) -> Spec:
        holder = _one_holder(queries)

        def write(sql: SqlText) -> None:
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

        return Spec(
            ("totals",),
            queries,
            lambda: ("totals", holder is not None, self._totals_key(queries)),
            write,
        )

    def _holder_tally(self, sql: SqlText, queries: Sequence[LeadQuery], holder: str) -> None:
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
        sql.id_arg(holder)
        sql.text(") AS h")

    def _totals_key(self, queries: Sequence[LeadQuery]) -> tuple[Any, ...]:
        return tuple(
            (tuple(self._clause_key(c) for c in q.clauses), refinement_shape(q.refinement))
            for q in queries
        )

    def _query_total(self, sql: SqlText, query: LeadQuery) -> None:
        if query.refinement is None:
            self._total(sql, query.clauses)
        else:
            self._scan_total(sql, query)

    def _page_totals(self, sql: SqlText, clauses: Sequence[Clause]) -> None:
        """A page's total columns after its row columns: its own (``total``, from
        ``clauses``), then one per query counted with it (``n0``, ``n1`` …); none in a
        bare page."""
        if sql.bare:
            return
        sql.text(", ")
        self._total(sql, clauses)
        sql.text(" AS total")
        self._counted_totals(sql)

    def _counted_totals(self, sql: SqlText) -> None:
        for n, query in enumerate(sql.counted):
            sql.text(", ")
            self._query_total(sql, query)
            sql.text(f" AS n{n}")

    def _total(self, sql: SqlText, clauses: Sequence[Clause], tally: int | None = None) -> None:
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

    def _not_counted(
        self, sql: SqlText, clauses: Sequence[Clause], scanned: Sequence[Clause]
    ) -> None:
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
