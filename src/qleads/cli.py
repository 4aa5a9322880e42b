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

``pip install qleads`` alone brings no database driver and no mail rendering: every
command still answers ``--help``, and a command whose extra is missing says in one line
which one to install (exit code 2, like any other configuration problem) instead of
ending in a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from qleads import __version__
from qleads.errors import ConfigurationError, QleadsError

__all__ = [
    "DATABASE_URL_ENV",
    "EXTRA_MODULES",
    "Handler",
    "add_database_url",
    "build_parser",
    "database_url",
    "extra_of",
    "main",
    "needs_extras",
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


# --- optional parts ---------------------------------------------------------------------------

#: What each extra brings, by import name (the rest of an extra comes along with these).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "sql": ("sqlalchemy", "alembic", "orjson"),
    "postgres": ("psycopg",),
    "mail": ("babel",),
}


def extra_of(error: BaseException | None) -> str | None:
    """The extra that brings the module whose import failed with ``error`` (or caused
    it: the engine's "cannot set up" error for a missing driver), or ``None`` when no
    extra does (then the error is a bug, not a missing install)."""
    if not isinstance(error, ModuleNotFoundError):
        return extra_of(error.__cause__) if isinstance(error, ConfigurationError) else None
    top = (error.name or "").partition(".")[0]
    return next((extra for extra, names in EXTRA_MODULES.items() if top in names), None)


def _missing(extra: str) -> bool:
    return any(importlib.util.find_spec(name) is None for name in EXTRA_MODULES[extra])


def _the_extras(extras: Sequence[str]) -> str:
    names = " and ".join(f"'{extra}'" for extra in extras)
    return f"the {names} extra{'s' if len(extras) > 1 else ''}"


def needs_extras(command: str, extras: Sequence[str]) -> str:
    """The one line a command prints when its extras are not installed."""
    return f"{command} needs {_the_extras(extras)}: pip install 'qleads[{','.join(extras)}]'"


def _stand_in(subparsers: Any, name: str, help_: str, extras: Sequence[str]) -> None:
    """A command whose code cannot be imported here: it takes any arguments (``--help``
    too: its only option prefix is NUL, which no argument can hold) and says what to
    install."""
    message = needs_extras(f"qleads {name}", extras)
    stand_in = subparsers.add_parser(
        name, help=f"{help_} (needs {_the_extras(extras)})", add_help=False, prefix_chars="\0"
    )
    stand_in.add_argument("arguments", nargs="*")

    def missing(args: argparse.Namespace) -> int:
        print(message, file=sys.stderr)
        return EXIT_USAGE

    stand_in.set_defaults(handler=missing)


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


# --- qleads sweep, qleads mail … ---------------------------------------------------------------


@subcommand
def _build_mail(subparsers: Any) -> None:
    """``qleads sweep`` and ``qleads mail …`` (:mod:`qleads.mail.cli`), imported only
    now: the mail package renders with Babel, which the core install lacks."""
    try:
        from qleads.mail.cli import register
    except ModuleNotFoundError as e:
        extra = extra_of(e)
        if extra is None:
            raise
        # Both need the database too: name every extra that is missing, so that one
        # install is enough.
        lacking = [x for x in ("sql", "mail") if x == extra or _missing(x)]
        _stand_in(subparsers, "sweep", "fire every deadline that has passed", lacking)
        _stand_in(subparsers, "mail", "deliver and inspect notification mails", lacking)
        return
    register(subparsers)


# --- the entry point --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qleads",
        description="qleads: lead distribution for installer networks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for builder in _BUILDERS:
        builder(subparsers)
    return parser


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
    except (ModuleNotFoundError, ConfigurationError) as e:
        extra = extra_of(e)  # a command of an extra that is not installed
        if extra is not None:
            print(needs_extras(f"qleads {args.command}", [extra]), file=sys.stderr)
        elif isinstance(e, ConfigurationError):
            print(f"qleads: {e.message}", file=sys.stderr)
        else:
            raise
        return EXIT_USAGE
    except QleadsError as e:
        print(f"qleads: {e.message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover - ``python -m qleads.cli``
    raise SystemExit(main())
