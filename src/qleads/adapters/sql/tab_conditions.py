"""The conditions of the R8 statements: a clause, a disjunction of clauses and a
refinement (search, ranges) as SQL text with its parameters, and the caches of texts and
statements, shared by the totals (:mod:`qleads.adapters.sql.tab_totals`) and the pages
(:mod:`qleads.adapters.sql.tab_sql`).

A condition is written by one routine that both emits the text and collects the
parameters (:class:`SqlText`); once a text is cached, the routine runs again only to
collect the parameters, so text and parameters cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, Final

from qleads.adapters.sql.schema import UNROUTED, status_in
from qleads.adapters.sql.statements import STATEMENT_CACHE_SIZE, TextCache
from qleads.lifecycle import Status
from qleads.tabs import Clause, LeadQuery, Refinement

__all__ = ["ALL_STATUS_VALUES", "ConditionSql", "SqlText", "by_pairs", "refinement_shape"]


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


class SqlText:
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


class Built(dict[Any, tuple[str, tuple[Any, ...]]]):
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
        collate = ' COLLATE "C"' if postgres else ""
        self._fold = {
            (column, umlauts): (_FOLDED if umlauts else _LOWERED).format(
                column=column, collate=collate
            )
            for column in ("name", "postal_code", "city")
            for umlauts in (False, True)
        }
        self._contains = "strpos" if postgres else "instr"

    def _remember(
        self, asked: Any, key: Any, cached: str | None, sql: SqlText
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement ``sql`` wrote (or the text cached under ``key``, whose
        parameters it collected), kept for the queries ``asked``."""
        if cached is None:
            cached = "".join(sql.parts)
            self._tabs.remember(key, cached)
        built = (cached, tuple(sql.params))
        self._built.remember(asked, built)
        return built

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
