"""Tab pages and totals in the SQL unit of work (R8): the reads of
:class:`~qleads.ports.UnitOfWork` and :class:`~qleads.ports.FindsCounted` that the
statements of :mod:`qleads.adapters.sql.tab_sql` answer, for
:class:`~qleads.adapters.sql.unit_of_work.SqlAlchemyUnitOfWork`. A unit reads its own
writes: its counter changes not yet committed (PostgreSQL holds them until the commit)
are added to the totals it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.counters import Cell, counts_cell
from qleads.adapters.sql.driver import DriverConnection
from qleads.adapters.sql.tab_scopes import ScopedTabSql
from qleads.ports import Page
from qleads.tabs import LeadQuery, Scope, Tab, queries_for, query_for

__all__ = ["TabReadsUnitOfWork"]


class _Reader(Protocol):
    """What the mixin needs of the SQL unit of work."""

    _tabs: ScopedTabSql
    _codec: RowCodec
    _deltas: dict[Cell, int]

    def _for_reading(self) -> DriverConnection: ...

    def find(self, query: LeadQuery) -> Page: ...

    def counts(self, queries: Sequence[LeadQuery]) -> list[int]: ...

    def _counts(self, db: DriverConnection, queries: Sequence[LeadQuery]) -> list[int]: ...

    def find_counted(
        self, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]: ...

    def _pending(self, query: LeadQuery) -> int: ...

    def _rows_then_totals(
        self, db: DriverConnection, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]: ...


def _spread(values: Iterable[int], counted: Sequence[bool]) -> list[int]:
    """``values``, one per query that has clauses, in the places of ``counted`` (0
    where a query has none: nothing to count)."""
    found = iter(values)
    return [next(found) if has else 0 for has in counted]


class TabReadsUnitOfWork:
    """:meth:`find`, :meth:`find_counted`, :meth:`find_tab` and :meth:`counts` of the SQL
    unit of work."""

    def find(self: _Reader, query: LeadQuery) -> Page:
        if not query.clauses:
            return Page(leads=(), total=0)
        db = self._for_reading()
        statement, params = self._tabs.tab(query)
        rows = db.run(statement, params).fetchall()
        if rows:
            total = int(rows[0][-1]) + self._pending(query)
            return Page(leads=self._codec.summaries(rows), total=total)
        # An empty page (past the end): the total still counts.
        return Page(leads=(), total=self._counts(db, [query])[0])

    def find_counted(
        self: _Reader, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]:
        """:meth:`find` and :meth:`counts` in one statement (the
        :class:`~qleads.ports.FindsCounted` capability): the page's rows carry its
        total and the counted totals. A page without rows (past the end, or an empty
        tab) asks once more, for the totals alone."""
        asked = [q for q in counted if q.clauses]
        if not query.clauses or not asked:
            return self.find(query), self.counts(counted)
        db = self._for_reading()
        if not self._tabs.postgres and query.refinement is None:
            return self._rows_then_totals(db, query, counted)
        statement, params = self._tabs.tab(query, asked)
        rows = db.run(statement, params).fetchall()
        if not rows:
            totals = self._counts(db, [query, *counted])
            return Page(leads=(), total=totals[0]), totals[1:]
        first = rows[0]
        width = len(first) - len(asked)
        page = Page(
            leads=self._codec.summaries(rows),
            total=int(first[width - 1]) + self._pending(query),
        )
        found = (int(v) + self._pending(q) for v, q in zip(first[width:], asked, strict=True))
        return page, _spread(found, [bool(q.clauses) for q in counted])

    def find_tab(
        self: _Reader, scope: Scope, tab: Tab, tabs: Sequence[Tab], *, offset: int, limit: int
    ) -> tuple[Page, list[int]]:
        """The :class:`~qleads.ports.FindsTab` capability: :meth:`find_counted` of the
        tab's query and of the counted tabs', by statements made once per shape of
        scope (:class:`~qleads.adapters.sql.tab_scopes.ScopedTabSql`). A unit with
        uncommitted changes of its own reads query by query (they are added per
        query)."""
        made = (
            None if self._deltas else self._tabs.for_scope(scope, tab, tuple(tabs), offset, limit)
        )
        if made is None:
            return self.find_counted(
                query_for(scope, tab, offset=offset, limit=limit), queries_for(scope, tuple(tabs))
            )
        ids = self._tabs.scope_ids(scope)
        db = self._for_reading()
        rows = db.run(*made.page.statement(ids)).fetchall()
        if not self._tabs.postgres or not rows:
            # SQLite: the rows, then the totals (the page's own among them, or last);
            # PostgreSQL: a page without rows, then its total and the counted ones.
            values = [int(v) for v in db.run(*made.totals.statement(ids)).fetchone()]
            if self._tabs.postgres:
                return Page(leads=(), total=values[0]), _spread(values[1:], made.counted)
            total = values[made.own] if made.own is not None else values[-1]
            return Page(leads=self._codec.summaries(rows), total=total), _spread(
                values, made.counted
            )
        first = rows[0]
        width = len(first) - sum(made.counted)
        return Page(leads=self._codec.summaries(rows), total=int(first[width - 1])), _spread(
            (int(v) for v in first[width:]), made.counted
        )

    def _rows_then_totals(
        self: _Reader, db: DriverConnection, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]:
        """SQLite: the page's rows (:meth:`TabSql.rows`), then every total in one row;
        the page's own total is the tab's count when it is one of ``counted``."""
        statement, params = self._tabs.rows(query)
        rows = db.run(statement, params).fetchall()
        clauses = query.clauses
        own = next(
            (n for n, q in enumerate(counted) if q.refinement is None and q.clauses == clauses),
            None,
        )
        totals = self._counts(db, counted if own is not None else [*counted, query])
        total = totals[own] if own is not None else totals.pop()
        return Page(leads=self._codec.summaries(rows), total=total), totals

    def counts(self: _Reader, queries: Sequence[LeadQuery]) -> list[int]:
        if not queries:
            return []
        return self._counts(self._for_reading(), queries)

    def _counts(self: _Reader, db: DriverConnection, queries: Sequence[LeadQuery]) -> list[int]:
        asked = [q for q in queries if q.clauses]
        totals: list[int] = []
        if asked:
            statement, params = self._tabs.totals(asked)
            row = db.run(statement, params).fetchone()
            totals = [int(v) + self._pending(q) for v, q in zip(row, asked, strict=True)]
        return _spread(totals, [bool(q.clauses) for q in queries])

    def _pending(self: _Reader, query: LeadQuery) -> int:
        """This unit's own counter deltas in the cells the clauses of ``query`` count
        (they reach the table only at commit; a unit reads its own writes); none for a
        refined query, whose total is counted in the lead table."""
        deltas = self._deltas
        if not deltas or query.refinement is not None:
            return 0
        counted = [c for c in query.clauses if c.holder_id is None]
        return sum(
            delta for cell, delta in deltas.items() if any(counts_cell(c, cell) for c in counted)
        )
