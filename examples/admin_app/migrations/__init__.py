"""The portal's own schema migrations (Alembic): its users, reset links, settings and
demo mailbox.

They are a version tree of their own, next to qleads' and not inside it: the library
ships its migrations in its wheel and knows nothing of the portal (an embedder's portal
has other tables), so the portal keeps its history in :data:`VERSION_TABLE`
(``portal_alembic_version``) while qleads keeps its own in ``qleads_alembic_version``.
:func:`upgrade_all` runs both, the library's first (the portal's tables refer to its
actors by id only, never by foreign key, so the order is for the reader).

``flask --app examples.admin_app db upgrade`` runs it; so does ``create_app`` while
``QLEADS_AUTO_UPGRADE`` is on (the demo and the tests). Each run holds a lock: SQLite's
write lock, a PostgreSQL advisory lock, a process lock for threads.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import attrs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from qleads.adapters.sql import WRITE_OPTION
from qleads.adapters.sql.migrations import Upgrade
from qleads.adapters.sql.migrations import upgrade as upgrade_library

__all__ = [
    "VERSION_TABLE",
    "Upgrades",
    "alembic_config",
    "current_revision",
    "head_revision",
    "schema_is_current",
    "upgrade",
    "upgrade_all",
]

VERSION_TABLE = "portal_alembic_version"
_HERE = Path(__file__).resolve().parent
_RUN_LOCK = threading.Lock()


@attrs.frozen
class Upgrades:
    """What :func:`upgrade_all` did to each tree."""

    library: Upgrade
    portal: Upgrade


def alembic_config() -> Config:
    """The Alembic configuration of the portal's tree (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


@functools.cache
def head_revision() -> str:
    """The portal tree's newest revision (read from the scripts once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The portal tree's revision in the database (``None``: never upgraded)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Create or upgrade the portal's tables to ``revision``."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        config = alembic_config()
        config.attributes["connection"] = connection
        with _RUN_LOCK:
            command.upgrade(config, revision)
        connection.commit()
        after = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
    return Upgrade(before=config.attributes.get("portal_before"), after=after)


def upgrade_all(engine: Engine) -> Upgrades:
    """qleads' migrations, then the portal's."""
    return Upgrades(library=upgrade_library(engine), portal=upgrade(engine))


@functools.cache
def _library_head() -> str:
    from qleads.adapters.sql.migrations import head_revision as library_head

    return library_head()


def schema_is_current(engine: Engine) -> bool:
    """Whether both trees are at their head revisions (what ``/readyz`` checks)."""
    from qleads.adapters.sql.migrations import current_revision as library_revision

    return library_revision(engine) == _library_head() and current_revision(engine) == (
        head_revision()
    )
