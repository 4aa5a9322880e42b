"""The Alembic environment of the portal's own tables (``portal_*``), run by
:func:`examples.admin_app.migrations.upgrade` on the connection it hands over. Only the
portal's tables are compared and touched; qleads' are the library's business."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.schema import SchemaItem

from examples.admin_app.migrations import VERSION_TABLE
from examples.admin_app.models import portal_metadata

#: The PostgreSQL advisory lock that serialises concurrent portal upgrades ("port").
_UPGRADE_LOCK = 0x70_6F_72_74


def _include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    if type_ == "table":
        return name is not None and name.startswith("portal_") and name != VERSION_TABLE
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=portal_metadata(),
        version_table=VERSION_TABLE,
        include_object=_include_object,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
        context.config.attributes["portal_before"] = context.get_context().get_current_revision()
        context.run_migrations()


given = context.config.attributes.get("connection")
if not isinstance(given, Connection):
    raise RuntimeError("the portal's migrations run on the connection upgrade() hands over")
_run(given)
