"""Deprecated home of the SQL adapter, kept for one release: it moved to the package
:mod:`qleads.adapters.sql` (one module per concern), and this module only re-exports its
names. Importing it warns (:class:`DeprecationWarning`); it goes in qleads 0.3.
"""

import warnings

from qleads.adapters.sql.codec import NOTIFICATION_COLUMNS, notification_from_row
from qleads.adapters.sql.directory import SqlAlchemyDirectory, hash_token
from qleads.adapters.sql.engine import (
    make_engine,
    prepare_engine,
    read_connection,
    write_transaction,
)
from qleads.adapters.sql.errors import storage_errors
from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
from qleads.adapters.sql.schema import (
    ALEMBIC_VERSION_TABLE,
    DIALECT_INDEXES,
    RECOUNT_SQL,
    UNROUTED,
    UtcDateTime,
    admin_table,
    event_table,
    handled_table,
    installer_table,
    lead_count_table,
    lead_table,
    metadata,
    outbox_table,
    rep_table,
    source_table,
    territory_prefix_table,
    territory_table,
)
from qleads.adapters.sql.territory_cache import TERRITORY_CACHE_SECONDS
from qleads.adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from qleads.adapters.sql.wal import stop_checkpoints

__all__ = [
    "ALEMBIC_VERSION_TABLE",
    "DIALECT_INDEXES",
    "NOTIFICATION_COLUMNS",
    "RECOUNT_SQL",
    "TERRITORY_CACHE_SECONDS",
    "UNROUTED",
    "SqlAlchemyDirectory",
    "SqlAlchemyLeadRepository",
    "SqlAlchemyUnitOfWork",
    "UtcDateTime",
    "admin_table",
    "event_table",
    "handled_table",
    "hash_token",
    "installer_table",
    "lead_count_table",
    "lead_table",
    "make_engine",
    "metadata",
    "notification_from_row",
    "outbox_table",
    "prepare_engine",
    "read_connection",
    "rep_table",
    "source_table",
    "stop_checkpoints",
    "storage_errors",
    "territory_prefix_table",
    "territory_table",
    "write_transaction",
]

warnings.warn(
    "qleads.adapters.sqlalchemy is deprecated and goes in qleads 0.3: import from "
    "qleads.adapters.sql (SqlAlchemyLeadRepository, SqlAlchemyDirectory, make_engine) "
    "and its modules (the tables from qleads.adapters.sql.schema)",
    DeprecationWarning,
    stacklevel=2,
)
