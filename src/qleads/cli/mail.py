"""``qleads mail …``: deliver the outbox and look after it (R10).

``qleads mail dispatch URL --smtp HOST:PORT`` delivers the outbox and the due daily
digests; it prints one summary line on stdout and a progress line on stderr while a long
run goes on, and exits with 1 when some mails were retried or failed. ``qleads mail
failed URL`` lists failed rows and ``qleads mail retry URL KEY`` sends one again (the
admin's part of R10); a failed message an embedder composed cannot be sent again, its
content is gone (:mod:`qleads.mail.outbox`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from qleads.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    add_database_url,
    database_url,
)
from qleads.cli.delivery import add_delivery_options, delivery_settings
from qleads.cli.extras import add_stand_in, missing_before_help

__all__ = ["EXTRAS", "add_parser"]

#: What the mail commands need installed: the database and the mail rendering (Babel).
EXTRAS = ("sql", "mail")

_HELP = "deliver and inspect notification mails"
_PROGRESS_EVERY = 500


def add_parser(commands: Commands) -> None:
    """Add ``mail`` and its subcommands to ``commands`` (a stand-in that names the
    extras if they are missing)."""
    lacking = missing_before_help(EXTRAS)
    if lacking:
        add_stand_in(commands, "mail", _HELP, lacking)
        return
    mail = commands.add_parser("mail", help=_HELP)
    subcommands = mail.add_subparsers(dest="mail_command", metavar="COMMAND", required=True)
    dispatch = subcommands.add_parser(
        "dispatch",
        help="send the pending outbox mails and the due daily digests",
        description="Lease the due outbox rows, send them over SMTP and mark them (R10). "
        "Safe to run from several hosts at once; run it every minute from cron.",
    )
    add_database_url(dispatch)
    add_delivery_options(dispatch)
    dispatch.set_defaults(handler=_dispatch)

    failed = subcommands.add_parser("failed", help="list the rows that failed for good")
    add_database_url(failed)
    failed.set_defaults(handler=_failed)

    retry = subcommands.add_parser("retry", help="send a failed row again")
    add_database_url(retry)
    retry.add_argument("key", metavar="KEY", help="the row's key, as 'mail failed' lists it")
    retry.set_defaults(handler=_retry)


def _dispatch(args: argparse.Namespace) -> int:
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.sql.directory import SqlAlchemyDirectory
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
    from qleads.mail.digest import DigestReport, DigestSender
    from qleads.mail.dispatcher import Dispatcher, DispatchReport
    from qleads.mail.render import Renderer

    settings = delivery_settings(args)
    mailer = settings.mailer()
    domain = settings.message_id_domain
    engine = make_engine(database_url(args))
    clock = SystemClock()

    def progress(report: DispatchReport) -> None:
        if report.handled >= _PROGRESS_EVERY:
            print(
                f"qleads mail dispatch: {report.handled} rows so far "
                f"({report.sent} sent, {report.failed} failed)…",
                file=sys.stderr,
                flush=True,
            )

    try:
        with mailer:
            repository = SqlAlchemyLeadRepository(engine)
            directory = SqlAlchemyDirectory(engine)
            outbox = SqlAlchemyOutbox(repository)
            renderer = Renderer(settings.base_url)
            dispatcher = Dispatcher(
                outbox,
                mailer,
                renderer,
                directory,
                clock,
                leads=repository,
                max_attempts=settings.max_attempts,
                lease_for=dt.timedelta(seconds=settings.lease),
                message_id_domain=domain,
                sender=settings.sender,
            )
            report = dispatcher.dispatch_all(settings.limit, progress=progress)
            digests = DigestReport()
            if settings.digests:
                digests = DigestSender(
                    outbox,
                    mailer,
                    renderer,
                    directory,
                    repository,
                    clock,
                    message_id_domain=domain,
                    sender=settings.sender,
                ).send_digests()
            pending = outbox.pending_count()
    finally:
        engine.dispose()
    print(
        f"qleads mail dispatch: {report.sent} sent, {report.retried} retried, "
        f"{report.failed} failed, {report.digested} digested, {report.skipped} skipped, "
        f"{report.taken_over} taken over; {digests.sent} digests sent, "
        f"{digests.retried} digests retried; {pending} pending"
    )
    trouble = report.retried or report.failed or digests.retried
    return EXIT_FAILED if trouble else EXIT_OK


def _failed(args: argparse.Namespace) -> int:
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository

    engine = make_engine(database_url(args))
    try:
        rows = SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).failed()
    finally:
        engine.dispose()
    for row in rows:
        print(
            f"{row.key}\t{row.kind}\t{row.recipient}\tattempts={row.attempts}\t"
            f"{(row.last_error or '').splitlines()[0] if row.last_error else ''}"
        )
    print(f"qleads mail failed: {len(rows)} failed rows", file=sys.stderr)
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository

    engine = make_engine(database_url(args))
    try:
        SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).retry(args.key)
    finally:
        engine.dispose()
    print(f"qleads mail retry: {args.key} is pending again")
    return EXIT_OK
