"""The SQL adapter's former import paths keep working for one release: each re-exports
the names it had from :mod:`qleads.adapters.sql` and warns, at the importer's own line,
that it goes in qleads 0.3."""

from __future__ import annotations

import sys
import warnings

import pytest

import qleads.adapters.sql as sql
import qleads.adapters.sql.liveness as new_liveness
import qleads.adapters.sql.migrations as new_migrations
import qleads.adapters.sql.outbox as new_outbox
import qleads.adapters.sql.schema as schema
import qleads.adapters.sql.wal as wal

#: Each former module, a name it exports and that name's object in its new home.
FORMER = [
    ("qleads.adapters.sqlalchemy", "SqlAlchemyLeadRepository", sql.SqlAlchemyLeadRepository),
    ("qleads.adapters.sqlalchemy_outbox", "SqlAlchemyOutbox", new_outbox.SqlAlchemyOutbox),
    ("qleads.adapters.checkpoint", "WalCheckpointer", wal.WalCheckpointer),
    ("qleads.adapters.liveness", "check_connections", new_liveness.check_connections),
    ("qleads.adapters.migrations", "upgrade", new_migrations.upgrade),
]

#: The tables ``qleads.adapters.sqlalchemy`` named when the adapter moved.
FORMER_TABLES = {
    "admin_table",
    "event_table",
    "handled_table",
    "installer_table",
    "lead_count_table",
    "lead_table",
    "outbox_table",
    "rep_table",
    "source_table",
    "territory_prefix_table",
    "territory_table",
}


@pytest.mark.parametrize(("module", "name", "moved"), FORMER)
def test_a_former_path_still_imports_and_warns_at_the_importers_line(
    module: str, name: str, moved: object
) -> None:
    sys.modules.pop(module, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        former = __import__(module, fromlist=["__all__"])
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1, [str(w.message) for w in caught]
    assert str(deprecations[0].message).startswith(f"{module} is deprecated")
    assert "qleads.adapters.sql" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__
    assert getattr(former, name) is moved
    assert all(hasattr(former, exported) for exported in former.__all__)


def test_the_former_sql_module_still_names_every_table() -> None:
    """A portal that mapped its read models onto the tables through the old path keeps
    the very same ``Table`` objects (one ``MetaData``)."""
    sys.modules.pop("qleads.adapters.sqlalchemy", None)
    with pytest.warns(DeprecationWarning, match="qleads.adapters.sqlalchemy is deprecated"):
        import qleads.adapters.sqlalchemy as former
    tables = [name for name in former.__all__ if name.endswith("_table")]
    # Every table it named when it moved (the digest's was the outbox module's); the
    # tables added since live in qleads.adapters.sql.schema only.
    assert set(tables) == FORMER_TABLES
    for name in tables:
        assert getattr(former, name) is getattr(schema, name)
        assert getattr(former, name).metadata is schema.metadata
    assert former.metadata is schema.metadata
