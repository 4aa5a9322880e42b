"""``qleads gdpr export|erase|retention URL``: a person's data on request (R14).

``export`` writes everything qleads holds about an e-mail address as one JSON document
(Art. 15); ``erase`` anonymises it everywhere (Art. 17) with a required reason;
``retention`` applies the retention periods now, or with ``--dry-run`` says how many
leads and access records they would take. The commands act as an admin of the
directory (``--as ADMIN_ID``) or, by default, as the command line itself
(:data:`CLI_ACTOR`), which the access log and the erasure records name. They print
counts and lead ids, never the person's data (except the export, into its file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qleads.cli.common import EXIT_OK, Commands, add_database_url, database_url
from qleads.cli.extras import add_stand_in, missing_before_help
from qleads.errors import ConfigurationError
from qleads.model import Admin

if TYPE_CHECKING:
    from qleads.desk import LeadDesk

__all__ = ["CLI_ACTOR", "EXTRAS", "add_parser"]

#: What the commands need installed.
EXTRAS = ("sql",)
#: Who the commands act as without ``--as``: the operator at the command line.
CLI_ACTOR = Admin(id="system:cli", name="qleads gdpr")


def add_parser(commands: Commands) -> None:
    """Add ``gdpr`` and its subcommands ``export``, ``erase``, ``retention``."""
    lacking = missing_before_help(EXTRAS)
    if lacking:
        add_stand_in(commands, "gdpr", "export or erase a person's data, apply retention", lacking)
        return
    gdpr = commands.add_parser(
        "gdpr",
        help="export or erase a person's data, apply the retention periods (R14)",
    )
    subcommands = gdpr.add_subparsers(dest="gdpr_command", metavar="COMMAND", required=True)

    export = subcommands.add_parser(
        "export",
        help="everything qleads holds about an e-mail address, as JSON (Art. 15)",
        description="Write every lead with this contact e-mail, its history, mails, "
        "consent, erasures and access records as one JSON document (Art. 15 GDPR).",
    )
    add_database_url(export)
    export.add_argument("--email", required=True, help="the person's e-mail address")
    export.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    _add_actor(export)
    export.set_defaults(handler=_export)

    erase = subcommands.add_parser(
        "erase",
        help="erase a person's data everywhere qleads keeps it (Art. 17)",
        description="Anonymise every lead with this contact e-mail: contact, free texts, "
        "notes, mails; statuses, dates, the postcode area and counts stay. Harmless to "
        "run twice; an unknown address erases nothing.",
    )
    add_database_url(erase)
    erase.add_argument("--email", required=True, help="the person's e-mail address")
    erase.add_argument("--reason", required=True, help="why (kept with the erasure record)")
    _add_actor(erase)
    erase.set_defaults(handler=_erase)

    retention = subcommands.add_parser(
        "retention",
        help="apply the retention periods now (or count what they would take)",
        description="Anonymise the leads past their retention period and purge the "
        "access records past theirs; the sweep does the same on every run.",
    )
    add_database_url(retention)
    retention.add_argument("--dry-run", action="store_true", help="only count")
    retention.add_argument("--closed-months", type=int, default=24, help="closed leads")
    retention.add_argument("--unclaimed-months", type=int, default=12, help="never claimed")
    retention.add_argument("--access-log-months", type=int, default=12, help="access log")
    retention.set_defaults(handler=_retention)


def _add_actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="admin_id",
        default=None,
        help=f"the id of the admin acting (default: {CLI_ACTOR.id})",
    )


def _run(args: argparse.Namespace, use: Callable[[LeadDesk, Admin], int]) -> int:
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.sql.directory import SqlAlchemyDirectory
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
    from qleads.desk import LeadDesk
    from qleads.model import Policy

    try:
        policy = Policy(
            retention_closed_months=getattr(args, "closed_months", 24),
            retention_unclaimed_months=getattr(args, "unclaimed_months", 12),
            retention_access_log_months=getattr(args, "access_log_months", 12),
        )
    except ValueError as e:
        raise ConfigurationError(f"bad retention period: {e}") from e
    engine = make_engine(database_url(args))
    try:
        directory = SqlAlchemyDirectory(engine)
        admin = CLI_ACTOR
        admin_id = getattr(args, "admin_id", None)
        if admin_id is not None:
            found = directory.admin(admin_id)
            if found is None:
                raise ConfigurationError(f"--as names no admin: {admin_id!r}")
            admin = found
        desk = LeadDesk(SqlAlchemyLeadRepository(engine), directory, SystemClock(), policy)
        return use(desk, admin)
    finally:
        engine.dispose()


def _export(args: argparse.Namespace) -> int:
    def use(desk: LeadDesk, admin: Admin) -> int:
        document = desk.export_personal_data(admin, email=args.email)
        text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.write_text(text, encoding="utf-8")
            print(f"qleads gdpr export: {len(document['leads'])} lead(s) written to {args.out}")
        return EXIT_OK

    return _run(args, use)


def _erase(args: argparse.Namespace) -> int:
    def use(desk: LeadDesk, admin: Admin) -> int:
        result = desk.erase_personal_data(admin, email=args.email, reason=args.reason)
        erased = ", ".join(str(i) for i in result.erased) or "none"
        print(
            f"qleads gdpr erase: {len(result.erased)} lead(s) erased ({erased}), "
            f"{len(result.already_erased)} erased before"
        )
        return EXIT_OK

    return _run(args, use)


def _retention(args: argparse.Namespace) -> int:
    def use(desk: LeadDesk, admin: Admin) -> int:
        report = desk.apply_retention(dry_run=args.dry_run)
        verb = "would anonymise" if report.dry_run else "anonymised"
        purged = "would purge" if report.dry_run else "purged"
        print(
            f"qleads gdpr retention: {verb} {report.anonymised} lead(s), "
            f"{purged} {report.access_records_purged} access record(s)"
        )
        return EXIT_OK

    return _run(args, use)
