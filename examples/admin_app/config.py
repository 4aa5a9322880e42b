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

from limits import parse_many

from qleads.errors import ConfigurationError
from qleads.mail import PRODUCT_NAME

__all__ = ["DEFAULTS", "load_config"]

#: Every setting the portal reads, with its default. Keys of the form ``QLEADS_*`` can
#: also be given in the environment; booleans accept 1/0, true/false, yes/no.
DEFAULTS: Mapping[str, Any] = {
    # where the data lives (leads, history, outbox, directory, portal users)
    "QLEADS_DATABASE_URL": "sqlite:///" + str(Path(tempfile.gettempdir()) / "qleads-demo.sqlite"),
    # create or upgrade the schema when an app starts (qleads' and the portal's migrations);
    # production turns it off and runs "flask --app examples.admin_app db upgrade" first
    "QLEADS_AUTO_UPGRADE": True,
    # demo mode: random secret, demo data when the database is empty, mails kept in the DB
    "QLEADS_DEMO": False,
    # the sweeper/dispatcher thread (R11, R10); off in tests
    "QLEADS_BACKGROUND": False,
    "QLEADS_SWEEP_INTERVAL": 30.0,
    # /readyz fails when the oldest pending outbox row is older than this (seconds; 0: no
    # check): no worker is delivering
    "QLEADS_READY_MAX_OUTBOX_AGE": 900.0,
    # /metrics (Prometheus): off unless on, and then only with this bearer token
    "QLEADS_METRICS": False,
    "QLEADS_METRICS_TOKEN": "",
    # "database" keeps every mail in the portal's table (the demo mail reader shows it),
    # "smtp" delivers through MAIL_SERVER
    "QLEADS_MAILER": "database",
    "QLEADS_MAIL_FROM": "Lead Management <leads@localhost>",
    # what the banner and the mails call the product (the mails' footer names it)
    "QLEADS_PRODUCT_NAME": PRODUCT_NAME,
    # the mails' last line in every language instead of the footer naming the product
    # ("" keeps that footer)
    "QLEADS_MAIL_FOOTER": "",
    # the absolute root of the portal, for the deep links in mails (R10)
    "QLEADS_BASE_URL": "http://127.0.0.1:5000",
    "QLEADS_PER_PAGE": 20,
    # "Zur Website" in the header
    "QLEADS_WEBSITE_URL": "https://www.example.com/",
    # Throttling (Flask-Limiter, security/throttle.py). "memory://" counts per process: with
    # several processes or hosts give them one shared store, e.g. "redis://redis.internal:6379/0".
    "QLEADS_RATELIMIT_STORAGE_URI": "memory://",
    # The limits, in Flask-Limiter's notation ("10 per 15 minutes", several joined by ";").
    # Failed logins (and failed password changes) per user name, and per client address:
    "QLEADS_RATELIMIT_LOGIN_ACCOUNT": "10 per 15 minutes",
    "QLEADS_RATELIMIT_LOGIN_CLIENT": "30 per 15 minutes",
    # "Passwort vergessen" requests per user name, and per client address:
    "QLEADS_RATELIMIT_RESET_ACCOUNT": "3 per hour",
    "QLEADS_RATELIMIT_RESET_CLIENT": "10 per hour",
    # Intake API requests per bearer token (a calculator sends about one lead a second
    # at its busiest), and requests without a valid token per client address:
    "QLEADS_RATELIMIT_API_TOKEN": "120 per minute",
    "QLEADS_RATELIMIT_API_CLIENT": "60 per minute",
    # How long a "Passwort vergessen" link works (it works once)
    "QLEADS_PASSWORD_RESET_MINUTES": 60,
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto are trusted (0:
    # none). Without it every client has the proxy's address and HTTPS is not recognised.
    "QLEADS_PROXY_COUNT": 0,
    # Strict-Transport-Security for responses served over HTTPS ("" sends none)
    "QLEADS_HSTS": "max-age=31536000",
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
_RATE_LIMIT_KEYS = tuple(
    k for k in DEFAULTS if k.startswith("QLEADS_RATELIMIT_") and not k.endswith("_URI")
)


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
    for key in _RATE_LIMIT_KEYS:
        _check_rate_limit(key, config[key])
    if not str(config["QLEADS_PRODUCT_NAME"]).strip():
        raise ConfigurationError("QLEADS_PRODUCT_NAME must not be blank")
    if int(config["QLEADS_PASSWORD_RESET_MINUTES"]) < 1:
        raise ConfigurationError("QLEADS_PASSWORD_RESET_MINUTES must be at least 1")
    if config["QLEADS_METRICS"] and len(str(config["QLEADS_METRICS_TOKEN"])) < 16:
        raise ConfigurationError(
            "QLEADS_METRICS needs QLEADS_METRICS_TOKEN (at least 16 characters): the "
            "numbers reveal business volume"
        )
    if float(config["QLEADS_READY_MAX_OUTBOX_AGE"]) < 0:
        raise ConfigurationError("QLEADS_READY_MAX_OUTBOX_AGE must not be negative")
    if int(config["QLEADS_PROXY_COUNT"]) < 0:
        raise ConfigurationError("QLEADS_PROXY_COUNT must not be negative")
    return config


def _check_rate_limit(key: str, value: object) -> None:
    """A limit Flask-Limiter could not parse would only fail at the first request."""
    try:
        if not parse_many(str(value)):
            raise ValueError("no limit")
    except ValueError as exc:
        raise ConfigurationError(
            f"{key}: {value!r} is not a rate limit such as '10 per 15 minutes'"
        ) from exc
