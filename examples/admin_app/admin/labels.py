"""The admin area in the portal's words: the names of roles, mail kinds, outbox states
and languages instead of their stored values, and dates in the user's locale.

Status names are the library's (:meth:`qleads.lifecycle.Status.label`); the words here
are the portal's own, German message ids with the English catalogue beside the portal's
other texts. A value without a name (a kind added later) is shown as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from flask_admin.model.typefmt import BASE_FORMATTERS, DETAIL_FORMATTERS
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..i18n import shown_language

__all__ = [
    "DATE_FORMATTERS",
    "DETAIL_DATE_FORMATTERS",
    "LANGUAGE_NAMES",
    "MAIL_KINDS",
    "OUTBOX_STATES",
    "ROLE_NAMES",
    "choices",
    "named",
]

ROLE_NAMES: Mapping[str, Any] = {
    "installer": _l("Installateur"),
    "rep": _l("Vertriebsmitarbeiter"),
    "admin": _l("Administrator"),
}
MAIL_KINDS: Mapping[str, Any] = {
    "new_lead": _l("Neue Anfrage"),
    "assigned": _l("Anfrage zugeteilt"),
    "assignment_reminder": _l("Erinnerung nach Zuteilung"),
    "claim_expired": _l("Reservierung abgelaufen"),
    "follow_up_due": _l("Wiedervorlage fällig"),
    "escalation": _l("Eskalation an den Vertrieb"),
    "message": _l("Nachricht (z. B. Passwort zurücksetzen)"),
}
OUTBOX_STATES: Mapping[str, Any] = {
    "pending": _l("wartend"),
    "sent": _l("gesendet"),
    "failed": _l("fehlgeschlagen"),
}
LANGUAGE_NAMES: Mapping[str, Any] = {"de": "Deutsch", "en": "English"}


def choices(names: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``column_choices`` for Flask-Admin: the list, the details and the filters show
    the names."""
    return list(names.items())


def named(names: Mapping[str, Any]) -> Callable[..., Any]:
    """A column formatter that shows a value by its name (the stored value if none)."""

    def show(_view: Any, _context: Any, model: Any, name: str) -> Any:
        value = getattr(model, name)
        return names.get(str(value), value) if value is not None else ""

    return show


def _datetime(_view: Any, value: dt.datetime, _name: str = "") -> str:
    """An instant in the user's language and the portal's zone, to the minute."""
    german = shown_language().startswith("de")
    return str(format_datetime(value, "dd.MM.yyyy, HH:mm 'Uhr'" if german else "dd/MM/yyyy, HH:mm"))


def _bool(_view: Any, value: bool, _name: str = "") -> Markup:
    return Markup("{}").format(_l("ja") if value else _l("nein"))


#: Flask-Admin's formatters, with dates to the minute in the user's locale and yes/no
#: in words (its icons carry no text a screen reader could read).
DATE_FORMATTERS: dict[type, Callable[..., Any]] = {
    **BASE_FORMATTERS,
    dt.datetime: _datetime,
    bool: _bool,
}
DETAIL_DATE_FORMATTERS: dict[type, Callable[..., Any]] = {
    **DETAIL_FORMATTERS,
    dt.datetime: _datetime,
    bool: _bool,
}
