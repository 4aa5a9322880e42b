"""The portal for a WSGI server: ``gunicorn -c examples/admin_app/gunicorn.conf.py
examples.admin_app.wsgi:app``.

Everything comes from the environment (``QLEADS_*``, ``MAIL_*``; see
``docs/deployment.md``): ``QLEADS_SECRET_KEY`` and ``QLEADS_DATABASE_URL`` at least. Log
lines go to stderr as ``QLEADS_LOG_LEVEL`` and ``QLEADS_LOG_FORMAT`` say. No thread
sweeps or sends mail here unless ``QLEADS_BACKGROUND`` is set: ``qleads worker`` does.
Each gunicorn worker imports this module after the fork and builds its own app, engine
and pool.
"""

from __future__ import annotations

from qleads.cli.logs import configure_logging

from . import create_app

__all__ = ["app"]

configure_logging(loggers=("qleads", "examples"))
app = create_app()
