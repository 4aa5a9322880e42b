"""The directory views: sales reps, installers and territories with their postal-code
prefixes (R1, R5, R9).

A person's sales rep is a plain select (not Flask-Admin's Select2 box, whose
``javascript:`` links the Content Security Policy refuses): the list is short, and a
native select is one a screen reader and a phone handle well.

Ids are references that leads and history hold, so they are set once and never renamed
(:class:`~.base.DirectoryView`). A person's calendar (country, state, working days, time
zone) is checked the way the library builds it, so a form cannot store a calendar that
the deadlines (R9) would refuse later. A sales rep may open *Installateure* read-only,
filtered to his own installers (R5); everything else here is for admins.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import Select

from qleads.calendar import Calendar
from qleads.errors import InvalidCalendar

from .base import ID_PATTERN, LANGUAGE_CHOICES, DirectoryView, current_role, is_admin
from .labels import LANGUAGE_NAMES, choices
from .rows import InstallerRow, TerritoryPrefixRow

__all__ = ["InstallerView", "RepView", "TerritoryView"]

_PREFIX = re.compile(r"^[0-9A-Z]{1,10}$")
#: Plain shape check (WTForms' ``Email`` needs the optional ``email_validator`` package).
_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Keine gültige E-Mail-Adresse"))


def _validate_calendar(form: Any) -> None:
    try:
        days = frozenset(int(d) for d in str(form.workdays.data or "").split(",") if d.strip())
        Calendar(
            country=form.country.data,
            subdivision=form.subdivision.data or None,
            workdays=days,
            tz=form.tz.data,
        )
    except (ValueError, InvalidCalendar) as exc:
        raise ValidationError(str(exc)) from exc


def _timezone(_form: Any, field: Any) -> None:
    try:
        zoneinfo.ZoneInfo(str(field.data))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_l("Unbekannte Zeitzone")) from exc


#: Every person in the directory (reps, installers) has these, labelled and checked alike.
_PERSON_LABELS = {
    "id": _l("Kennung"),
    "name": _l("Name"),
    "email": _l("E-Mail"),
    "language": _l("Sprache"),
}
_PERSON_ARGS: dict[str, dict[str, Any]] = {
    "id": {"validators": [DataRequired(), ID_PATTERN]},
    "name": {"validators": [DataRequired(), Length(max=200)]},
    "email": {"validators": [DataRequired(), _EMAIL, Length(max=320)]},
    "language": {"choices": LANGUAGE_CHOICES},
}
_CALENDAR_LABELS = {
    "country": _l("Land (Feiertage)"),
    "subdivision": _l("Bundesland"),
    "workdays": _l("Arbeitstage (0=Mo … 6=So)"),
    "tz": _l("Zeitzone"),
}
_CALENDAR_ARGS: dict[str, dict[str, Any]] = {
    "country": {"validators": [DataRequired(), Regexp(r"^[A-Z]{2}$")], "default": "DE"},
    "subdivision": {"validators": [Optional(), Length(max=10)]},
    "workdays": {
        "validators": [DataRequired(), Regexp(r"^[0-6](,[0-6])*$")],
        "default": "0,1,2,3,4",
    },
    "tz": {"validators": [DataRequired(), _timezone], "default": "Europe/Berlin"},
}


class RepView(DirectoryView):
    column_choices: ClassVar[dict[str, Any]] = {"language": choices(LANGUAGE_NAMES)}
    column_list = ("id", "name", "email", "language", "subdivision")
    column_searchable_list = ("id", "name", "email")
    form_columns = ("id", "name", "email", "language", "country", "subdivision", "workdays", "tz")
    column_labels: ClassVar[dict[str, Any]] = {**_PERSON_LABELS, **_CALENDAR_LABELS}
    form_overrides: ClassVar[dict[str, Any]] = {"language": SelectField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {**_PERSON_ARGS, **_CALENDAR_ARGS}

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        _validate_calendar(form)


class InstallerView(DirectoryView):
    """Admins manage installers; a sales rep reads his own (R5: the installers he assigns
    leads to), nothing else."""

    roles = ("admin", "rep")
    column_choices: ClassVar[dict[str, Any]] = {"language": choices(LANGUAGE_NAMES)}
    column_list = ("id", "name", "email", "rep", "language", "subdivision", "active")
    column_searchable_list = ("id", "name", "email")
    column_filters = ("active", "rep_id", "language")
    column_sortable_list = ("id", "name", "email", "active")
    form_columns = (
        "id",
        "name",
        "email",
        "rep",
        "language",
        "country",
        "subdivision",
        "workdays",
        "tz",
        "digest_hour",
        "active",
    )
    column_export_list = ("id", "name", "email", "rep_id", "language", "active")
    column_labels: ClassVar[dict[str, Any]] = {
        **_PERSON_LABELS,
        "rep": _l("Vertriebsmitarbeiter"),
        "rep_id": _l("Vertriebsmitarbeiter"),
        "digest_hour": _l("Tägliche Sammelmail um (Stunde)"),
        "active": _l("Aktiv"),
        **_CALENDAR_LABELS,
    }
    form_overrides: ClassVar[dict[str, Any]] = {"language": SelectField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        **_PERSON_ARGS,
        "rep": {"validators": [InputRequired()], "widget": Select()},
        "digest_hour": {"validators": [Optional(), NumberRange(0, 23)]},
        **_CALENDAR_ARGS,
    }

    #: What a sales rep may open here: the list and a row's details, nothing that writes.
    rep_views: ClassVar[frozenset[str]] = frozenset({"index_view", "details_view"})

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        denied = super()._handle_view(name, **kwargs)
        if denied is None and not is_admin() and name not in self.rep_views:
            abort(403)
        return denied

    @property
    def can_create(self) -> bool:
        return is_admin()

    @property
    def can_edit(self) -> bool:
        return is_admin()

    @property
    def can_export(self) -> bool:
        return is_admin()

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if is_admin():
            return None
        if current_role() == "rep":
            return InstallerRow.rep_id == str(current_user.actor_id)
        return sa.false()

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        _validate_calendar(form)


class TerritoryView(DirectoryView):
    """Territories and their postal-code prefixes; new leads route by the longest prefix
    (R1), so a change here takes effect with the next lead."""

    column_list = ("id", "name", "country", "rep", "prefixes")
    column_searchable_list = ("id", "name")
    form_columns = ("id", "name", "country", "rep", "prefix_list")
    form_extra_fields: ClassVar[dict[str, Any]] = {
        "prefix_list": StringField(
            _l("PLZ-Präfixe"),
            description=_l("Durch Kommas getrennt, z. B. 04, 01, 09"),
            validators=[DataRequired()],
        )
    }
    column_labels: ClassVar[dict[str, Any]] = {
        "id": _l("Kennung"),
        "name": _l("Name"),
        "country": _l("Land"),
        "rep": _l("Vertriebsmitarbeiter"),
        "prefixes": _l("PLZ-Präfixe"),
        "prefix_list": _l("PLZ-Präfixe"),
    }
    column_formatters: ClassVar[dict[str, Callable[..., Any]]] = {
        "prefixes": lambda v, c, m, n: ", ".join(p.prefix for p in m.prefixes),
    }
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "id": {"validators": [DataRequired(), ID_PATTERN]},
        "name": {"validators": [DataRequired(), Length(max=200)]},
        "country": {"validators": [DataRequired(), Regexp(r"^[A-Z]{2}$")], "default": "DE"},
        "rep": {"validators": [InputRequired()], "widget": Select()},
    }

    def on_form_prefill(self, form: Any, id: Any) -> None:
        row = self.get_one(id)
        if row is not None:
            form.prefix_list.data = ", ".join(p.prefix for p in row.prefixes)

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        wanted = {p.strip().upper() for p in str(form.prefix_list.data or "").split(",")}
        wanted.discard("")
        bad = sorted(p for p in wanted if not _PREFIX.match(p))
        if bad or not wanted:
            raise ValidationError(
                str(_l("Ungültige PLZ-Präfixe: %(bad)s", bad=", ".join(bad) or "—"))
            )
        keep = [p for p in model.prefixes if p.prefix in wanted]
        have = {p.prefix for p in keep}
        model.prefixes = keep + [TerritoryPrefixRow(prefix=p) for p in sorted(wanted - have)]
