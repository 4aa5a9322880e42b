"""The Alembic environment of qleads' own tables, run by :func:`upgrade` of this package.

Migrations run on the connection the caller hands over in ``config.attributes["connection"]``
(so SQLite gets qleads' ``BEGIN IMMEDIATE`` handling and DDL is transactional), or on a
fresh engine for ``sqlalchemy.url``. Only ``qleads_*`` tables are compared and touched: a
portal's own tables in the same database are none of qleads' business, and qleads keeps
its history in ``qleads_alembic_version`` next to whatever the portal uses.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import SchemaItem

from qleads.adapters.sql.engine import WRITE_OPTION, make_engine
from qleads.adapters.sql.schema import ALEMBIC_VERSION_TABLE, metadata

#: Any constant: the PostgreSQL advisory lock that serialises concurrent upgrades.
_UPGRADE_LOCK = 0x71_6C_65_61  # "qlea"


def _include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    if type_ == "table":
        return name is not None and name.startswith("qleads_") and name != ALEMBIC_VERSION_TABLE
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=ALEMBIC_VERSION_TABLE,
        include_object=_include_object,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two app instances upgrading at once: the second waits, then finds the
            # schema current.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
        # Read under the lock: what this run found, not what a concurrent one left.
        context.config.attributes["qleads_before"] = context.get_context().get_current_revision()
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=ALEMBIC_VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("qleads migrations need a connection or sqlalchemy.url")
    engine = make_engine(url, poolclass=NullPool, checkpoint_interval=None)
    try:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
