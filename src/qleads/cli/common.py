"""What every ``qleads`` command shares: the exit codes, the parser types, and the
database URL that most commands take.

Exit codes are defined here once: 0 done, 1 the work failed (the database is
unreachable, a mail server refused, some mails were retried), 2 bad usage or
configuration (an unknown option, a missing URL, an extra that is not installed).

Database URLs may come from the environment (:data:`DATABASE_URL_ENV`) instead of the
command line, so that cron jobs need not put passwords into process lists.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Protocol

from qleads.errors import ConfigurationError

__all__ = [
    "DATABASE_URL_ENV",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Commands",
    "Handler",
    "add_database_url",
    "database_url",
    "shown_url",
]

#: The command did its work.
EXIT_OK = 0
#: The work failed, or part of it did (the database, the mail server).
EXIT_FAILED = 1
#: Bad usage or configuration: nothing was done.
EXIT_USAGE = 2

#: Where a database URL comes from when the command line names none.
DATABASE_URL_ENV = "QLEADS_DATABASE_URL"

#: What a command runs: its parsed arguments in, its exit code out. Each command's
#: parser sets it as the default ``handler``.
Handler = Callable[[argparse.Namespace], int]


class Commands(Protocol):
    """Where a command group adds its parser: the ``qleads`` parser's subcommands
    (what ``ArgumentParser.add_subparsers()`` returns)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


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
