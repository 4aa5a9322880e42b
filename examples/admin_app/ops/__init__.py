"""What running the portal in production needs besides its pages: health and readiness
(:mod:`.health`), Prometheus metrics (:mod:`.observability`), the operator's Flask CLI
commands (:mod:`.commands`) and the log set-up (:mod:`.logs`).

:func:`init_ops` wires them into an app; ``create_app`` calls it.
"""

from __future__ import annotations

from flask import Flask

__all__ = ["init_ops"]


def init_ops(app: Flask) -> None:
    """``/healthz`` and ``/readyz``, ``/metrics`` when ``QLEADS_METRICS`` is on, and the
    commands ``create-admin``, ``create-user``, ``issue-token`` and ``db upgrade``."""
    from .commands import register_commands
    from .health import bp as health_bp
    from .observability import init_metrics

    app.register_blueprint(health_bp)
    init_metrics(app)
    register_commands(app)
