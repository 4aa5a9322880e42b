"""The access log (R14) on SQL: ``qleads_access_log``, append-only.

Rows are inserted and read. The table's triggers (migration 0010) refuse every
``UPDATE`` and ``DELETE`` but the retention purge's, which :meth:`SqlAlchemyAccessLog.purge`
makes by writing its cutoff into ``qleads_access_purge``, deleting and clearing the
cutoff again, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.driver import DriverConnection
from qleads.adapters.sql.engine import read_connection, write_transaction
from qleads.adapters.sql.schema import ACCESS_PURGE_ROW, access_log_table, access_purge_table
from qleads.adapters.sql.statements import ACCESS_COLUMNS
from qleads.personal_data import AccessKind, AccessQuery, AccessRecord

__all__ = ["SqlAlchemyAccessLog"]

_LOG = access_log_table
_KINDS = {kind.value: kind for kind in AccessKind}


def _record(row: Any) -> AccessRecord:
    return AccessRecord(
        user_id=row.user_id,
        role=row.role,
        lead_id=row.lead_id,
        kind=_KINDS[row.kind],
        at=row.at,
        territory_id=row.territory_id,
        holder_id=row.holder_id,
        client=row.client,
        id=row.id,
    )


#: SQLite: rows per ``INSERT`` of :meth:`SqlAlchemyAccessLog.append`, a page's rows (50,
#: or 500 at most) in one statement or a few.
_ROWS_PER_INSERT: Final = 100
_COLUMNS: Final = ", ".join(ACCESS_COLUMNS)
#: PostgreSQL: any number of records in one statement of one text, each column an
#: array. psycopg parses the parameter marks of a statement with more than 50 parameters
#: (a multi-row ``VALUES`` of seven records) on every execution, and the server plans
#: each new text; this one is parsed once and prepared.
_UNNEST_INSERT: Final = (
    f"INSERT INTO qleads_access_log ({_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
    "%s::timestamptz[], %s::varchar[], %s::varchar[], %s::bigint[], %s::varchar[], "
    "%s::varchar[], %s::varchar[], %s::varchar[])"
)


class SqlAlchemyAccessLog:
    """Implements :class:`~qleads.personal_data_ports.AccessLog` on ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        postgres = engine.dialect.name == "postgresql"
        self._postgres = postgres
        self._codec = RowCodec(postgres=postgres, document_cache_size=0)
        mark = "%s" if postgres else "?"
        self._row = f"({', '.join(mark for _ in ACCESS_COLUMNS)})"
        self._inserts: dict[int, str] = {}

    def _insert(self, count: int) -> str:
        text = self._inserts.get(count)
        if text is None:
            values = ", ".join(self._row for _ in range(count))
            text = f"INSERT INTO qleads_access_log ({_COLUMNS}) VALUES {values}"  # noqa: S608
            self._inserts[count] = text
        return text

    def append(self, records: Sequence[AccessRecord]) -> None:
        """One ``INSERT`` straight through the driver (every read of a page appends
        its rows before the page goes out: R14), atomic on its own; on SQLite more than
        a hundred records go in one transaction (:meth:`append_on`)."""
        if not records:
            return
        db = DriverConnection(self._engine)
        failed = True
        try:
            self.append_on(db, records)
            failed = False
        finally:
            db.release(failed=failed)

    def append_on(self, db: DriverConnection, records: Sequence[AccessRecord]) -> None:
        """:meth:`append` on a connection outside any transaction (a unit of work's
        that has only read: :class:`~qleads.personal_data_ports.AppendsAccessInUnit`).

        On PostgreSQL every record goes in one statement (:data:`_UNNEST_INSERT`). A
        single statement needs no transaction around it. Inside one, SQLite keeps a
        statement journal for a multi-row ``INSERT`` (to undo the statement alone),
        which costs more than the insert: so only more than a hundred rows get a
        transaction."""
        if not records:
            return
        if self._postgres:
            rows = self._codec.access_rows(records)
            db.run(_UNNEST_INSERT, [list(column) for column in zip(*rows, strict=True)])
            return
        chunks = [
            records[start : start + _ROWS_PER_INSERT]
            for start in range(0, len(records), _ROWS_PER_INSERT)
        ]
        if len(chunks) > 1:
            db.run("BEGIN" if self._postgres else "BEGIN IMMEDIATE", ())
        for chunk in chunks:
            params = [value for row in self._codec.access_rows(chunk) for value in row]
            db.run(self._insert(len(chunk)), params)
        if len(chunks) > 1:
            db.end("COMMIT")

    def records(self, query: AccessQuery) -> list[AccessRecord]:
        conditions: list[sa.ColumnElement[bool]] = []
        if query.lead_id is not None:
            conditions.append(_LOG.c.lead_id == query.lead_id)
        if query.user_id is not None:
            conditions.append(_LOG.c.user_id == query.user_id)
        if query.since is not None:
            conditions.append(_LOG.c.at >= query.since)
        if query.until is not None:
            conditions.append(_LOG.c.at < query.until)
        if query.territory_ids is not None:
            conditions.append(_LOG.c.territory_id.in_(sorted(query.territory_ids)))
        if query.holder_id is not None:
            conditions.append(_LOG.c.holder_id == query.holder_id)
        statement = (
            sa.select(_LOG)
            .where(sa.and_(sa.true(), *conditions))
            .order_by(_LOG.c.at.desc(), _LOG.c.id.desc())
            .limit(query.limit)
        )
        with read_connection(self._engine) as conn:
            return [_record(row) for row in conn.execute(statement)]

    def count_before(self, before: dt.datetime) -> int:
        statement = sa.select(sa.func.count()).select_from(_LOG).where(_LOG.c.at < before)
        with read_connection(self._engine) as conn:
            return int(conn.execute(statement).scalar_one())

    def purge(self, before: dt.datetime) -> int:
        permit = access_purge_table
        with write_transaction(self._engine) as conn:
            set_permit = permit.update().where(permit.c.id == ACCESS_PURGE_ROW)
            if conn.execute(set_permit.values(cutoff=before)).rowcount == 0:
                conn.execute(permit.insert().values(id=ACCESS_PURGE_ROW, cutoff=before))
            purged = conn.execute(_LOG.delete().where(_LOG.c.at < before)).rowcount
            conn.execute(set_permit.values(cutoff=None))
        return int(purged)
