"""``qleads route explain URL --postcode 04107``: where a lead would go, and why.

It prints what :meth:`LeadDesk.explain_routing <qleads.desk.LeadDesk.explain_routing>`
answers — the territory and rep, every installer who would or would not see the lead and
why, the deadlines with their dates — and stores nothing. The territories' policy
overrides are read from the database; the global policy, which a portal keeps, can be
given with ``--policy`` as a JSON object of settings (``{"max_open_claims": 5}``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qleads.cli.common import EXIT_OK, Commands, add_database_url, database_url
from qleads.cli.extras import add_stand_in, missing_before_help
from qleads.errors import ConfigurationError

__all__ = ["EXTRAS", "add_parser"]

EXTRAS = ("sql",)


def add_parser(commands: Commands) -> None:
    """Add ``route explain`` to ``commands`` (a stand-in naming missing extras)."""
    lacking = missing_before_help(EXTRAS)
    if lacking:
        add_stand_in(commands, "route", "explain where a lead would go", lacking)
        return
    route = commands.add_parser(
        "route",
        help="explain where a lead would go",
        description="Routing of leads: where a lead would go and why (stores nothing).",
    )
    actions = route.add_subparsers(dest="action", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain",
        help="the territory, rep, installers and deadlines a lead would get",
        description="Explain where a lead with this postal code (or this whole lead "
        "document) would go now: territory and sales rep, who would see it and who not "
        "and why, and the deadlines that would run. Stores nothing.",
    )
    add_database_url(explain)
    which = explain.add_mutually_exclusive_group(required=True)
    which.add_argument("--postcode", help="the lead's postal code, such as 04107")
    which.add_argument("--document", type=Path, help="a JSON file holding a whole lead document")
    explain.add_argument("--country", default="DE", help="ISO country code (default DE)")
    explain.add_argument(
        "--policy",
        default="{}",
        help="the global policy's settings as JSON, e.g. '{\"max_open_claims\": 5}'",
    )
    explain.add_argument("--language", default="de", help="de (default) or en")
    explain.add_argument("--zone", default="Europe/Berlin", help="time zone of the dates shown")
    explain.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    from qleads import policies
    from qleads.adapters.clock import SystemClock
    from qleads.adapters.sql.directory import SqlAlchemyDirectory
    from qleads.adapters.sql.engine import make_engine
    from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
    from qleads.desk import LeadDesk
    from qleads.explain import explanation_lines
    from qleads.model import Admin, Policy

    try:
        settings = json.loads(args.policy)
    except ValueError as e:
        raise ConfigurationError(f"--policy is not JSON: {e}") from e
    if not isinstance(settings, dict):
        raise ConfigurationError("--policy must be a JSON object of policy settings")
    policy = policies.merge(Policy(), policies.parse(settings))
    document = None
    if args.document is not None:
        try:
            document = json.loads(args.document.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigurationError(f"--document: {e}") from e
    engine = make_engine(database_url(args))
    try:
        desk = LeadDesk(
            SqlAlchemyLeadRepository(engine), SqlAlchemyDirectory(engine), SystemClock(), policy
        )
        operator = Admin("qleads-cli", "qleads route explain")
        if document is not None:
            explained = desk.explain_routing(operator, document)
        else:
            explained = desk.explain_routing(
                operator, postal_code=args.postcode, country=args.country
            )
    finally:
        engine.dispose()
    for line in explanation_lines(explained, args.language, args.zone):
        print(line)
    return EXIT_OK
