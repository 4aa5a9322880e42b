"""``qleads db upgrade URL``: create or upgrade a database.

It runs the Alembic migrations shipped in the package; a deployment runs it before
starting the app instances, and it is safe to run on every deployment and from several
hosts at once.
"""

from __future__ import annotations

import argparse

from qleads.cli.common import EXIT_OK, Commands, add_database_url, database_url, shown_url

__all__ = ["add_parser"]


def add_parser(commands: Commands) -> None:
    """Add ``db`` and its one subcommand, ``upgrade``, to ``commands``."""
    db = commands.add_parser("db", help="manage the database schema")
    subcommands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = subcommands.add_parser(
        "upgrade",
        help="create the tables or upgrade them to this version of qleads",
        description=(
            "Create qleads' tables in an empty database, or bring an existing one up to "
            "date. Safe to run on every deployment and from several hosts at once."
        ),
    )
    add_database_url(upgrade)
    upgrade.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    from qleads.adapters.sql.migrations import head_revision, upgrade

    url = database_url(args)
    done = upgrade(url)
    head = " (head)" if done.after == head_revision() else ""
    if done.changed:
        start = done.before or "an empty schema"
        print(f"qleads: upgraded {shown_url(url)} from {start} to revision {done.after}{head}")
    else:
        print(f"qleads: {shown_url(url)} is up to date at revision {done.after}{head}")
    return EXIT_OK
