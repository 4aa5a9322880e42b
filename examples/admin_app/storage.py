"""The portal's storage: qleads' SQL adapters on one engine.

One engine serves the lead repository, the directory, the outbox and the portal's own
tables, so an SQLite file or a PostgreSQL database holds the whole portal.
"""

from __future__ import annotations

import attrs
from sqlalchemy import Engine

from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository
from qleads.adapters.sql.outbox import SqlAlchemyOutbox

__all__ = ["Storage", "open_storage"]


@attrs.frozen
class Storage:
    engine: Engine
    repository: SqlAlchemyLeadRepository
    directory: SqlAlchemyDirectory
    outbox: SqlAlchemyOutbox


def open_storage(engine: Engine) -> Storage:
    """Wrap ``engine`` (from ``qleads.adapters.sql.make_engine``); the schema is
    :mod:`examples.admin_app.migrations`' business."""
    repository = SqlAlchemyLeadRepository(engine)
    return Storage(
        engine=engine,
        repository=repository,
        directory=SqlAlchemyDirectory(engine),
        outbox=SqlAlchemyOutbox(repository),
    )
