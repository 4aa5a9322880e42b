"""qleads' schema migrations (Alembic), shipped inside the package.

Users need no ``alembic.ini``: :func:`upgrade` builds the configuration in code, pointing
Alembic at this directory, and ``qleads db upgrade URL`` calls it. The history lives in
``qleads_alembic_version``, so a portal's own Alembic history can share the database.
The migrations know only the schema and how to make an engine
(:mod:`qleads.adapters.sql.schema`, :mod:`qleads.adapters.sql.engine`), never the
adapters that use them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import attrs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from qleads.adapters.sql.engine import WRITE_OPTION, make_engine
from qleads.adapters.sql.schema import ALEMBIC_VERSION_TABLE
from qleads.errors import StorageError

__all__ = ["Upgrade", "alembic_config", "current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).resolve().parent
#: Alembic's ``context`` is process-global: one migration run at a time per process.
_RUN_LOCK = threading.Lock()


@attrs.frozen
class Upgrade:
    """What :func:`upgrade` did: the revision it found (``None``: no qleads tables yet)
    and the one it left. Equal when the database was current."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for qleads' migrations (no ini file involved)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_table", ALEMBIC_VERSION_TABLE)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration this version of qleads ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError("qleads ships no migrations")
    return head


def current_revision(target: Engine | str | sa.URL) -> str | None:
    """The revision a database is at, ``None`` for one qleads never touched."""
    engine, owned = _engine(target)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": ALEMBIC_VERSION_TABLE}
            )
            return context.get_current_revision()
    except sa_exc.SQLAlchemyError as e:
        raise StorageError(f"cannot read the schema revision: {_reason(e)}") from e
    finally:
        if owned:
            engine.dispose()


def upgrade(target: Engine | str | sa.URL, revision: str = "head") -> Upgrade:
    """Create or upgrade qleads' tables to ``revision``.

    Safe to run on every deployment and from several instances at once (SQLite: the
    write lock; PostgreSQL: an advisory lock; threads of one process: a lock), and a
    no-op on a current database.
    """
    engine, owned = _engine(target)
    try:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            config = alembic_config()
            config.attributes["connection"] = connection
            with _RUN_LOCK:
                command.upgrade(config, revision)
            connection.commit()
            reached = Upgrade(
                before=config.attributes.get("qleads_before"),
                after=MigrationContext.configure(
                    connection, opts={"version_table": ALEMBIC_VERSION_TABLE}
                ).get_current_revision(),
            )
    except sa_exc.SQLAlchemyError as e:
        raise StorageError(f"cannot upgrade the database: {_reason(e)}") from e
    finally:
        if owned:
            engine.dispose()
    return reached


def _engine(target: Engine | str | sa.URL) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return make_engine(target, poolclass=NullPool, checkpoint_interval=None), True


def _reason(error: sa_exc.SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's background link."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
