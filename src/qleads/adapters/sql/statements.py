"""The unit of work's statements as SQL text, per dialect: reads and conditional writes of
one lead, its history, its outbox records and the tab counters, and the multi-row and
folded forms the unit of work sends them in.

SQLAlchemy's statement execution costs far more per call than the database needs for
these one-row statements (about 150 µs against 15 µs on SQLite), so the hot path bypasses
it: stable text with positional parameters (on PostgreSQL psycopg prepares a statement
after a few executions), built once per repository and run straight through the DB-API
cursor of the unit's connection; the conversions are :mod:`qleads.adapters.sql.codec`'s.
The tables, the migrations and every other reader and writer stay on SQLAlchemy. The tab
pages' statements are :mod:`qleads.adapters.sql.tab_sql`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from sqlalchemy.engine import Dialect

from qleads.adapters.sql.schema import (
    STATE_COLUMNS,
    access_log_table,
    event_table,
    handled_table,
    lead_count_table,
    outbox_table,
)

__all__ = [
    "ACCESS_COLUMNS",
    "CACHED_ROWS",
    "STATEMENT_CACHE_SIZE",
    "BoundedCache",
    "Statements",
    "TextCache",
]

_V = TypeVar("_V")

#: At most this many texts per statement cache; a full cache is emptied (the texts are
#: cheap to build again, and a process meets few shapes).
STATEMENT_CACHE_SIZE: Final = 512
#: Multi-row ``VALUES`` texts up to this many rows are kept (:meth:`Statements.rows`).
CACHED_ROWS: Final = 64
#: The columns of an access record (R14) the unit of work writes, in their order.
ACCESS_COLUMNS: Final = (
    "at",
    "user_id",
    "role",
    "lead_id",
    "kind",
    "territory_id",
    "holder_id",
    "client",
)
_LEAD_COLUMNS: Final = (
    "id, {document}, received_at, territory_id, status, status_at, holder_id, hold_until, "
    "due_at, deadline_kind, deadline_at, previous_holders, version"
)
_DOCUMENT_COLUMNS: Final = ("document", "fingerprint", "name", "postal_code", "city")
_EVENT_COLUMNS: Final = (
    "lead_id",
    "version",
    "kind",
    "actor_id",
    "from_status",
    "to_status",
    "effective_at",
    "recorded_at",
    "holder_id",
    "channel",
    "note",
    "reason",
    "due_at",
)
_OUTBOX_COLUMNS: Final = (
    "key",
    "kind",
    "lead_id",
    "recipient_id",
    "created_at",
    "deadline_at",
    "next_attempt_at",
)


class BoundedCache(dict[Any, _V]):
    """Values by what they depend on, at most :data:`STATEMENT_CACHE_SIZE`; read as a
    plain ``dict`` (no lock), written through :meth:`remember`."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def remember(self, key: Any, value: _V) -> None:
        with self._lock:
            if len(self) >= STATEMENT_CACHE_SIZE:
                self.clear()
            self[key] = value


class TextCache(BoundedCache[str]):
    """SQL texts by what they depend on (see :class:`BoundedCache`)."""

    __slots__ = ()


class Statements:
    """Every statement of the unit of work but the tab pages', as SQL text built once for
    one dialect (see the module docstring); thread-safe."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = postgres = dialect.name == "postgresql"
        p = self.p = "%s" if postgres else "?"
        self.columns = _LEAD_COLUMNS.format(document="document::text" if postgres else "document")
        select = f"SELECT {self.columns} FROM qleads_lead"  # noqa: S608
        self.get = f"{select} WHERE id = {p}"
        self.get_by_source = f"{select} WHERE source_id = {p}"
        self.due = (
            f"{select} WHERE deadline_at IS NOT NULL AND deadline_at <= {p} "
            f"ORDER BY deadline_at, id LIMIT {p}" + (" FOR UPDATE SKIP LOCKED" if postgres else "")
        )
        self.source_owner = f"SELECT id FROM qleads_lead WHERE source_id = {p}"  # noqa: S608
        self.version_of = f"SELECT version FROM qleads_lead WHERE id = {p}"  # noqa: S608
        document = f"{p}::jsonb" if postgres else p
        added = ("source_id", *_DOCUMENT_COLUMNS, *STATE_COLUMNS)
        values = ", ".join(document if c == "document" else p for c in added)
        self.add = (
            f"INSERT INTO qleads_lead ({', '.join(added)}) VALUES ({values}) "  # noqa: S608
            "ON CONFLICT (source_id) DO NOTHING RETURNING id"
        )
        state = ", ".join(f"{c} = {p}" for c in STATE_COLUMNS)
        documents = ", ".join(
            f"{c} = {document if c == 'document' else p}" for c in _DOCUMENT_COLUMNS
        )
        where = f"WHERE id = {p} AND version = {p}"
        self._where = where
        self._updates = TextCache()
        self._multi_rows = TextCache()
        self.update_all = f"UPDATE qleads_lead SET {state}, {documents} {where}"  # noqa: S608
        self.record_access = (
            f"INSERT INTO qleads_access_log ({', '.join(ACCESS_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(p for _ in ACCESS_COLUMNS)})"
        )
        self.add_handled = (
            f"INSERT INTO qleads_lead_handled (lead_id, installer_id) VALUES ({p}, {p}) "  # noqa: S608
            "ON CONFLICT (lead_id, installer_id) DO NOTHING"
        )
        self.append = (
            f"INSERT INTO qleads_event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(p for _ in _EVENT_COLUMNS)})"
        )
        self.history = (
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM qleads_event WHERE lead_id = {p} "  # noqa: S608
            "ORDER BY version, id"
        )
        self.enqueue = (
            f"INSERT INTO qleads_outbox ({', '.join(_OUTBOX_COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join(p for _ in _OUTBOX_COLUMNS)}) ON CONFLICT (key) DO NOTHING"
        )
        #: Add a delta to one counter; the unit of work sends its cells sorted, in one
        #: ``VALUES`` list (one global lock order).
        self.bump_row = (
            "INSERT INTO qleads_lead_count (territory_id, status, held, n) "  # noqa: S608
            f"VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (territory_id, status, held) "
            "DO UPDATE SET n = qleads_lead_count.n + excluded.n"
        )
        self._folds = TextCache()
        #: The first row of each held-back insert in :meth:`folded`, its parameters cast
        #: to the column types (a ``VALUES`` list under ``SELECT`` has no target columns
        #: to take them from).
        self._typed = {
            table.name: ", ".join(
                f"CAST({p} AS {table.c[c].type.compile(dialect=dialect)})" for c in columns
            )
            for table, columns in (
                (event_table, _EVENT_COLUMNS),
                (outbox_table, _OUTBOX_COLUMNS),
                (lead_count_table, ("territory_id", "status", "held", "n")),
                (handled_table, ("lead_id", "installer_id")),
                (access_log_table, ACCESS_COLUMNS),
            )
        }
        self.cell_of = (
            f"SELECT territory_id, status, holder_id FROM qleads_lead "  # noqa: S608
            f"WHERE id = {p} AND version = {p}" + (" FOR UPDATE" if postgres else "")
        )

    def update_of(self, columns: tuple[str, ...]) -> str:
        """The conditional ``UPDATE`` of just these state columns (of
        :data:`STATE_COLUMNS`, in that order): few distinct sets occur (one per kind of
        change), so the texts are cached."""
        statement = self._updates.get(columns)
        if statement is None:
            assignments = ", ".join(f"{c} = {self.p}" for c in columns)
            statement = f"UPDATE qleads_lead SET {assignments} {self._where}"  # noqa: S608
            self._updates.remember(columns, statement)
        return statement

    # --- sets of ids ---------------------------------------------------------------------

    def among(self, column: str, count: int, *, negate: bool = False) -> str:
        """``column`` is (not) one of ``count`` values: one array parameter on PostgreSQL
        (stable text), ``count`` parameters on SQLite (see :meth:`ids`)."""
        if self.postgres:
            return f"{column} <> ALL(%s)" if negate else f"{column} = ANY(%s)"
        if count == 0:
            return "1 = 1" if negate else "1 = 0"
        marks = ", ".join("?" * count)
        return f"{column} NOT IN ({marks})" if negate else f"{column} IN ({marks})"

    def ids(self, values: Sequence[str]) -> list[Any]:
        """The parameters of :meth:`among` for ``values``."""
        return [list(values)] if self.postgres else list(values)

    # --- the counters (qleads_lead_count) --------------------------------------------------

    def in_rows(
        self, statement: str, rows: Sequence[Sequence[Any]]
    ) -> list[tuple[str, Sequence[Sequence[Any]]]]:
        """An ``INSERT … VALUES (row)`` for several rows as few statements as possible:
        multi-row ``VALUES`` lists of up to :data:`CACHED_ROWS` rows, each with its
        parameters as one row. In a pipeline each statement costs a message and its
        parameters' adaptation; an intake's two dozen notices go as one."""
        if len(rows) <= 1:
            return [(statement, rows)]
        batches: list[tuple[str, Sequence[Sequence[Any]]]] = []
        for start in range(0, len(rows), CACHED_ROWS):
            chunk = rows[start : start + CACHED_ROWS]
            if len(chunk) == 1:
                batches.append((statement, chunk))
                continue
            params = [value for row in chunk for value in row]
            batches.append((self._rows_of(statement, len(chunk)), [params]))
        return batches

    def _rows_of(self, statement: str, count: int) -> str:
        key = (statement, count)
        text = self._multi_rows.get(key)
        if text is None:
            head, row, tail = _values_parts(statement)
            text = f"{head} VALUES {', '.join(row for _ in range(count))}{tail}"
            self._multi_rows.remember(key, text)
        return text

    def folded(self, update: str, inserts: Sequence[tuple[str, str, int]]) -> str:
        """PostgreSQL: a unit's conditional ``UPDATE`` (of one lead) and the inserts it
        holds back, ``(table, statement, rows)`` each, as one statement that returns the
        number of updated rows (0 or 1).

        The inserts read the update's result (``WHERE EXISTS (SELECT FROM u)``), so
        they run after it, keeping the lock order of the other path (lead row first,
        counter rows last), and write nothing when the update lost its race. The caller
        keeps the row counts short (:data:`CACHED_ROWS`), so the texts are few and
        stable and psycopg prepares them like any other statement."""
        key = (update, tuple(inserts))
        text = self._folds.get(key)
        if text is None:
            parts = [f"u AS ({update} RETURNING id)"]
            for n, (table, statement, count) in enumerate(inserts):
                head, row, tail = _values_parts(statement)
                rows = ", ".join([f"({self._typed[table]})", *(row for _ in range(count - 1))])
                parts.append(
                    f"i{n} AS ({head} SELECT * FROM (VALUES {rows}) AS v "  # noqa: S608
                    f"WHERE EXISTS (SELECT FROM u){tail})"
                )
            text = f"WITH {', '.join(parts)} SELECT count(*) FROM u"  # noqa: S608
            self._folds.remember(key, text)
        return text


def _values_parts(statement: str) -> tuple[str, str, str]:
    """``INSERT … VALUES (row) tail`` as its head, its one row and its tail."""
    start = statement.index(" VALUES (")
    end = statement.index(")", start + len(" VALUES (")) + 1
    return statement[:start], statement[start + len(" VALUES ") : end], statement[end:]
