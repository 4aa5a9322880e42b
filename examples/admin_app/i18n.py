"""German first, English on request: the portal's language, dates, money and times.

The portal's texts are written in German in the code and the templates (the manual's
words, so the German screens need no catalogue at all); ``translations/en`` holds the
English catalogue, checked in as ``messages.po`` *and* its compiled ``messages.mo`` so
that neither a deployment nor CI has to run ``pybabel compile`` (a test keeps the two in
step). The names of statuses, tabs, contact channels and release reasons are the
library's (``qleads.texts``), in the same language: the portal keeps no copy of them.
The language is the logged-in user's (stored with him), else the session's choice, else
German. Dates look like ``27.07.2018`` and money like ``9.132,00 €`` in German; times
are shown in Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Flask, session
from flask_babel import Babel, format_currency, format_date, format_datetime, get_locale
from flask_login import current_user
from markupsafe import Markup

from qleads.lifecycle import Status
from qleads.tabs import Tab

__all__ = ["LANGUAGES", "current_language", "init_i18n", "shown_language"]

LANGUAGES = ("de", "en")


def current_language() -> str:
    """``de`` or ``en``, the way the locale selector decides."""
    if current_user and current_user.is_authenticated:
        language = str(getattr(current_user, "language", "") or "")
        if language in LANGUAGES:
            return language
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return str(chosen)
    return "de"


def _date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    # an instant is shown on its local day (Flask-Babel converts to Europe/Berlin)
    return str(format_date(value, "dd.MM.yyyy" if _german() else "dd/MM/yyyy"))


def _datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    pattern = "dd.MM.yyyy, HH:mm 'Uhr'" if _german() else "dd/MM/yyyy, HH:mm"
    return str(format_datetime(value, pattern))


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str(format_currency(value, "EUR"))


def shown_language() -> str:
    """The language of the page or mail being made: the request's, or the one a
    ``force_locale`` block chose. The library's labels are asked for in it."""
    return str(get_locale() or "de")


def _german() -> bool:
    return shown_language().startswith("de")


def _status(status: Status) -> str:
    return status.label(shown_language())


def _tab(tab: Tab) -> str:
    return tab.label(shown_language())


def _number(value: object) -> str:
    from flask_babel import format_decimal

    return str(format_decimal(value))


def _nl2br(text: str) -> Markup:
    from markupsafe import escape

    return Markup("<br>").join(escape(line) for line in text.split("\n"))


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=current_language)
    app.jinja_env.filters.update(
        date=_date,
        datetime=_datetime,
        money=_money,
        status=_status,
        tab=_tab,
        number=_number,
        nl2br=_nl2br,
    )
    app.jinja_env.globals["current_language"] = current_language
