"""The ``qleads`` console command.

``qleads db upgrade URL`` creates or upgrades a database (the Alembic migrations shipped in
the package); it is what a deployment runs before starting the app instances, and it is
safe to run on every deployment.

Subcommands are registered by *builders*: a function that adds its parser to the
top-level subparsers and sets ``handler`` (``args -> exit code``) as the parser's default.
Add one with :func:`subcommand`. Exit codes: 0 done, 1 the work failed (the database is
unreachable, a mail server refused), 2 bad usage or configuration.

Database URLs may come from the environment (``QLEADS_DATABASE_URL``) instead of the
command line, so that cron jobs need not put passwords into process lists.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from qleads.errors import ConfigurationError, QleadsError

__all__ = [
    "DATABASE_URL_ENV",
    "Handler",
    "add_database_url",
    "build_parser",
    "database_url",
    "main",
    "shown_url",
    "subcommand",
]

#: Where a database URL comes from when the command line names none.
DATABASE_URL_ENV = "QLEADS_DATABASE_URL"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]
_Builder = Callable[[Any], None]
_BUILDERS: list[_Builder] = []


def subcommand(builder: _Builder) -> _Builder:
    """Register a subcommand builder (a decorator). The builder gets the top-level
    ``add_subparsers()`` object, adds its parser and sets ``handler=...`` on it."""
    _BUILDERS.append(builder)
    return builder


def add_database_url(parser: argparse.ArgumentParser) -> None:
    """The ``URL`` argument every database command takes (or ``$QLEADS_DATABASE_URL``)."""
    parser.add_argument(
        "url",
        metavar="URL",
        nargs="?",
        default=None,
        help=(
            "database URL, e.g. sqlite:///qleads.db or "
            f"postgresql://user@host/db (default: ${DATABASE_URL_ENV})"
        ),
    )


def database_url(args: argparse.Namespace) -> str:
    """The URL given on the command line or in the environment; a usage error if neither."""
    url = args.url or os.environ.get(DATABASE_URL_ENV)
    if not url:
        raise ConfigurationError(f"no database URL: pass URL or set ${DATABASE_URL_ENV}")
    return str(url)


def shown_url(url: str) -> str:
    """A URL safe to print: the password masked."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"


# --- qleads db … ----------------------------------------------------------------------------


@subcommand
def _build_db(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="manage the database schema")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = commands.add_parser(
        "upgrade",
        help="create the tables or upgrade them to this version of qleads",
        description=(
            "Create qleads' tables in an empty database, or bring an existing one up to "
            "date. Safe to run on every deployment and from several hosts at once."
        ),
    )
    add_database_url(upgrade)
    upgrade.set_defaults(handler=_db_upgrade)


def _db_upgrade(args: argparse.Namespace) -> int:
    from qleads.adapters.migrations import head_revision, upgrade

    url = database_url(args)
    done = upgrade(url)
    head = " (head)" if done.after == head_revision() else ""
    if done.changed:
        start = done.before or "an empty schema"
        print(f"qleads: upgraded {shown_url(url)} from {start} to revision {done.after}{head}")
    else:
        print(f"qleads: {shown_url(url)} is up to date at revision {done.after}{head}")
    return EXIT_OK


# --- the entry point --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qleads",
        description="qleads: lead distribution for installer networks.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for builder in _BUILDERS:
        builder(subparsers)
    return parser


from qleads.mail.cli import register as _register_mail  # noqa: E402 - after the registry

subcommand(_register_mail)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigurationError as e:
        print(f"qleads: {e.message}", file=sys.stderr)
        return EXIT_USAGE
    except QleadsError as e:
        print(f"qleads: {e.message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover - ``python -m qleads.cli``
    raise SystemExit(main())
