"""A tab page read by its scope (R2, R8): the statements of every scope of one shape
(an installer of a rep with two territories, a rep of three …) are one set of
:class:`~qleads.adapters.sql.tab_conditions.Recipe` s, found by the shape and filled
with the scope's own territory and holder ids. A person's first page then builds no
query objects and walks no clauses: the first request of each person is otherwise the
page that costs the most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from qleads.adapters.sql.statements import BoundedCache
from qleads.adapters.sql.tab_conditions import Recipe
from qleads.adapters.sql.tab_sql import TabSql
from qleads.tabs import Scope, Tab, queries_for, query_for

__all__ = ["Filled", "ScopeStatements", "ScopedTabSql"]


@attrs.frozen
class Filled:
    """A recipe, and for each of its ids the index of that id among a scope's ids
    (:meth:`ScopedTabSql.scope_ids`)."""

    recipe: Recipe
    positions: tuple[int, ...]

    def statement(self, ids: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        return self.recipe.fill([ids[n] for n in self.positions])


@attrs.frozen
class ScopeStatements:
    """The statements of one tab page and its tab bar for every scope of a shape, and
    how their answer is read: ``counted`` says which of the counted tabs have a query
    (the others count 0); on SQLite ``page`` reads the rows and ``totals`` the counts
    (the page's own total among them at ``own``, or last); on PostgreSQL ``page``
    reads both and ``totals`` is for a page without rows."""

    page: Filled
    totals: Filled
    counted: tuple[bool, ...]
    own: int | None


#: A scope's shape, the tab, the counted tabs and the paging.
_Key = tuple[bool, int, Tab, tuple[Tab, ...], int, int]


class ScopedTabSql(TabSql):
    """:class:`~qleads.adapters.sql.tab_sql.TabSql` with the statements of tab pages
    by the shape of their scope (:meth:`for_scope`); thread-safe."""

    def __init__(self, *, postgres: bool) -> None:
        super().__init__(postgres=postgres)
        self._scopes: BoundedCache[ScopeStatements | None] = BoundedCache()

    def for_scope(
        self, scope: Scope, tab: Tab, tabs: tuple[Tab, ...], offset: int, limit: int
    ) -> ScopeStatements | None:
        """The statements of ``tab``'s page at ``offset``/``limit`` with the counts of
        ``tabs`` for scopes of ``scope``'s shape, made from ``scope``'s own queries the
        first time; ``None`` where the page is read query by query instead: an
        installer whose id is one of his territories' too (which id sits where would
        be ambiguous), and a page or tab bar of no query at all."""
        territories = scope.territory_ids
        holder = scope.installer_id
        if holder is not None and territories is not None and holder in territories:
            return None
        key: _Key = (
            holder is not None,
            -1 if territories is None else len(territories),
            tab,
            tabs,
            offset,
            limit,
        )
        try:
            return self._scopes[key]
        except KeyError:
            made = self._made(scope, tab, tabs, offset, limit)
            self._scopes.remember(key, made)
            return made

    def scope_ids(self, scope: Scope) -> list[str]:
        """``scope``'s ids in the positions the statements take them from: its
        territories in order, then its installer."""
        ids = list(self.sorted_ids(scope.territory_ids or frozenset()))
        if scope.installer_id is not None:
            ids.append(scope.installer_id)
        return ids

    def _made(
        self, scope: Scope, tab: Tab, tabs: tuple[Tab, ...], offset: int, limit: int
    ) -> ScopeStatements | None:
        query = query_for(scope, tab, offset=offset, limit=limit)
        counted = queries_for(scope, tabs)
        asked = [q for q in counted if q.clauses]
        if not query.clauses or not asked:
            return None
        own: int | None = None
        if self.postgres:
            page = self.tab_recipe(query, asked)
            totals = self.totals_recipe([query, *asked])
        else:
            own = next((n for n, q in enumerate(asked) if q.clauses == query.clauses), None)
            page = self.rows_recipe(query)
            totals = self.totals_recipe(asked if own is not None else [*asked, query])
        if page is None or totals is None:
            return None
        where = {value: n for n, value in enumerate(self.scope_ids(scope))}
        filled = []
        for recipe, ids in (page, totals):
            if not all(value in where for value in ids):
                return None
            filled.append(Filled(recipe, tuple(where[value] for value in ids)))
        return ScopeStatements(filled[0], filled[1], tuple(bool(q.clauses) for q in counted), own)
