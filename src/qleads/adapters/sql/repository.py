"""The lead repository on SQL (the :class:`~qleads.ports.LeadRepository` port): what one
process shares for all its units of work, and the maintenance around them (schema
upgrade, recount, the statements of a tab for ``EXPLAIN``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from qleads.adapters.sql.access_log import SqlAlchemyAccessLog
from qleads.adapters.sql.codec import NOTIFICATION_COLUMNS, RowCodec, notification_from_row
from qleads.adapters.sql.engine import (
    make_engine,
    prepare_engine,
    read_connection,
    write_transaction,
)
from qleads.adapters.sql.limits_sql import LimitsSql
from qleads.adapters.sql.personal_data import SqlAlchemyPersonalData
from qleads.adapters.sql.schema import RECOUNT_SQL, outbox_table
from qleads.adapters.sql.statements import Statements
from qleads.adapters.sql.tab_scopes import ScopedTabSql
from qleads.adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from qleads.adapters.sql.wal import stop_checkpoints
from qleads.model import Notification
from qleads.tabs import LeadQuery

__all__ = ["SqlAlchemyLeadRepository"]


class SqlAlchemyLeadRepository:
    """The :class:`~qleads.ports.LeadRepository` on a SQL database.

    Share one instance per process (it is thread-safe; every unit of work takes its own
    pooled connection). For 100 concurrent threads, give the engine a pool that large
    (``pool_size``/``max_overflow``) or ``poolclass=NullPool``. ``document_cache_size``
    lead documents are kept parsed (see :class:`~qleads.adapters.sql.codec.RowCodec`).
    """

    def __init__(self, engine: Engine, *, document_cache_size: int = 4096) -> None:
        prepare_engine(engine)
        self.engine = engine
        self._owns_engine = False
        postgres = engine.dialect.name == "postgresql"
        self._statements = Statements(engine.dialect)
        self._tabs = ScopedTabSql(postgres=postgres)
        self._codec = RowCodec(postgres=postgres, document_cache_size=document_cache_size)
        self._limits = LimitsSql(postgres=postgres)
        #: R14: the access log and the storage side of export, erasure and retention.
        self.access_log = SqlAlchemyAccessLog(engine)
        self.personal_data = SqlAlchemyPersonalData(
            engine, self, forget=self._codec.forget_documents
        )

    @classmethod
    def from_url(cls, url: str | sa.URL, **engine_kwargs: Any) -> Self:
        """A repository on its own engine (see
        :func:`~qleads.adapters.sql.engine.make_engine`); :meth:`close` disposes of the
        engine."""
        repository = cls(make_engine(url, **engine_kwargs))
        repository._owns_engine = True
        return repository

    def upgrade_schema(self) -> None:
        """Create or upgrade the tables (the Alembic migrations, as ``qleads db upgrade``)."""
        from qleads.adapters.sql.migrations import upgrade

        upgrade(self.engine)

    def unit_of_work(self, *, writing: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self.engine,
            self._statements,
            self._tabs,
            self._codec,
            writing=writing,
            limits=self._limits,
            access_log=self.access_log,
        )

    def close(self) -> None:
        """Release pooled connections and stop the checkpoint thread (only of an engine
        made by :meth:`from_url`)."""
        if self._owns_engine:
            stop_checkpoints(self.engine)
            self.engine.dispose()

    def tab_statement(self, query: LeadQuery) -> tuple[str, Sequence[Any]]:
        """The SQL text and DB-API parameters :meth:`SqlAlchemyUnitOfWork.find` sends
        for ``query`` (for ``EXPLAIN`` and the docs; datetimes play no part in it)."""
        return self._tabs.tab(query)

    def counts_statement(self, queries: Sequence[LeadQuery]) -> tuple[str, Sequence[Any]]:
        """The SQL text and DB-API parameters :meth:`SqlAlchemyUnitOfWork.counts` sends
        for ``queries`` (each with at least one clause)."""
        return self._tabs.totals(queries)

    def recount(self) -> None:
        """Rebuild ``qleads_lead_count`` from the lead table.

        On PostgreSQL the unit of work keeps the counters itself, so this is for leads
        written around it (a bulk load, hand-written SQL); on SQLite triggers keep them
        whoever writes, and this only repairs counters edited by hand. It holds the
        write lock while it counts (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
        ``SHARE ROW EXCLUSIVE`` on ``qleads_lead``, which waits for and then blocks
        every writer), so no unit of work commits a change the new counters would
        miss."""
        with write_transaction(self.engine) as conn:
            if self._statements.postgres:
                conn.exec_driver_sql("LOCK TABLE qleads_lead IN SHARE ROW EXCLUSIVE MODE")
            conn.exec_driver_sql("DELETE FROM qleads_lead_count")
            conn.exec_driver_sql(RECOUNT_SQL)

    def notifications(self) -> list[Notification]:
        """Every committed outbox record, oldest first, whatever its delivery state (the
        same reading side as ``InMemoryLeadRepository.notifications``)."""
        statement = (
            sa.select(*NOTIFICATION_COLUMNS)
            .where(outbox_table.c.lead_id.is_not(None))  # not an embedder's message
            .order_by(outbox_table.c.id)
        )
        with read_connection(self.engine) as conn:
            rows = conn.execute(statement).all()
        return [notification_from_row(r) for r in rows]
