"""``qleads sweep URL``: fire every deadline that has passed (R11).

It writes the outbox notifications of what it fired and prints one summary line (on a
terminal, a running count while it works: :mod:`qleads.cli.progress`). Safe to
run from several hosts at once and as often as you like; cron runs it every few minutes.
"""

from __future__ import annotations

import argparse
import sys

from qleads.cli.common import EXIT_OK, Commands, add_database_url, database_url
from qleads.cli.extras import add_stand_in, missing_before_help
from qleads.errors import ConfigurationError

__all__ = ["EXTRAS", "add_parser"]

#: What the sweep needs installed. It has always asked for the ``mail`` extra as well as
#: the database: the notices it writes are delivered by ``qleads mail dispatch``.
EXTRAS = ("sql", "mail")


def add_parser(commands: Commands) -> None:
    """Add ``sweep`` to ``commands`` (a stand-in that names the extras if they are
    missing)."""
    lacking = missing_before_help(EXTRAS)
    if lacking:
        add_stand_in(commands, "sweep", "fire every deadline that has passed", lacking)
        return
    sweep = commands.add_parser(
        "sweep",
        help="fire every deadline that has passed (claim expiry, reminders, follow-ups)",
        description="Fire every passed deadline once (R11). Safe to run from several "
        "hosts at once and as often as you like; run it every few minutes from cron.",
    )
    add_database_url(sweep)
    sweep.add_argument("--batch-size", type=int, default=500, help="leads per transaction")
    sweep.add_argument(
        "--escalation-days",
        type=int,
        default=None,
        help="escalate to the rep this many business days after the assignment reminder",
    )
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.sql.directory import SqlAlchemyDirectory
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
    from qleads.cli.progress import progress_line
    from qleads.desk import LeadDesk
    from qleads.model import Policy

    if args.batch_size < 1:
        raise ConfigurationError("--batch-size must be at least 1")
    try:
        policy = Policy(escalation_days=args.escalation_days)
    except ValueError as e:
        raise ConfigurationError(f"bad policy: {e}") from e
    engine = make_engine(database_url(args))
    try:
        desk = LeadDesk(
            SqlAlchemyLeadRepository(engine), SqlAlchemyDirectory(engine), SystemClock(), policy
        )
        line = progress_line(sys.stderr, "qleads sweep")
        try:
            report = desk.sweep(batch_size=args.batch_size, progress=line)
        finally:
            if line is not None:
                line.done()
    finally:
        engine.dispose()
    print(
        f"qleads sweep: {report.expired} expired, {report.reminded} reminded, "
        f"{report.escalated} escalated, {report.follow_ups_due} follow-ups due"
    )
    return EXIT_OK
