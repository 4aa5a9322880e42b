"""The conditions of the R8 statements: a clause, a disjunction of clauses and a
refinement (search, ranges) as SQL text with its parameters, and the caches of texts and
statements, shared by the totals (:mod:`qleads.adapters.sql.tab_totals`) and the pages
(:mod:`qleads.adapters.sql.tab_sql`).

A condition is written by one routine that both emits the text and collects the
parameters (:class:`SqlText`), so text and parameters cannot drift apart. The routine
also notes which parameters are territory and holder ids: the statement is kept as a
:class:`Recipe` that the queries of anyone else of the same shape fill in with their
own ids, without writing it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from qleads.adapters.sql.schema import UNROUTED, status_in
from qleads.adapters.sql.statements import STATEMENT_CACHE_SIZE, BoundedCache, TextCache
from qleads.lifecycle import Status
from qleads.tabs import Clause, LeadQuery, Refinement

__all__ = [
    "ALL_STATUS_VALUES",
    "ConditionSql",
    "Recipe",
    "Spec",
    "SqlText",
    "by_pairs",
    "refinement_shape",
]


#: Shape of a clause for the statement cache: the statuses (part of the SQL, so that
#: partial indexes and plans can use them), whether territories are given (and empty),
#: whether a holder is named, ``held``, ``unrouted``.
_ClauseShape = tuple[frozenset[Status] | None, int, bool, bool, bool, bool]
#: The search's case folding (``qleads.tabs.fold``) of a column: ``lower`` under the
#: ``C`` collation folds A–Z only (SQLite's ``lower`` always does), ``replace`` the umlauts.
#: Each replacement keeps the length, so for a search text without ä, ö or ü the
#: ``lower`` alone finds the same places (:data:`_LOWERED`): no umlaut can be part of a
#: match, capital or not.
_FOLDED: Final = "replace(replace(replace(lower({column}{collate}), 'Ä', 'ä'), 'Ö', 'ö'), 'Ü', 'ü')"
_LOWERED: Final = "lower({column}{collate})"
_UMLAUTS: Final = frozenset("äöü")
ALL_STATUS_VALUES: Final = sorted(s.value for s in Status)
#: Above this many (territory, status) pairs a clause is read by one ordered scan
#: instead (SQLite allows 500 terms in a compound ``SELECT``; a rep has a handful).
_MAX_PAIRS: Final = 64


def by_pairs(clause: Clause) -> str | None:
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


#: The source of a parameter that is the same for every query of a statement's shape.
_CONSTANT: Final = object()


class SqlText:
    """SQL text and its DB-API parameters, written together; with ``emit=False`` only
    the parameters are collected (the text is cached).

    A parameter is either a territory's or a holder's id (:meth:`id_arg`,
    :meth:`ids_arg`), which differ between people whose queries have the same shape,
    or anything else (:meth:`arg`); ``sources`` remembers which, for a
    :class:`Recipe`."""

    __slots__ = ("bare", "counted", "emit", "mark", "params", "parts", "sources")

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
        self.sources: list[Any] = []
        #: Queries whose totals a page statement carries beside its own (the tab bar).
        self.counted = counted
        #: A page statement without any total: its rows' columns only.
        self.bare = bare

    def text(self, text: str) -> None:
        if self.emit:
            self.parts.append(text)

    def arg(self, value: Any) -> None:
        """A parameter that every query of the statement's shape and paging has."""
        self._add(value, _CONSTANT)

    def id_arg(self, value: str) -> None:
        """A territory's or a holder's id, taken from a clause."""
        self._add(value, value)

    def ids_arg(self, values: list[str]) -> None:
        """An array of territory or holder ids, taken from a clause (PostgreSQL)."""
        self._add(values, tuple(values))

    def _add(self, value: Any, source: Any) -> None:
        self.params.append(value)
        self.sources.append(source)
        if self.emit:
            self.parts.append(self.mark)


class Recipe:
    """A statement and how its parameters follow from the territory and holder ids of
    the queries it was written for (:meth:`ConditionSql._signature`), so that the queries of
    another person with the same shape get theirs without writing it again: a page's
    statements are written for each person the first time he opens it, and a rep's
    team has dozens of installers whose scopes differ only in these ids."""

    __slots__ = ("slots", "text")

    def __init__(self, text: str, slots: tuple[tuple[int, Any], ...]) -> None:
        self.text = text
        #: Per parameter: (0, the value), (1, the index of an id) or (2, indexes of ids).
        self.slots = slots

    @classmethod
    def of(cls, text: str, sql: SqlText, ids: Sequence[str]) -> Recipe | None:
        """The recipe of ``sql``'s parameters, written for queries whose ids are
        ``ids``; ``None`` if a parameter names an id the queries do not hold."""
        index = {value: n for n, value in enumerate(ids)}
        slots: list[tuple[int, Any]] = []
        for value, source in zip(sql.params, sql.sources, strict=True):
            if source is _CONSTANT:
                slots.append((0, value))
            elif isinstance(source, tuple):
                if not all(v in index for v in source):
                    return None
                slots.append((2, tuple(index[v] for v in source)))
            elif source in index:
                slots.append((1, index[source]))
            else:
                return None
        return cls(text, tuple(slots))

    def fill(self, ids: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        """The statement with the parameters of queries whose ids are ``ids``."""
        return self.text, tuple(
            x if kind == 0 else ids[x] if kind == 1 else [ids[n] for n in x]
            for kind, x in self.slots
        )


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


def refinement_shape(refinement: Refinement | None) -> tuple[bool, ...] | None:
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


@attrs.frozen
class Spec:
    """What a statement is written from: its kind and paging (``tag``), the queries
    whose ids fill it in, the key of its text (computed only when the text is
    needed) and the routine that writes it (:class:`SqlText`)."""

    tag: tuple[Any, ...]
    queries: Sequence[LeadQuery]
    key: Callable[[], Any]
    write: Callable[[SqlText], None]
    counted: Sequence[LeadQuery] = ()
    bare: bool = False


#: Statements with their parameters, by the queries they were written for.
Built = BoundedCache[tuple[str, tuple[Any, ...]]]


class ConditionSql:
    """What the page and totals compilers share for one dialect: the conditions of a
    query as SQL, and the caches of texts (by shape) and of whole statements (by query);
    thread-safe."""

    def __init__(self, *, postgres: bool) -> None:
        self.postgres = postgres
        self.p = "%s" if postgres else "?"
        self._tabs = TextCache()
        #: Whole statements with their parameters, by the queries themselves: the same
        #: person opens the same tabs again and again, and a page asks for all seven
        #: counts each time (queries are immutable values).
        self._built = Built()
        #: Statements by signature (see :meth:`_statement`).
        self._recipes: BoundedCache[Recipe] = BoundedCache()
        self._sorted_ids: dict[frozenset[str], list[str]] = {}
        collate = ' COLLATE "C"' if postgres else ""
        self._fold = {
            (column, umlauts): (_FOLDED if umlauts else _LOWERED).format(
                column=column, collate=collate
            )
            for column in ("name", "postal_code", "city")
            for umlauts in (False, True)
        }
        self._contains = "strpos" if postgres else "instr"

    def _statement(self, asked: Any, spec: Spec) -> tuple[str, tuple[Any, ...]]:
        """The statement ``spec`` describes, kept for ``asked``: where another person's
        queries of the same signature (:meth:`_signature`) had one, that statement's
        :class:`Recipe` filled with these queries' ids, written otherwise."""
        made = self.recipe(spec)
        if made is not None:
            built = made[0].fill(made[1])
        else:
            text, sql = self._written(spec)
            built = (text, tuple(sql.params))
        self._built.remember(asked, built)
        return built

    def recipe(self, spec: Spec) -> tuple[Recipe, list[str]] | None:
        """The :class:`Recipe` of the statement ``spec`` describes, and the ids of its
        queries that fill it in; ``None`` for refined queries (a search's parameters
        are its own). Found by signature: its text key is computed and its text written
        only for the first queries of a signature."""
        found = self._signature(spec.tag, spec.queries)
        if found is None:
            return None
        recipe = self._recipes.get(found[0])
        if recipe is None:
            text, sql = self._written(spec)
            recipe = Recipe.of(text, sql, found[1])
            if recipe is None:
                return None
            self._recipes.remember(found[0], recipe)
        return recipe, found[1]

    def _written(self, spec: Spec) -> tuple[str, SqlText]:
        """``spec``'s statement written (its text from the cache where it is there) and
        the parameters collected."""
        text_key = spec.key()
        cached = self._tabs.get(text_key)
        sql = SqlText(self.p, emit=cached is None, counted=spec.counted, bare=spec.bare)
        spec.write(sql)
        if cached is None:
            cached = "".join(sql.parts)
            self._tabs.remember(text_key, cached)
        return cached, sql

    def _signature(
        self, tag: tuple[Any, ...], queries: Sequence[LeadQuery]
    ) -> tuple[tuple[Any, ...], list[str]] | None:
        """What a statement for ``queries`` depends on besides their ids, in one pass:
        ``tag`` (the kind of statement, its paging), each query's order and each
        clause's shape with the number of its territories (which decide its text, see
        :meth:`_clause_key`), and the walk of ids (which clause names which id, as
        indexes into the ids met, each once). Returns it with those ids; ``None``
        when a query is refined (a search's parameters are its own)."""
        index: dict[str, int] = {}
        walk: list[int] = []
        shapes: list[Any] = []
        for query in queries:
            if query.refinement is not None:
                return None
            shapes.append(query.order)
            for clause in query.clauses:
                territories = clause.territory_ids
                if territories is None:
                    size = -1
                else:
                    size = len(territories)
                    for territory in self.sorted_ids(territories):
                        walk.append(index.setdefault(territory, len(index)))
                holder = clause.holder_id
                if holder is not None:
                    walk.append(index.setdefault(holder, len(index)))
                shapes.append(
                    (
                        clause.statuses,
                        size,
                        holder is not None,
                        clause.held,
                        clause.unrouted,
                        clause.unheld,
                    )
                )
        return (tag, tuple(shapes), tuple(walk)), list(index)

    def sorted_ids(self, territories: frozenset[str]) -> list[str]:
        """``territories`` in order, as parameters list them; kept per set (the sets
        of one rep's scopes are one object)."""
        found = self._sorted_ids.get(territories)
        if found is None:
            found = sorted(territories)
            if len(self._sorted_ids) >= STATEMENT_CACHE_SIZE:
                self._sorted_ids.clear()
            self._sorted_ids[territories] = found
        return found

    def _clause_key(self, clause: Clause) -> tuple[Any, ...]:
        """What the text of a clause depends on: its shape, on SQLite the number of its
        territory ids (one mark each), and whether it is read pair by pair."""
        size = 0 if self.postgres or not clause.territory_ids else len(clause.territory_ids)
        return (_clause_shape(clause), size, self._pairs(clause))

    def _pairs(self, clause: Clause) -> str | None:
        """:func:`by_pairs` in this dialect. SQLite reads an installer's own leads in
        one range of the holder index, sorted, as a hand-written query would: an
        installer holds tens of leads, and nine per-status subqueries merged through
        temporary B-trees cost twice as much as sorting them (a holder of thousands
        pays for the sort). PostgreSQL's ``LATERAL`` pairs cost no more than one range."""
        if clause.holder_id is not None and not self.postgres:
            return None
        return by_pairs(clause)

    def _scan_total(self, sql: SqlText, query: LeadQuery) -> None:
        """The number of leads a refined query selects, counted in the lead table."""
        sql.text("(SELECT count(*) FROM qleads_lead WHERE ")
        self._scan_condition(sql, query)
        sql.text(")")

    def _scan_condition(self, sql: SqlText, query: LeadQuery) -> None:
        sql.text("(")
        self._any(sql, query.clauses, counter=False)
        sql.text(")")
        if query.refinement is not None:
            self._refinement(sql, query.refinement)

    def _refinement(self, sql: SqlText, refinement: Refinement) -> None:
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

    def _any(self, sql: SqlText, clauses: Sequence[Clause], *, counter: bool) -> None:
        """A disjunction of clauses (``qleads.tabs.Clause.holds_for``) on the lead table,
        or with ``counter`` on ``qleads_lead_count`` (no holder clauses there)."""
        if len(clauses) == 1:
            self._clause(sql, clauses[0], counter)
            return
        for n, clause in enumerate(clauses):
            sql.text(") OR (" if n else "(")
            self._clause(sql, clause, counter)
        sql.text(")")

    def _clause(self, sql: SqlText, clause: Clause, counter: bool) -> None:
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
                sql.ids_arg(self.sorted_ids(territories))
                sql.text(")")
            else:
                sql.text("territory_id IN (")
                for n, territory in enumerate(self.sorted_ids(territories)):
                    sql.text(", " if n else "")
                    sql.id_arg(territory)
                sql.text(")")
        if clause.holder_id is not None:
            sql.text(" AND holder_id = " if terms else "holder_id = ")
            sql.id_arg(clause.holder_id)
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
