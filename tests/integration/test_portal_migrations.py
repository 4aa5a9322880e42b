"""The portal's own migrations (examples.admin_app.migrations): an empty database
upgraded to head has exactly the tables the models declare; a database whose portal
tables ``create_all`` made before is adopted; both version trees live side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from examples.admin_app.migrations import (
    VERSION_TABLE,
    current_revision,
    head_revision,
    schema_is_current,
    upgrade,
    upgrade_all,
)
from examples.admin_app.models import portal_metadata
from qleads.adapters.sql import make_engine
from qleads.adapters.sql.schema import ALEMBIC_VERSION_TABLE


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _differences(engine: sa.Engine) -> list[object]:
    def portal_only(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            return bool(name) and name.startswith("portal_") and name != VERSION_TABLE
        return True

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": portal_only, "compare_type": True}
        )
        return list(compare_metadata(context, portal_metadata()))


def test_upgrade_matches_the_models(engine: sa.Engine) -> None:
    assert current_revision(engine) is None
    done = upgrade_all(engine)
    assert done.portal.after == head_revision()
    assert done.portal.before is None
    assert _differences(engine) == []
    tables = set(sa.inspect(engine).get_table_names())
    assert {VERSION_TABLE, ALEMBIC_VERSION_TABLE} <= tables
    assert {t for t in tables if t.startswith("portal_")} == set(portal_metadata().tables) | {
        VERSION_TABLE
    }
    assert schema_is_current(engine)
    again = upgrade_all(engine)
    assert not again.portal.changed
    assert not again.library.changed


def test_a_create_all_database_is_adopted(engine: sa.Engine) -> None:
    """Tables of an older portal (no session_token yet) are kept with their rows; the
    column is added and every login gets a token."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE portal_users (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL,"
            " password_hash VARCHAR(255) NOT NULL, role VARCHAR(16) NOT NULL,"
            " actor_id VARCHAR(64) NOT NULL, language VARCHAR(8) NOT NULL,"
            " active BOOLEAN NOT NULL)"
        )
        conn.exec_driver_sql(
            "INSERT INTO portal_users VALUES (1, 'anna', 'x', 'installer', 'anna', 'de', TRUE)"
        )
    assert not schema_is_current(engine)
    upgrade(engine)
    with engine.connect() as conn:
        token = conn.exec_driver_sql("SELECT session_token FROM portal_users").scalar_one()
    assert token
    assert [d for d in _differences(engine) if "session_token" in repr(d)] == []
    assert {"portal_settings", "portal_mails", "portal_password_resets"} <= set(
        sa.inspect(engine).get_table_names()
    )
