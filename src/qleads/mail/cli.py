"""The console commands for cron: ``qleads sweep`` and ``qleads mail …``.

``qleads sweep URL`` fires every deadline that has passed (R11) and writes the outbox
notifications; ``qleads mail dispatch URL --smtp HOST:PORT`` delivers the outbox and the
due daily digests (R10). Both print one summary line on stdout, a progress line on
stderr while a long run goes on, and exit with 0 (all done), 1 (partial failure: some
mails were retried or failed, the database failed) or 2 (bad configuration).
``qleads mail failed URL`` lists failed rows and ``qleads mail retry URL KEY`` sends one
again (the admin's part of R10); a failed message an embedder composed cannot be sent
again, its content is gone (:mod:`qleads.mail.outbox`).

:func:`register` is a subcommand builder for :mod:`qleads.cli`; :func:`main` runs these
commands on their own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import Any

from qleads.errors import ConfigurationError

__all__ = ["main", "register"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_PROGRESS_EVERY = 500
#: How long ``mail dispatch`` leases the rows it took (``--lease``).
_DEFAULT_LEASE_S = 300.0


def _add_url(parser: argparse.ArgumentParser) -> None:
    from qleads.cli import add_database_url

    add_database_url(parser)


def register(subparsers: Any) -> None:
    """Add ``sweep`` and ``mail`` to the top-level ``subparsers`` of ``qleads``."""
    sweep = subparsers.add_parser(
        "sweep",
        help="fire every deadline that has passed (claim expiry, reminders, follow-ups)",
        description="Fire every passed deadline once (R11). Safe to run from several "
        "hosts at once and as often as you like; run it every few minutes from cron.",
    )
    _add_url(sweep)
    sweep.add_argument("--batch-size", type=int, default=500, help="leads per transaction")
    sweep.add_argument(
        "--escalation-days",
        type=int,
        default=None,
        help="escalate to the rep this many business days after the assignment reminder",
    )
    sweep.set_defaults(handler=_sweep)

    mail = subparsers.add_parser("mail", help="deliver and inspect notification mails")
    commands = mail.add_subparsers(dest="mail_command", metavar="COMMAND", required=True)
    dispatch = commands.add_parser(
        "dispatch",
        help="send the pending outbox mails and the due daily digests",
        description="Lease the due outbox rows, send them over SMTP and mark them (R10). "
        "Safe to run from several hosts at once; run it every minute from cron.",
    )
    _add_url(dispatch)
    dispatch.add_argument("--smtp", metavar="HOST:PORT", help="the SMTP server (required)")
    security = dispatch.add_mutually_exclusive_group()
    security.add_argument("--starttls", action="store_true", help="STARTTLS (port 587)")
    security.add_argument("--ssl", action="store_true", help="implicit TLS (port 465)")
    dispatch.add_argument("--user", help="SMTP login")
    dispatch.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the SMTP password"
    )
    dispatch.add_argument(
        "--base-url",
        default=os.environ.get("QLEADS_BASE_URL"),
        help="where the portal runs, for the links in mails (default: $QLEADS_BASE_URL)",
    )
    dispatch.add_argument(
        "--sender", default="qleads@localhost", help="From and envelope sender address"
    )
    dispatch.add_argument(
        "--message-id-domain", default=None, help="right side of Message-IDs (default: sender's)"
    )
    dispatch.add_argument("--timeout", type=float, default=10.0, help="SMTP timeout, seconds")
    dispatch.add_argument(
        "--lease",
        type=float,
        default=_DEFAULT_LEASE_S,
        metavar="SECONDS",
        help="how long a run holds the rows it took before another run may take them over "
        f"(a run that died); longer than --timeout (default: {_DEFAULT_LEASE_S:.0f})",
    )
    dispatch.add_argument("--limit", type=int, default=100, help="rows leased per round")
    dispatch.add_argument("--max-attempts", type=int, default=8, help="before a row fails")
    dispatch.add_argument("--no-digests", action="store_true", help="do not send digests")
    dispatch.set_defaults(handler=_dispatch)

    failed = commands.add_parser("failed", help="list the rows that failed for good")
    _add_url(failed)
    failed.set_defaults(handler=_failed)

    retry = commands.add_parser("retry", help="send a failed row again")
    _add_url(retry)
    retry.add_argument("key", metavar="KEY", help="the row's key, as 'mail failed' lists it")
    retry.set_defaults(handler=_retry)


# --- handlers ---------------------------------------------------------------------------


def _sweep(args: argparse.Namespace) -> int:
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
    from qleads.cli import database_url
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
        report = desk.sweep(batch_size=args.batch_size)
    finally:
        engine.dispose()
    print(
        f"qleads sweep: {report.expired} expired, {report.reminded} reminded, "
        f"{report.escalated} escalated, {report.follow_ups_due} follow-ups due"
    )
    return EXIT_OK


def _smtp_address(value: str | None) -> tuple[str, int]:
    if not value:
        raise ConfigurationError("--smtp HOST:PORT is required")
    host, colon, port = value.rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ConfigurationError(f"--smtp needs HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def _dispatch(args: argparse.Namespace) -> int:
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.smtp import Security, SmtpMailer
    from qleads.adapters.sql import SqlAlchemyDirectory, SqlAlchemyLeadRepository, make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.cli import database_url
    from qleads.mail.digest import DigestReport, DigestSender
    from qleads.mail.dispatcher import Dispatcher, DispatchReport
    from qleads.mail.render import Renderer

    host, port = _smtp_address(args.smtp)
    password = None
    if args.password_env is not None:
        password = os.environ.get(args.password_env)
        if password is None:
            raise ConfigurationError(f"${args.password_env} is not set")
    if (args.user is None) != (password is None):
        raise ConfigurationError("--user and --password-env go together")
    if not args.base_url:
        raise ConfigurationError("--base-url (or $QLEADS_BASE_URL) is required for links")
    if args.limit < 1 or args.max_attempts < 1:
        raise ConfigurationError("--limit and --max-attempts must be at least 1")
    if not args.lease > args.timeout > 0:
        # A lease that runs out while a row is still being sent lets another run send
        # it again.
        raise ConfigurationError("--lease must be longer than --timeout, and both positive")
    security: Security = "ssl" if args.ssl else "starttls" if args.starttls else "none"
    mailer = SmtpMailer(
        host,
        port,
        username=args.user,
        password=password,
        security=security,
        timeout=args.timeout,
        sender=args.sender,
    )
    domain = args.message_id_domain or args.sender.rpartition("@")[2].strip(">") or "qleads"
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
            renderer = Renderer(args.base_url)
            dispatcher = Dispatcher(
                outbox,
                mailer,
                renderer,
                directory,
                clock,
                leads=repository,
                max_attempts=args.max_attempts,
                lease_for=dt.timedelta(seconds=args.lease),
                message_id_domain=domain,
                sender=args.sender,
            )
            report = dispatcher.dispatch_all(args.limit, progress=progress)
            digests = DigestReport()
            if not args.no_digests:
                digests = DigestSender(
                    outbox,
                    mailer,
                    renderer,
                    directory,
                    repository,
                    clock,
                    message_id_domain=domain,
                    sender=args.sender,
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
    from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.cli import database_url

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
    from qleads.adapters.sql import SqlAlchemyLeadRepository, make_engine
    from qleads.adapters.sql.outbox import SqlAlchemyOutbox
    from qleads.cli import database_url

    engine = make_engine(database_url(args))
    try:
        SqlAlchemyOutbox(SqlAlchemyLeadRepository(engine)).retry(args.key)
    finally:
        engine.dispose()
    print(f"qleads mail retry: {args.key} is pending again")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qleads.mail.cli``: the ``qleads`` command line
    (:func:`qleads.cli.main`), which registers these commands."""
    from qleads.cli import main as qleads_main  # imported here: qleads.cli imports us

    return qleads_main(argv)


if __name__ == "__main__":  # pragma: no cover - ``python -m qleads.mail.cli``
    raise SystemExit(main())
