"""The reference portal of qleads: installers, sales reps and admins.

``create_app(config)`` builds everything — database, services, blueprints, the admin and
the intake API — and nothing is built at import time, so every test (and every worker)
gets an app of its own. Run the demo with ``python -m examples.admin_app --demo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A portal app. ``config`` overrides the defaults and the ``QLEADS_*`` environment
    (see ``config.py``); ``QLEADS_DATABASE_URL`` names the database, which is created or
    upgraded on the way (``QLEADS_AUTO_UPGRADE``). With ``QLEADS_DEMO`` an empty database
    gets the demo data; only with ``QLEADS_BACKGROUND`` (``--demo`` sets it) does a thread
    sweep deadlines and send mail: production runs ``qleads worker`` processes."""
    from .admin import init_admin
    from .api import register_api
    from .background import BackgroundWorker
    from .config import load_config
    from .errors import init_errors
    from .favicon import init_favicon
    from .i18n import init_i18n
    from .installer import bp as installer_bp
    from .leads import bp as leads_bp
    from .mails import bp as mails_bp
    from .ops import init_ops
    from .partners import bp as partners_bp
    from .personal_data import bp as personal_data_bp
    from .personal_data import init_answers
    from .queue import bp as queue_bp
    from .rep import bp as rep_bp
    from .routing_check import bp as routing_bp
    from .security import init_account, init_auth, init_headers, init_throttle
    from .services import EXTENSION_KEY, build_services

    app = Flask(__name__)
    app.config.update(load_config(config))
    services = build_services(app.config)
    app.extensions[EXTENSION_KEY] = services
    if app.config["QLEADS_DEMO"]:
        from .demo import load_demo_if_empty

        app.extensions["qleads.demo"] = load_demo_if_empty(services)
    CSRFProtect(app)
    init_throttle(app)
    init_headers(app)
    init_i18n(app)
    init_auth(app)
    init_account(app)
    init_errors(app)
    init_favicon(app)
    for blueprint in (
        installer_bp,
        leads_bp,
        rep_bp,
        mails_bp,
        partners_bp,
        routing_bp,
        personal_data_bp,
        queue_bp,
    ):
        app.register_blueprint(blueprint)
    init_admin(app)
    register_api(app)
    init_ops(app)
    init_answers(app)
    if app.config["QLEADS_BACKGROUND"]:
        worker = BackgroundWorker(services, float(app.config["QLEADS_SWEEP_INTERVAL"]))
        app.extensions["qleads.background"] = worker
        worker.start()
    return app
