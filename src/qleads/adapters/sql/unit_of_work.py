"""The unit of work on SQL: one database transaction of a use case (the
:class:`~qleads.ports.UnitOfWork` port), its statements sent straight through the driver.

Concurrency is carried by one rule of the ports: every change of a lead is one
conditional ``UPDATE … WHERE id = :id AND version = :expected`` whose row count decides
who won. Of any number of concurrent claims exactly one matches (R3); a sweep and a record
racing for the same lead cannot both apply (R4, R11). The totals of the tabs (R8) are
kept in ``qleads_lead_count``, which every unit of work updates in its own transaction
(PostgreSQL: just before ``COMMIT``, in one global lock order; SQLite: by triggers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, NoReturn, Self

import attrs
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from qleads.adapters.sql.access_log import SqlAlchemyAccessLog
from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.counters import Cell, counter_cell
from qleads.adapters.sql.driver import DriverConnection
from qleads.adapters.sql.duplicate_sql import DuplicateStatements
from qleads.adapters.sql.errors import OnIntegrity, integrity_kind, storage_error
from qleads.adapters.sql.limits_sql import LimitsSql, LimitsUnitOfWork
from qleads.adapters.sql.schema import UNROUTED
from qleads.adapters.sql.scorecard_sql import ScorecardUnitOfWork
from qleads.adapters.sql.statements import CACHED_ROWS, Statements
from qleads.adapters.sql.tab_reads import TabReadsUnitOfWork
from qleads.adapters.sql.tab_scopes import ScopedTabSql
from qleads.errors import IntakeConflict, LeadNotFound, QleadsError, StaleUpdate
from qleads.model import HistoryEvent, Lead, Notification, ReleaseReason
from qleads.personal_data import AccessRecord

__all__ = ["SqlAlchemyUnitOfWork"]


@attrs.frozen
class _Insert:
    """Rows a PostgreSQL unit of work holds back until it reads the history or commits."""

    table: str
    statement: str
    rows: Sequence[Sequence[Any]]
    on_integrity: OnIntegrity | None = None


@attrs.frozen
class _Update:
    """A conditional ``UPDATE`` a PostgreSQL unit of work holds back until its next
    statement or its commit."""

    statement: str
    params: Sequence[Any]
    lead_id: int
    expected_version: int


def _refusal(held: Sequence[_Insert]) -> OnIntegrity | None:
    """The integrity-error translation of whichever held-back insert the database
    refused, told apart by the table the driver names."""
    if not any(insert.on_integrity is not None for insert in held):
        return None

    def refused(error: sa_exc.IntegrityError) -> QleadsError:
        table = getattr(getattr(error.orig, "diag", None), "table_name", None)
        for insert in held:
            if insert.table == table and insert.on_integrity is not None:
                return insert.on_integrity(error)
        return storage_error(error)

    return refused


_IDLE: Final = 0
_READING: Final = 1
_WRITING: Final = 2


class SqlAlchemyUnitOfWork(TabReadsUnitOfWork, LimitsUnitOfWork, ScorecardUnitOfWork):
    """One database transaction (the :class:`~qleads.ports.UnitOfWork` port); leaving
    the ``with`` block without :meth:`commit` rolls it back.

    It holds one pooled connection and talks to its DB-API cursor directly
    (:class:`~qleads.adapters.sql.driver.DriverConnection`, the statements of
    :class:`~qleads.adapters.sql.statements.Statements` and
    :class:`~qleads.adapters.sql.tab_sql.TabSql`). On SQLite it emits the transaction
    statements itself: reads run in a deferred ``BEGIN`` (so a tab page and its counts
    see one snapshot), and before its first write the unit ends that read transaction
    and starts ``BEGIN IMMEDIATE``, which waits for other writers on the busy timeout
    instead of failing; a write never upgrades a read snapshot, so the conditional
    update always sees the latest committed version. A unit opened with ``writing=True``
    starts with ``BEGIN IMMEDIATE``, so its reads and writes are one transaction (a
    claim: one ``BEGIN`` and ``COMMIT`` fewer).

    On PostgreSQL the unit runs its connection in autocommit and sends ``BEGIN`` only
    before its first write that cannot wait (:meth:`_begin`). Until then each read is a
    statement of its own, which changes nothing a reader could see: under READ
    COMMITTED every statement of a transaction takes its own snapshot anyway, and a
    read locks nothing (the locking reads, :meth:`due` and the counted cell of
    :meth:`update`, begin first). A unit that only reads therefore costs no ``BEGIN``
    and no ``COMMIT``, and one whose writes all fold into one statement (below) sends
    that statement alone: a single statement is atomic without a transaction around
    it. The connection goes back to the pool as SQLAlchemy lent it (autocommit off).

    On PostgreSQL every statement is a round trip, and on a busy server the round trip,
    not the work, is most of a one-row statement's cost; so is parsing and planning a
    statement the server has not prepared. So the inserts that decide nothing
    (:meth:`append`, :meth:`enqueue`) are held back, and so is the conditional
    ``UPDATE`` of a lead the unit read, until the unit's next statement or its commit.
    At the commit the update, the inserts and the counter deltas become one statement
    (:meth:`~qleads.adapters.sql.statements.Statements.folded`), which psycopg prepares
    like any other: a claim reads the lead and sends that statement, two round trips in
    all, and the server parses nothing afresh. The inserts run only if the update
    changed its row, so the update still decides the race (R3, R11): when it lost,
    :meth:`commit` raises :class:`~qleads.errors.StaleUpdate` and nothing of the unit is
    stored. A unit without an update (an intake), with several (a sweep's batch: one
    pipelined ``executemany`` per statement), or with more held rows than a short
    statement takes, sends its inserts and the counter deltas in one pipeline with the
    ``COMMIT`` instead, as multi-row ``VALUES`` lists
    (:meth:`~qleads.adapters.sql.statements.Statements.in_rows`; the updates, if any,
    go first). Any read sends the held updates
    first, and :meth:`history`, the only read of the inserted tables, the
    held inserts too, so the unit reads its own writes. An insert the database refuses
    (an event whose version exists, or of an unknown lead) is raised by that read or by
    :meth:`commit`, and nothing of the unit is stored.

    Made by :meth:`~qleads.adapters.sql.repository.SqlAlchemyLeadRepository.unit_of_work`,
    which hands over the engine and the repository's statements and codec.
    """

    def __init__(
        self,
        engine: Engine,
        statements: Statements,
        tabs: ScopedTabSql,
        codec: RowCodec,
        *,
        writing: bool = False,
        limits: LimitsSql | None = None,
        access_log: SqlAlchemyAccessLog | None = None,
    ) -> None:
        self._engine = engine
        self._access_log = access_log if access_log is not None else SqlAlchemyAccessLog(engine)
        self._limits = limits if limits is not None else LimitsSql(postgres=statements.postgres)
        #: Declared a writer: on SQLite the first read already runs in ``BEGIN IMMEDIATE``.
        self._writing = writing
        self._statements = statements
        self._tabs = tabs
        self._codec = codec
        self._duplicates = _DUPLICATE_STATEMENTS[statements.postgres]
        self._sqlite = not statements.postgres
        self._connection: DriverConnection | None = None
        self._state = _IDLE
        #: Leads as this unit read them, to skip rewriting what did not change.
        self._seen: dict[int, Lead] = {}
        #: Changes of ``qleads_lead_count`` this unit has made so far (cell → delta).
        self._deltas: dict[Cell, int] = {}
        #: PostgreSQL: inserts and the last conditional update not sent yet (see the
        #: class docstring).
        self._held: list[_Insert] = []
        self._held_updates: list[_Update] = []

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open")
        self._connection = DriverConnection(self._engine)
        self._state = _IDLE
        self._seen = {}
        self._deltas = {}
        self._held = []
        self._held_updates = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        self._seen = {}
        self._deltas = {}
        self._held = []
        self._held_updates = []
        if connection is None:
            return
        self._state = _IDLE
        connection.release(failed=exc is not None)

    def commit(self) -> None:
        """Send what the unit held back (PostgreSQL; on SQLite everything is sent at
        once and triggers keep the counters), then ``COMMIT``.

        The counter deltas go in one ``INSERT … ON CONFLICT DO UPDATE SET n = n +
        excluded.n``, cells in sorted order, after everything else: every lead row this
        unit changed is locked before any counter row, and counter rows are always
        locked in the same global order, so units of work cannot deadlock on them (R3,
        R11: concurrent claims and sweeps).

        With a held update and short inserts, update, inserts and counters are one
        prepared statement (:meth:`_commit_folded`), then ``COMMIT`` if the unit has
        begun a transaction; if not, that statement is the transaction. Otherwise the
        updates (if any) are sent first (:meth:`_send_updates`) and the inserts and
        counters go with the ``COMMIT`` in one pipeline, costing no round trip of their
        own (:meth:`~qleads.adapters.sql.driver.DriverConnection.run_pipeline`); if a
        statement fails, the server skips the rest, ``COMMIT`` included, and the error
        is raised as usual."""
        updates, self._held_updates = self._held_updates, []
        held, self._held = self._held, []
        deltas, self._deltas = self._deltas, {}
        cells = sorted(item for item in deltas.items() if item[1])
        if cells:
            held.append(
                _Insert(
                    "qleads_lead_count",
                    self._statements.bump_row,
                    [
                        (territory, status, held_cell, delta)
                        for (territory, status, held_cell), delta in cells
                    ],
                )
            )
        if len(updates) == 1 and all(len(insert.rows) <= CACHED_ROWS for insert in held):
            self._commit_folded(updates[0], held)
            return
        if updates:
            self._send_updates(self._open(), updates)
        if held:
            db = self._open()
            begin = self._state != _WRITING
            self._state = _IDLE
            in_rows = self._statements.in_rows
            db.run_pipeline(
                [batch for insert in held for batch in in_rows(insert.statement, insert.rows)],
                begin=begin,
                on_integrity=_refusal(held),
            )
            return
        self._end("COMMIT")

    def _commit_folded(self, update: _Update, held: Sequence[_Insert]) -> None:
        """The held update and inserts as one prepared statement, then ``COMMIT`` if a
        transaction is open: a claim's last round trip (see :meth:`Statements.folded`)."""
        statement = self._statements.folded(
            update.statement, [(i.table, i.statement, len(i.rows)) for i in held]
        )
        params = list(update.params)
        for insert in held:
            for row in insert.rows:
                params.extend(row)
        db = self._open()
        if db.run(statement, params, _refusal(held)).fetchone()[0] != 1:
            self._lost(db, update)
        self._end("COMMIT")

    def _send_held_update(self, db: DriverConnection) -> None:
        """Send the held-back updates now: a statement that may depend on them follows."""
        updates, self._held_updates = self._held_updates, []
        if updates:
            self._send_updates(db, updates)

    def _send_updates(self, db: DriverConnection, updates: Sequence[_Update]) -> None:
        """Several conditional updates (a sweep's batch): one ``executemany`` per distinct
        statement, which psycopg pipelines, instead of a round trip each. Their row
        counts add up; if they fall short, the batch goes back to a savepoint taken
        before it and the updates run again one by one, so that the one that lost is
        named (:meth:`_lost`) and raised."""
        if len(updates) == 1:
            self._send_update(db, updates[0])
            return
        self._begin(db)
        groups: dict[str, list[_Update]] = {}
        for update in updates:
            groups.setdefault(update.statement, []).append(update)
        db.run("SAVEPOINT qleads_batch", ())
        for statement, group in groups.items():
            db.run_many(statement, [update.params for update in group])
            if db.rowcount != len(group):
                db.run("ROLLBACK TO SAVEPOINT qleads_batch", ())
                for update in updates:
                    self._send_update(db, update)
                raise StaleUpdate(updates[0].lead_id, updates[0].expected_version)

    def _send_update(self, db: DriverConnection, update: _Update) -> None:
        self._begin(db)
        if db.run(update.statement, update.params).rowcount != 1:
            self._lost(db, update)

    def _lost(self, db: DriverConnection, update: _Update) -> NoReturn:
        """The conditional update changed nothing: the lead is gone or has moved on."""
        if db.run(self._statements.version_of, (update.lead_id,)).fetchone() is None:
            raise LeadNotFound(update.lead_id)
        raise StaleUpdate(update.lead_id, update.expected_version)

    def rollback(self) -> None:
        self._deltas = {}
        self._held = []
        self._held_updates = []
        self._end("ROLLBACK")

    def _send_held(self) -> None:
        """Send the held-back inserts now: a read of the history follows."""
        db = self._for_writing()
        held, self._held = self._held, []
        for insert in held:
            db.run_many(insert.statement, insert.rows, insert.on_integrity)

    def _insert(
        self,
        table: str,
        statement: str,
        rows: Sequence[Sequence[Any]],
        on_integrity: OnIntegrity | None = None,
    ) -> None:
        """Rows that decide nothing: SQLite writes them at once, PostgreSQL holds them
        back for the unit's next read of them or its commit (see the class docstring)."""
        db = self._for_writing(holding=True)
        if self._sqlite:
            db.run_many(statement, rows, on_integrity)
        else:
            self._held.append(_Insert(table, statement, rows, on_integrity))

    def _count(self, before: Cell | None, after: Cell) -> None:
        # On SQLite the triggers of migration 0004 keep the counters.
        if self._sqlite or before == after:
            return
        deltas = self._deltas
        if before is not None:
            deltas[before] = deltas.get(before, 0) - 1
        deltas[after] = deltas.get(after, 0) + 1

    # --- plumbing ----------------------------------------------------------------------

    def _end(self, how: str) -> None:
        db = self._open()
        state, self._state = self._state, _IDLE
        if not self._sqlite or state != _IDLE:
            db.end(how)

    def _open(self) -> DriverConnection:
        connection = self._connection
        if connection is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return connection

    def _for_reading(self) -> DriverConnection:
        """The connection, inside a transaction (SQLite: a deferred one, if none is
        open), with a held-back update sent: what follows may read its row."""
        db = self._open()
        self._send_held_update(db)
        if self._state == _IDLE and self._sqlite:
            if self._writing:
                return self._for_writing()
            db.run("BEGIN", ())
            self._state = _READING
        # PostgreSQL outside a transaction: the read is a statement of its own.
        return db

    def _for_writing(self, *, holding: bool = False) -> DriverConnection:
        """The connection, inside a write transaction. On SQLite a read transaction is
        ended first (it holds nothing worth keeping: every write is conditional) and a
        ``BEGIN IMMEDIATE`` one starts, which waits for other writers on the busy
        timeout instead of failing. On PostgreSQL a held-back update is sent and the
        transaction begun, unless the caller only holds back more (``holding``): then
        nothing is sent yet, and the commit may need no transaction at all."""
        db = self._open()
        if not self._sqlite:
            if not holding:
                self._send_held_update(db)
                self._begin(db)
            return db
        if self._state != _WRITING:
            if self._state == _READING:
                self._state = _IDLE
                db.run("COMMIT", ())
            db.run("BEGIN IMMEDIATE", ())
            self._state = _WRITING
        return db

    def _begin(self, db: DriverConnection) -> None:
        """PostgreSQL: open the transaction, if this unit has not yet, before a write
        that does not wait for the commit or a read that locks."""
        if self._state != _WRITING and not self._sqlite:
            db.run("BEGIN", ())
            self._state = _WRITING

    # --- the port ------------------------------------------------------------------------

    def add(self, draft: Lead) -> Lead:
        statements = self._statements
        codec = self._codec
        params = [
            draft.source_id,
            *codec.document_params(draft.document),
            *codec.state_params(draft),
        ]
        if self._sqlite:
            db = self._for_writing()
            row = db.run(statements.add, params).fetchone()
        else:
            db = self._for_writing(holding=True)
            self._send_held_update(db)
            if self._state == _WRITING:
                row = db.run(statements.add, params).fetchone()
            else:
                # The unit's first write: its BEGIN goes with it (an intake's first round
                # trip; the rest goes with the COMMIT).
                row = db.run_begun(statements.add, params).fetchone()
                self._state = _WRITING
        if row is None:
            owner = db.run(statements.source_owner, (draft.source_id,)).fetchone()
            raise IntakeConflict(draft.source_id, int(owner[0]) if owner is not None else 0)
        lead = attrs.evolve(draft, id=int(row[0]))
        self._count(None, counter_cell(lead))
        if lead.previous_holders:
            db.run_many(
                statements.add_handled,
                [(lead.id, i) for i in sorted(lead.previous_holders)],
            )
        self._seen[lead.id] = lead
        return lead

    def get(self, lead_id: int) -> Lead:
        db = self._for_reading()
        row = db.run(self._statements.get, (lead_id,)).fetchone()
        if row is None:
            raise LeadNotFound(lead_id)
        lead = self._codec.lead(row)
        self._seen[lead.id] = lead
        return lead

    def get_by_source(self, source_id: str) -> Lead | None:
        db = self._for_reading()
        row = db.run(self._statements.get_by_source, (source_id,)).fetchone()
        if row is None:
            return None
        lead = self._codec.lead(row)
        self._seen[lead.id] = lead
        return lead

    def update(self, lead: Lead, *, expected_version: int) -> None:
        """One conditional ``UPDATE``: its row count is the whole concurrency control
        (R3, R11). The document is rewritten only if it is not the one this unit read."""
        if lead.version != expected_version + 1:
            raise StaleUpdate(lead.id, expected_version)
        db = self._for_writing(holding=True)
        statements = self._statements
        seen = self._seen.get(lead.id)
        if seen is not None and seen.version != expected_version:
            seen = None  # read by this unit, but another version: as good as unread
        before: Cell | None = None
        if self._sqlite:
            pass  # triggers count (migration 0004); the conditional update decides alone
        elif seen is not None:
            before = counter_cell(seen)
        else:
            # Not read by this unit: read the counted cell first, locking the row so that
            # the update below cannot lose.
            self._send_held_update(db)  # other leads' updates go first, in order
            self._begin(db)
            cell = db.run(statements.cell_of, (lead.id, expected_version)).fetchone()
            if cell is None:
                if db.run(statements.version_of, (lead.id,)).fetchone() is None:
                    raise LeadNotFound(lead.id)
                raise StaleUpdate(lead.id, expected_version)
            before = (
                UNROUTED if cell[0] is None else cell[0],
                cell[1],
                0 if cell[2] is None else 1,
            )
        codec = self._codec
        if seen is not None and seen.document is lead.document:
            columns, params = codec.changes(seen, lead)
            statement = statements.update_of(columns)
        else:
            params = codec.state_params(lead)
            statement = statements.update_all
            params.extend(codec.document_params(lead.document))
        params.append(lead.id)
        params.append(expected_version)
        update = _Update(statement, params, lead.id, expected_version)
        if not self._sqlite and seen is not None and seen.previous_holders <= lead.previous_holders:
            # Hold the update back until the next statement; at the commit it goes with
            # the inserts (see the class docstring), and the holders it adds (R2c) with
            # them: inserts the update decides, like its event's.
            self._held_updates.append(update)
            added = sorted(lead.previous_holders - seen.previous_holders)
            if added:
                self._held.append(
                    _Insert(
                        "qleads_lead_handled",
                        statements.add_handled,
                        [(lead.id, i) for i in added],
                    )
                )
        else:
            self._send_held_update(db)
            self._send_update(db, update)
            self._sync_handled(db, lead, seen.previous_holders if seen is not None else None)
        if before is not None:
            self._count(before, counter_cell(lead))
        self._seen[lead.id] = lead

    def _sync_handled(
        self, db: DriverConnection, lead: Lead, before: frozenset[str] | None
    ) -> None:
        """Keep ``qleads_lead_handled`` equal to ``previous_holders`` (R2c)."""
        now = lead.previous_holders
        if before is not None and before == now:
            return
        statements = self._statements
        p = statements.p
        if before is None:
            kept = sorted(now)
            db.run(
                f"DELETE FROM qleads_lead_handled WHERE lead_id = {p} AND "  # noqa: S608
                + statements.among("installer_id", len(kept), negate=True),
                [lead.id, *statements.ids(kept)],
            )
            added = now
        else:
            removed = sorted(before - now)
            if removed:
                db.run(
                    f"DELETE FROM qleads_lead_handled WHERE lead_id = {p} AND "  # noqa: S608
                    + statements.among("installer_id", len(removed)),
                    [lead.id, *statements.ids(removed)],
                )
            added = now - before
        if added:
            db.run_many(statements.add_handled, [(lead.id, i) for i in sorted(added)])

    def append(self, events: Sequence[HistoryEvent]) -> None:
        if not events:
            return

        def refused(error: sa_exc.IntegrityError) -> QleadsError:
            first = events[0]
            if integrity_kind(error) == "foreign_key":
                return LeadNotFound(first.lead_id)
            # Another writer already produced this version of the lead.
            return StaleUpdate(first.lead_id, first.version - 1)

        rows = self._codec.event_rows(events)
        self._insert("qleads_event", self._statements.append, rows, refused)

    def history(self, lead_id: int) -> list[HistoryEvent]:
        if self._held:
            self._send_held()
        db = self._for_reading()
        return self._codec.events(db.run(self._statements.history, (lead_id,)).fetchall())

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        rows = self._codec.notification_rows(notifications)
        self._insert("qleads_outbox", self._statements.enqueue, rows)

    def record_access(self, records: Sequence[AccessRecord]) -> None:
        """R14's records of what the change returns, in the change's transaction
        (:class:`~qleads.personal_data_ports.RecordsAccessInUnit`): on PostgreSQL held
        back with the other inserts, so a claim still costs its two round trips."""
        if not records:
            return
        rows = self._codec.access_rows(records)
        self._insert("qleads_access_log", self._statements.record_access, rows)

    def append_access(self, records: Sequence[AccessRecord]) -> None:
        """R14's records of what this unit read, appended at once on its connection
        (:class:`~qleads.personal_data_ports.AppendsAccessInUnit`): a SQLite read
        transaction is ended first; the records commit on their own."""
        if not records:
            return
        if self._writing or self._state == _WRITING or self._held or self._held_updates:
            raise RuntimeError("a unit that writes records access with its change")
        db = self._open()
        if self._state == _READING:
            self._state = _IDLE
            db.run("COMMIT", ())
        self._access_log.append_on(db, records)

    def due(self, now: dt.datetime, limit: int) -> list[Lead]:
        """Locks what it returns (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
        write lock of ``BEGIN IMMEDIATE``), so parallel sweeps share the due leads."""
        if limit < 1:
            return []
        db = self._for_writing()
        codec = self._codec
        rows = db.run(self._statements.due, (codec.instant_in(now), limit)).fetchall()
        lead_of = codec.lead
        leads = [lead_of(row) for row in rows]
        for lead in leads:
            self._seen[lead.id] = lead
        return leads

    # --- duplicates and decline reasons (qleads.adapters.sql.duplicate_sql) ------------

    def add_match_keys(self, lead_id: int, keys: Sequence[str], received_at: dt.datetime) -> None:
        if not keys:
            return
        at = self._codec.instant_in(received_at)

        def refused(error: sa_exc.IntegrityError) -> QleadsError:
            return LeadNotFound(lead_id)

        # Held back with the events and notices on PostgreSQL: :meth:`matching`, their one
        # reader, sends them first.
        rows = [(lead_id, key, at) for key in keys]
        self._insert("qleads_match_key", self._duplicates.add_key, rows, refused)

    def matching(self, keys: Sequence[str], since: dt.datetime) -> list[int]:
        if not keys:
            return []
        if self._held:
            self._send_held()
        db = self._for_reading()
        statement = self._duplicates.matching(len(keys))
        rows = db.run(statement, (*keys, self._codec.instant_in(since))).fetchall()
        return [int(row[0]) for row in rows]

    def clear_match_keys(self, lead_id: int) -> None:
        if self._held:
            self._send_held()  # keys this unit added, before they are cleared
        self._for_writing().run(self._duplicates.clear_keys, (lead_id,))

    def link_duplicate(self, lead_id: int, original_id: int) -> None:
        db = self._for_writing()

        def refused(error: sa_exc.IntegrityError) -> QleadsError:
            return LeadNotFound(original_id)

        db.run(self._duplicates.link, (lead_id, original_id), on_integrity=refused)

    def unlink_duplicate(self, lead_id: int) -> None:
        self._for_writing().run(self._duplicates.unlink, (lead_id,))

    def duplicate_of(self, lead_id: int) -> int | None:
        row = self._for_reading().run(self._duplicates.original, (lead_id,)).fetchone()
        return int(row[0]) if row is not None else None

    def duplicates_of(self, original_id: int) -> list[int]:
        rows = self._for_reading().run(self._duplicates.copies, (original_id,)).fetchall()
        return [int(row[0]) for row in rows]

    def release_reason_counts(
        self, territory_ids: frozenset[str] | None, since: dt.datetime | None
    ) -> dict[ReleaseReason | None, int]:
        if self._held:
            self._send_held()
        db = self._for_reading()
        territories = sorted(territory_ids) if territory_ids is not None else None
        statement = self._duplicates.reason_counts(territories, since is not None)
        params: list[Any] = list(territories or ())
        if since is not None:
            params.append(self._codec.instant_in(since))
        rows = db.run(statement, params).fetchall()
        return {
            (ReleaseReason(row[0]) if row[0] is not None else None): int(row[1]) for row in rows
        }


_DUPLICATE_STATEMENTS: Final = {
    postgres: DuplicateStatements(postgres=postgres) for postgres in (False, True)
}
