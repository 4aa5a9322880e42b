"""The portal's settings: defaults, the environment, and the caller's mapping, in that order.

Nothing here builds infrastructure; :func:`load_config` only returns a dict that
``create_app`` puts into ``app.config``. The secret key is never a constant: it comes from
the caller or ``QLEADS_SECRET_KEY``, and only the demo (``QLEADS_DEMO``) may generate a
random one (sessions then end when the process does, which is what a demo wants).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qleads.errors import ConfigurationError

__all__ = ["DEFAULTS", "load_config"]

#: Every setting the portal reads, with its default. Keys of the form ``QLEADS_*`` can
#: also be given in the environment; booleans accept 1/0, true/false, yes/no.
DEFAULTS: Mapping[str, Any] = {
    # where the data lives (leads, history, outbox, directory, portal users)
    "QLEADS_DATABASE_URL": "sqlite:///" + str(Path(tempfile.gettempdir()) / "qleads-demo.sqlite"),
    # demo mode: random secret, demo data when the database is empty, mails kept in the DB
    "QLEADS_DEMO": False,
    # the sweeper/dispatcher thread (R11, R10); off in tests
    "QLEADS_BACKGROUND": False,
    "QLEADS_SWEEP_INTERVAL": 30.0,
    # "database" keeps every mail in the portal's table (the demo mail reader shows it),
    # "smtp" delivers through MAIL_SERVER
    "QLEADS_MAILER": "database",
    "QLEADS_MAIL_FROM": "Lead Management <leads@localhost>",
    # the absolute root of the portal, for the deep links in mails (R10)
    "QLEADS_BASE_URL": "http://127.0.0.1:5000",
    "QLEADS_PER_PAGE": 20,
    # "Zur Website" in the header
    "QLEADS_WEBSITE_URL": "https://www.example.com/",
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_TIMEOUT": 10.0,
    # Flask / Flask-Babel / Flask-WTF
    "PREFERRED_URL_SCHEME": "http",
    "SESSION_COOKIE_SECURE": None,  # None: follow PREFERRED_URL_SCHEME
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,
}

_BOOL_KEYS = frozenset(k for k, v in DEFAULTS.items() if isinstance(v, bool)) | {
    "SESSION_COOKIE_SECURE"
}
_INT_KEYS = frozenset(
    k for k, v in DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool)
)
_FLOAT_KEYS = frozenset(k for k, v in DEFAULTS.items() if isinstance(v, float))
_ENV_KEYS = frozenset(k for k in DEFAULTS if k.startswith(("QLEADS_", "MAIL_")))


def _parse_bool(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"{key}: {text!r} is not a yes/no value")


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in _ENV_KEYS:
        if key not in environ:
            continue
        text = environ[key]
        try:
            if key in _BOOL_KEYS:
                found[key] = _parse_bool(key, text)
            elif key in _INT_KEYS:
                found[key] = int(text)
            elif key in _FLOAT_KEYS:
                found[key] = float(text)
            else:
                found[key] = text
        except ValueError as exc:
            raise ConfigurationError(f"{key}: {text!r} is not a number") from exc
    return found


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then ``QLEADS_*``/``MAIL_*`` environment variables, then ``overrides``.

    Raises :class:`~qleads.errors.ConfigurationError` when no secret key is given outside
    the demo, or when a setting cannot be read.
    """
    env = os.environ if environ is None else environ
    config: dict[str, Any] = dict(DEFAULTS)
    config.update(_from_env(env))
    config.update(overrides or {})
    if not config.get("SECRET_KEY"):
        secret = env.get("QLEADS_SECRET_KEY", "")
        if secret:
            config["SECRET_KEY"] = secret
        elif config["QLEADS_DEMO"]:
            config["SECRET_KEY"] = secrets.token_urlsafe(32)
        else:
            raise ConfigurationError(
                "no SECRET_KEY: pass one in the config or set QLEADS_SECRET_KEY "
                "(only --demo generates a random one)"
            )
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = config["PREFERRED_URL_SCHEME"] == "https"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if config["QLEADS_MAILER"] not in {"database", "smtp"}:
        raise ConfigurationError(
            f"QLEADS_MAILER: {config['QLEADS_MAILER']!r} is neither 'database' nor 'smtp'"
        )
    return config
