"""The access log (R14) on SQL: ``qleads_access_log``, append-only.

Rows are inserted and read. The table's triggers (migration 0010) refuse every
``UPDATE`` and ``DELETE`` but the retention purge's, which :meth:`SqlAlchemyAccessLog.purge`
makes by writing its cutoff into ``qleads_access_purge``, deleting and clearing the
cutoff again, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from qleads.adapters.sql.engine import read_connection, write_transaction
from qleads.adapters.sql.schema import ACCESS_PURGE_ROW, access_log_table, access_purge_table
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


class SqlAlchemyAccessLog:
    """Implements :class:`~qleads.personal_data_ports.AccessLog` on ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, records: Sequence[AccessRecord]) -> None:
        if not records:
            return
        rows = [
            {
                "at": r.at,
                "user_id": r.user_id,
                "role": r.role,
                "lead_id": r.lead_id,
                "kind": r.kind.value,
                "territory_id": r.territory_id,
                "holder_id": r.holder_id,
                "client": r.client,
            }
            for r in records
        ]
        with write_transaction(self._engine) as conn:
            conn.execute(_LOG.insert(), rows)

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
