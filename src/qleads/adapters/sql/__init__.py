"""SQL storage: the lead repository and the directory on SQLite or PostgreSQL.

Built on SQLAlchemy Core: the ``qleads_*`` tables (:mod:`~qleads.adapters.sql.schema`),
statements built once per repository, and an explicit row → :class:`~qleads.model.Lead`
mapping; the frozen domain classes stay unmapped. One module per concern:

* :mod:`~qleads.adapters.sql.schema`: tables, column types, indexes;
* :mod:`~qleads.adapters.sql.engine`: making and preparing engines, the write option,
  read and write transactions; :mod:`~qleads.adapters.sql.wal` (SQLite's checkpoint
  thread) and :mod:`~qleads.adapters.sql.liveness` (PostgreSQL's pooled connections);
* :mod:`~qleads.adapters.sql.errors`: driver errors as qleads errors;
* :mod:`~qleads.adapters.sql.codec`: rows ⇄ domain values;
* :mod:`~qleads.adapters.sql.statements` and :mod:`~qleads.adapters.sql.tab_sql`: the
  unit of work's SQL and the R8 page compiler (with the tab counters' cells,
  :mod:`~qleads.adapters.sql.counters`), sent through :mod:`~qleads.adapters.sql.driver`;
* :mod:`~qleads.adapters.sql.unit_of_work` (its page reads in
  :mod:`~qleads.adapters.sql.tab_reads`), :mod:`~qleads.adapters.sql.repository`,
  :mod:`~qleads.adapters.sql.directory` (with
  :mod:`~qleads.adapters.sql.territory_cache`, which keeps the territories and teams)
  and :mod:`~qleads.adapters.sql.outbox` (which needs the ``mail`` extra, so it is not
  imported here): the ports;
* :mod:`~qleads.adapters.sql.migrations`: the Alembic migrations
  (``qleads db upgrade URL``), which know only the schema and the engine.

Concurrency is carried by one rule of the ports: every change of a lead is one
conditional ``UPDATE … WHERE id = :id AND version = :expected`` whose row count decides
who won (R3, R4, R11). SQLite writers queue on ``BEGIN IMMEDIATE``; PostgreSQL runs at
READ COMMITTED and sweeps lock their leads ``FOR UPDATE SKIP LOCKED``. Tab pages and
counts (R8) cost the same at 10k and 1M leads: totals come from the counter table
``qleads_lead_count`` and pages from the top rows of each index range.
"""

from qleads.adapters.sql.directory import SqlAlchemyDirectory, hash_token
from qleads.adapters.sql.engine import WRITE_OPTION, make_engine, prepare_engine
from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
from qleads.adapters.sql.schema import metadata
from qleads.adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from qleads.adapters.sql.wal import stop_checkpoints

__all__ = [
    "WRITE_OPTION",
    "SqlAlchemyDirectory",
    "SqlAlchemyLeadRepository",
    "SqlAlchemyUnitOfWork",
    "hash_token",
    "make_engine",
    "metadata",
    "prepare_engine",
    "stop_checkpoints",
]
