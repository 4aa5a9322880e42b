"""The ``qleads`` console command: its parser, spelled out, and its entry point.

``qleads db upgrade URL`` creates or upgrades a database (:mod:`qleads.cli.db`);
``qleads sweep URL`` fires the deadlines that have passed (:mod:`qleads.cli.sweep`);
``qleads mail …`` delivers and inspects the outbox (:mod:`qleads.cli.mail`);
``qleads worker URL`` sweeps and delivers in a loop (:mod:`qleads.cli.worker`);
``qleads route explain URL`` says where a lead would go (:mod:`qleads.cli.route`);
``qleads gdpr …`` exports and erases a person's data and applies the retention periods
(:mod:`qleads.cli.gdpr`, R14); ``--log-level`` and ``--log-format`` say where log lines
go (:mod:`qleads.cli.logs`). Each
command group is one module with an ``add_parser(commands)`` that
:func:`build_parser` calls by name: the whole command line is in that function, with
no registry to look up. Exit codes and the database URL are in :mod:`qleads.cli.common`;
what a command says when its extra is not installed is :mod:`qleads.cli.extras`.

Every error a command can meet ends in one line on stderr: a
:class:`~qleads.errors.QleadsError` with exit code 1, bad usage or configuration (a
missing extra included) with exit code 2. ``python -m qleads.cli`` runs the same
command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from qleads import __version__
from qleads.cli import db, gdpr, mail, route, sweep, worker
from qleads.cli.common import (
    DATABASE_URL_ENV,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    add_database_url,
    database_url,
    shown_url,
)
from qleads.cli.extras import EXTRA_MODULES, extra_of, needs_extras
from qleads.cli.logs import add_log_options, configure_logging, remove_logging
from qleads.errors import ConfigurationError, QleadsError

__all__ = [
    "DATABASE_URL_ENV",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXTRA_MODULES",
    "Handler",
    "add_database_url",
    "build_parser",
    "database_url",
    "extra_of",
    "main",
    "needs_extras",
    "shown_url",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``qleads`` parser: ``--version`` and the commands ``db``, ``sweep``, ``mail``,
    ``route``, ``gdpr``, ``worker``."""
    parser = argparse.ArgumentParser(
        prog="qleads",
        description="qleads: lead distribution for installer networks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_log_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    db.add_parser(commands)
    sweep.add_parser(commands)
    mail.add_parser(commands)
    route.add_parser(commands)
    gdpr.add_parser(commands)
    worker.add_parser(commands)
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
        configure_logging(args.log_level, args.log_format)
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
    finally:
        remove_logging()
