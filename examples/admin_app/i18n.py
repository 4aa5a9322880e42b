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

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.support import NullTranslations
from flask import Flask, g, has_app_context, session
from flask_babel import Babel, format_currency, get_locale, get_timezone, get_translations  # type: ignore[attr-defined]
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
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


class _Shown:
    """The language a page is being made in, its catalogue and time zone: what every
    text, date and label of the page asks for, hundreds of times a page."""

    __slots__ = ("german", "language", "translations", "zone")

    def __init__(self, language: str, translations: NullTranslations, zone: dt.tzinfo) -> None:
        self.language = language
        self.german = language.startswith("de")
        self.translations = translations
        self.zone = zone


def _shown() -> _Shown:
    """Flask-Babel's locale, catalogue and time zone, worked out once per locale of a
    request: Flask-Babel looks each up afresh on every call. The answer is kept on
    Flask-Babel's own request state next to the locale it was made for, so a
    ``force_locale`` block (which sets another locale there) gets its own, and a
    request never sees another's."""
    state = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        kept = getattr(state, "portal_shown", None)
        domain = getattr(state, "babel_domain", None)
        if kept is not None and kept[0] is locale and kept[1] is domain:
            shown: _Shown = kept[2]
            return shown
    shown = _Shown(str(get_locale() or "de"), get_translations(), _zone(get_timezone()))
    state = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(state, "babel_locale", None)
    if state is not None and locale is not None:
        state.portal_shown = (locale, getattr(state, "babel_domain", None), shown)
    return shown


def _zone(zone: dt.tzinfo) -> dt.tzinfo:
    """Flask-Babel's time zone (pytz's) as the standard library's zone of that name:
    the same local times, a fraction of the cost per date of a page (no ``normalize``)."""
    name = getattr(zone, "zone", None)
    if isinstance(name, str):
        # A name the system's zone database lacks keeps pytz's zone.
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(name)
    return zone


def _local(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """An instant in the page's time zone (a naive one is UTC), as Flask-Babel has it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(zone)
    normalize = getattr(zone, "normalize", None)  # pytz's zones
    return normalize(local) if normalize is not None else local


def _date(value: dt.datetime | dt.date | None) -> str:
    """``27.07.2018`` (``27/07/2018`` in English): Babel's ``dd.MM.yyyy`` without its
    pattern machinery; an instant is shown on its local day (Europe/Berlin)."""
    if value is None:
        return ""
    shown = _shown()
    if isinstance(value, dt.datetime):
        value = _local(value, shown.zone)
    sep = "." if shown.german else "/"
    return f"{value.day:02d}{sep}{value.month:02d}{sep}{value.year:04d}"


def _datetime(value: dt.datetime | None) -> str:
    """``27.07.2018, 14:05 Uhr`` (``27/07/2018, 14:05``), in Europe/Berlin."""
    if value is None:
        return ""
    shown = _shown()
    local = _local(value, shown.zone)
    day = _date(local.date())
    time = f"{local.hour:02d}:{local.minute:02d}"
    return f"{day}, {time} Uhr" if shown.german else f"{day}, {time}"


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str(format_currency(value, "EUR"))


def shown_language() -> str:
    """The language of the page or mail being made: the request's, or the one a
    ``force_locale`` block chose. The library's labels are asked for in it."""
    return _shown().language


def _gettext(text: str) -> str:
    return str(_shown().translations.ugettext(text))


@pass_context
def _page_gettext(context: Context, text: str, **variables: Any) -> str:
    """``_()`` and ``gettext()`` of the templates: Jinja's new-style gettext (the text
    is markup under autoescape, and always a format string) in one call, where the
    one ``install_gettext_callables`` makes goes through two more per text."""
    found = _shown().translations.ugettext(text)
    # The catalogue's texts are the templates' own, trusted as Jinja trusts them.
    shown: str = Markup(found) if context.eval_ctx.autoescape else found  # noqa: S704
    return shown % variables


def _ngettext(singular: str, plural: str, n: int) -> str:
    return str(_shown().translations.ungettext(singular, plural, n))


def _pgettext(context: str, text: str) -> str:
    return str(_shown().translations.upgettext(context, text))


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(_shown().translations.unpgettext(context, singular, plural, n))


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
    # The templates' texts through the catalogue kept per request (:func:`_shown`)
    # rather than Flask-Babel's, which looks the locale and catalogue up on every text.
    callables: dict[str, Any] = {
        "gettext": _gettext,
        "ngettext": _ngettext,
        "pgettext": _pgettext,
        "npgettext": _npgettext,
    }
    app.jinja_env.install_gettext_callables(newstyle=True, **callables)  # type: ignore[attr-defined]
    app.jinja_env.globals.update(_=_page_gettext, gettext=_page_gettext)
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
