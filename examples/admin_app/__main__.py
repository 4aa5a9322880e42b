"""``python -m examples.admin_app --demo [--port N] [--db URL] [--host H]``

Brings the demo up with Flask's threaded server: creates or upgrades the database,
loads the demo data into an empty one, starts the sweeper/dispatcher thread and prints
the URL and the demo logins. Without ``--demo`` it refuses: the development server is
not for production, and it prints the gunicorn command that is
(``docs/deployment.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from qleads.cli.logs import add_log_options, configure_logging
from qleads.errors import ConfigurationError

from . import create_app
from .demo import DEMO_LOGINS, DEMO_PASSWORD
from .security import PortalRequestHandler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.admin_app", description="The qleads reference portal."
    )
    parser.add_argument("--demo", action="store_true", help="demo data, mails kept in the DB")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--db", help="database URL (sqlite:///file or postgresql://…)")
    parser.add_argument(
        "--interval", type=float, help="seconds between sweeps/dispatches (default 30)"
    )
    parser.add_argument("--no-background", action="store_true", help="no sweeper/dispatcher")
    add_log_options(parser)
    return parser


#: What production runs instead of the development server.
GUNICORN_COMMAND = "gunicorn -c examples/admin_app/gunicorn.conf.py examples.admin_app.wsgi:app"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.demo:
        print(
            "error: without --demo the portal does not run on the development server.\n"
            "Production serves it with gunicorn and delivers mail with qleads worker:\n\n"
            f"    flask --app examples.admin_app db upgrade\n"
            f"    {GUNICORN_COMMAND}\n"
            '    qleads worker "$QLEADS_DATABASE_URL" --smtp HOST:PORT\n\n'
            "(QLEADS_SECRET_KEY and QLEADS_DATABASE_URL in the environment; see "
            "docs/deployment.md). For a look around: python -m examples.admin_app --demo",
            file=sys.stderr,
        )
        return 2
    url = f"http://{args.host}:{args.port}"
    config: dict[str, Any] = {
        "QLEADS_BACKGROUND": not args.no_background,
        "QLEADS_BASE_URL": url,
        "QLEADS_DEMO": True,
    }
    if args.db:
        config["QLEADS_DATABASE_URL"] = args.db
    if args.interval is not None:
        config["QLEADS_SWEEP_INTERVAL"] = args.interval
    configure_logging(args.log_level, args.log_format, loggers=("qleads", "examples"))
    try:
        if args.demo:
            print("Preparing the database (the demo data takes a few seconds) …", flush=True)
        app = create_app(config)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\nqleads portal: {url}/")
    print(f"database:      {app.config['QLEADS_DATABASE_URL']}")
    if app.config["QLEADS_DEMO"]:
        print(f"demo logins:   {', '.join(DEMO_LOGINS)} (password: {DEMO_PASSWORD})")
        print("               installer1 and installer2 share Saxony, installer3 is in Bavaria")
        summary = app.extensions.get("qleads.demo")
        if summary is not None:
            print(f"demo leads:    {summary.leads} created")
            print(
                f"intake API:    POST {url}/api/v1/leads with 'Authorization: Bearer "
                f"{summary.source_token}' (shown once)"
            )
        print(f"mails:         {url}/mails/")
    print(flush=True)
    app.run(
        host=args.host,
        port=args.port,
        threaded=True,
        use_reloader=False,
        request_handler=PortalRequestHandler,  # no "Server: Werkzeug/… Python/…"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
