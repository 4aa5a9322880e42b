"""The admin area of the example portal (Flask-Admin at ``/admin``).

Admins manage directory data here (sales reps, installers, territories with their postal
code prefixes, portal users, lead sources and their API tokens, the policy) and watch
the lead flow (unrouted leads, the mail outbox). Four promises hold for every view:

* **Access** (R12): every view, the index included, checks ``is_accessible``. Anonymous
  visitors are sent to the login page, logged-in users without the role get 403.
* **Row filtering**: ``get_query``, ``get_count_query`` and ``get_one`` all apply the
  same :meth:`ScopedModelView.row_filter`, so a row hidden from the list is also hidden
  from its details, edit and delete URLs, from actions and from exports. An admin sees
  every row. A sales rep may open exactly one view, *Installateure*, read-only and
  filtered to his own installers (the ones he assigns leads to, R5) — the same structure
  a portal can extend to more roles.
* **Leads are never edited here** (R12): the lead views are read-only lists; assigning an
  unrouted lead goes through ``LeadDesk.assign`` like everywhere else, and retrying a
  failed mail through ``Outbox.retry``.
* **CSRF** on every form: the forms are Flask-WTF forms (``form_base_class``), so the
  token they carry is the one the app-wide ``CSRFProtect`` checks; the batch-action and
  delete forms of Flask-Admin are built from the same base. Exports are limited to
  whitelisted columns and every cell is formula-safe (:func:`formula_safe`).

The ORM read-models below are mapped onto qleads' Core tables
(``qleads.adapters.sql.schema``) with a declarative base of their own; the frozen domain
classes stay unmapped.
"""

from __future__ import annotations

import re
import warnings
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    abort,
    flash,
    has_request_context,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import TemplateLinkRowAction
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import DeclarativeBase, Session, relationship, scoped_session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from qleads.adapters.sql.schema import (
    installer_table,
    lead_table,
    outbox_table,
    rep_table,
    source_table,
    territory_prefix_table,
    territory_table,
)
from qleads.calendar import Calendar
from qleads.errors import InvalidCalendar, InvalidInput, QleadsError
from qleads.lifecycle import Status
from qleads.model import Policy
from qleads.tabs import Tab

from .account import PASSWORD_RULES
from .api import create_source_token
from .errors import message_for
from .forms import AssignForm
from .models import ROLES, PortalUser
from .services import current_services

__all__ = [
    "AdminReadBase",
    "InstallerRow",
    "LeadRow",
    "OutboxRow",
    "RepRow",
    "SourceRow",
    "TerritoryPrefixRow",
    "TerritoryRow",
    "formula_safe",
    "init_admin",
]

_LANGUAGES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]
_ID_PATTERN = Regexp(r"^[A-Za-z0-9._:-]{1,100}$", message=_l("Nur Buchstaben, Ziffern und ._:-"))
_PREFIX = re.compile(r"^[0-9A-Z]{1,10}$")
#: Plain shape check (WTForms' ``Email`` needs the optional ``email_validator`` package).
_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Keine gültige E-Mail-Adresse"))


# --- read models on qleads' tables -------------------------------------------------------


class AdminReadBase(DeclarativeBase):
    """Declarative base of the admin's ORM read-models (qleads' tables, mapped here)."""


class RepRow(AdminReadBase):
    __table__ = rep_table

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class InstallerRow(AdminReadBase):
    __table__ = installer_table
    rep = relationship(RepRow, lazy="joined")

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class TerritoryPrefixRow(AdminReadBase):
    __table__ = territory_prefix_table

    def __str__(self) -> str:
        return str(self.prefix)


class TerritoryRow(AdminReadBase):
    __table__ = territory_table
    rep = relationship(RepRow, lazy="joined")
    prefixes = relationship(
        TerritoryPrefixRow,
        cascade="all, delete-orphan",
        order_by=territory_prefix_table.c.prefix,
        lazy="selectin",
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class SourceRow(AdminReadBase):
    __table__ = source_table

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class LeadRow(AdminReadBase):
    """Read-only: every change of a lead goes through ``LeadDesk`` (R12)."""

    __table__ = lead_table


class OutboxRow(AdminReadBase):
    """Read-only: delivery state changes go through the ``Outbox`` port (R10)."""

    __table__ = outbox_table


# --- helpers -----------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` tab or carriage
    return would start a formula (CSV injection), so such a cell gets a leading quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _role() -> str | None:
    if not has_request_context():
        return None
    user: Any = current_user
    if not getattr(user, "is_authenticated", False):
        return None
    role = getattr(user, "role", None)
    return str(role) if role is not None else None


def _is_admin() -> bool:
    return _role() == "admin"


def _deny() -> BaseResponse:
    """Anonymous: to the login page (back here afterwards); anyone else: 403."""
    if _role() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)
    raise AssertionError("abort() raises")  # pragma: no cover


class AdminForm(FlaskForm):
    """``form_base_class`` of every view: Flask-WTF's CSRF token, the one the app-wide
    ``CSRFProtect`` checks, in every create, edit, delete and batch-action form.

    It keeps the edited row as ``_obj``, as Flask-Admin's own form base does: the
    uniqueness check of a unique column (a user name) compares a clash with it, and
    without it every save of an existing row clashed with the row itself.
    """

    def __init__(self, formdata: Any = None, obj: Any = None, **kwargs: Any) -> None:
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, **kwargs)


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


# --- the base views ----------------------------------------------------------------------


class SecureIndexView(AdminIndexView):
    """The admin start page: admins only (R12), with the numbers that need attention."""

    def is_accessible(self) -> bool:
        return _is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return _deny()

    @expose("/")
    def index(self) -> str:
        services = current_services()
        unrouted = services.desk.counts(current_user.actor)[Tab.UNROUTED]
        with services.engine.connect() as conn:
            states: dict[str, int] = dict(
                conn.execute(
                    sa.select(outbox_table.c.state, sa.func.count()).group_by(outbox_table.c.state)
                ).all()
            )
        return self.render(
            "admin/index.html",
            unrouted=unrouted,
            pending=states.get("pending", 0),
            failed=states.get("failed", 0),
            sent=states.get("sent", 0),
            policy=services.desk.policy,
        )


class ScopedModelView(ModelView):
    """A model view with one row filter for list, count, details, edit, delete, actions
    and export. Subclasses say who may open them (``roles``) and which rows a role sees
    (:meth:`row_filter`); ``None`` means every row (admins)."""

    roles: ClassVar[tuple[str, ...]] = ("admin",)
    form_base_class = AdminForm
    list_template = "admin/qleads/list.html"
    can_view_details = True
    can_delete = False
    can_export = False
    export_types: ClassVar[list[str]] = ["csv"]
    page_size = 50
    column_display_pk = True

    def is_accessible(self) -> bool:
        return _role() in self.roles

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return _deny()

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        """Which rows the current user sees; ``None`` = all. Anyone not handled by a
        subclass sees nothing (fail closed)."""
        if _is_admin():
            return None
        return sa.false()

    def _filtered(self, query: Any) -> Any:
        condition = self.row_filter()
        return query if condition is None else query.filter(condition)

    def get_query(self) -> Any:
        return self._filtered(super().get_query())

    def get_count_query(self) -> Any:
        return self._filtered(super().get_count_query())

    def get_one(self, id: Any) -> Any:
        """The row, if :meth:`row_filter` lets the user see it; else ``None`` (Flask-Admin
        then answers "record does not exist", never the row)."""
        row = super().get_one(id)
        if row is None:
            return None
        condition = self.row_filter()
        if condition is None:
            return row
        mapper = sa.inspect(self.model)
        keys = [
            col == getattr(row, mapper.get_property_by_column(col).key)
            for col in mapper.primary_key
        ]
        return self.get_query().filter(*keys).one_or_none()

    def _selected(self, ids: Sequence[str]) -> list[Any]:
        """The rows of a batch action, through the same filter as the list."""
        found = []
        for ident in ids:
            row = self.get_one(ident)
            if row is not None:
                found.append(row)
        return found

    def end_read(self) -> None:
        """End the admin session's read transaction before the library writes: on SQLite
        an open reader on this connection would hold the writer off until it times out."""
        self.session.rollback()

    def get_export_value(self, model: Any, name: Any) -> Any:
        return formula_safe(super().get_export_value(model, name))


class ReadOnlyView(ScopedModelView):
    """A list of rows that only the library changes (R12): no create, edit or delete,
    and no form at all."""

    can_create = False
    can_edit = False
    can_delete = False

    def scaffold_form(self) -> Any:
        class Empty(AdminForm):
            """No fields: this view never edits rows."""

        return Empty


class DirectoryView(ScopedModelView):
    """Directory data (reps, installers, territories): ids are references held by leads
    and history, so they are set once and never renamed (the edit form has no id)."""

    def get_edit_form(self) -> Any:
        form_class = self.scaffold_form()
        if hasattr(form_class, "id"):
            delattr(form_class, "id")
        return form_class


# --- directory views ---------------------------------------------------------------------

#: Every person in the directory (reps, installers) has these, labelled and checked alike.
_PERSON_LABELS = {
    "id": _l("Kennung"),
    "name": _l("Name"),
    "email": _l("E-Mail"),
    "language": _l("Sprache"),
}
_PERSON_ARGS: dict[str, dict[str, Any]] = {
    "id": {"validators": [DataRequired(), _ID_PATTERN]},
    "name": {"validators": [DataRequired(), Length(max=200)]},
    "email": {"validators": [DataRequired(), _EMAIL, Length(max=320)]},
    "language": {"choices": _LANGUAGES},
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
        "rep": {"validators": [InputRequired()]},
        "digest_hour": {"validators": [Optional(), NumberRange(0, 23)]},
        **_CALENDAR_ARGS,
    }

    #: What a sales rep may open here: the list and a row's details, nothing that writes.
    rep_views: ClassVar[frozenset[str]] = frozenset({"index_view", "details_view"})

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        denied = super()._handle_view(name, **kwargs)
        if denied is None and not _is_admin() and name not in self.rep_views:
            abort(403)
        return denied

    @property
    def can_create(self) -> bool:
        return _is_admin()

    @property
    def can_edit(self) -> bool:
        return _is_admin()

    @property
    def can_export(self) -> bool:
        return _is_admin()

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if _is_admin():
            return None
        if _role() == "rep":
            return installer_table.c.rep_id == str(current_user.actor_id)
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
    }
    column_formatters: ClassVar[dict[str, Callable[..., Any]]] = {
        "prefixes": lambda v, c, m, n: ", ".join(p.prefix for p in m.prefixes),
    }
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "id": {"validators": [DataRequired(), _ID_PATTERN]},
        "name": {"validators": [DataRequired(), Length(max=200)]},
        "country": {"validators": [DataRequired(), Regexp(r"^[A-Z]{2}$")], "default": "DE"},
        "rep": {"validators": [InputRequired()]},
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


class PortalUserView(ScopedModelView):
    """Logins. The password is set through a form field and stored only as a hash.

    Setting a password, deactivating a login or changing its role or actor ends every
    session it has (``PortalUser.end_sessions``): a cookie from before gets the login page.
    """

    column_list = ("username", "role", "actor_id", "language", "active")
    column_details_list = column_list  # never the password hash
    column_searchable_list = ("username", "actor_id")
    column_filters = ("role", "active")
    form_columns = ("username", "password", "role", "actor_id", "language", "active")
    form_extra_fields: ClassVar[dict[str, Any]] = {
        "password": PasswordField(
            _l("Neues Passwort"),
            description=_l("Leer lassen, um das Passwort nicht zu ändern"),
            validators=[Optional(), *PASSWORD_RULES],
        )
    }
    can_delete = True
    column_labels: ClassVar[dict[str, Any]] = {
        "username": _l("Benutzername"),
        "role": _l("Rolle"),
        "actor_id": _l("Kennung (Installateur/Vertrieb/Admin)"),
        "language": _l("Sprache"),
        "active": _l("Aktiv"),
    }
    form_overrides: ClassVar[dict[str, Any]] = {"role": SelectField, "language": SelectField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "role": {"choices": [SelectChoice(r, r) for r in ROLES]},
        "language": {"choices": _LANGUAGES},
        "username": {"validators": [DataRequired(), Length(max=80)]},
        "actor_id": {"validators": [DataRequired(), Length(max=64)]},
    }

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        from .models import actor_for

        if actor_for(current_services().directory, model.role, model.actor_id) is None:
            raise ValidationError(
                str(
                    _l(
                        "Es gibt keinen Eintrag %(id)s mit der Rolle %(role)s",
                        id=model.actor_id,
                        role=model.role,
                    )
                )
            )
        if form.password.data:
            model.set_password(form.password.data)
        elif is_created:
            raise ValidationError(str(_l("Ein neues Konto braucht ein Passwort")))
        state = sa.inspect(model)
        if not is_created and (
            form.password.data
            or not model.active
            or any(state.attrs[name].history.has_changes() for name in ("role", "actor_id"))
        ):
            model.end_sessions()

    def delete_model(self, model: Any) -> bool:
        if model.id == getattr(current_user, "id", None):
            flash(str(_l("Das eigene Konto kann nicht gelöscht werden.")), "error")
            return False
        return bool(super().delete_model(model))


class SourceView(DirectoryView):
    """Lead sources (R12: they may only submit leads). The API token is shown once, on
    creation or when a new one is issued; only its SHA-256 is stored."""

    column_list = ("id", "name", "has_token")
    form_columns = ("id", "name")
    column_labels: ClassVar[dict[str, Any]] = {
        "id": _l("Kennung"),
        "name": _l("Name"),
        "has_token": _l("API-Token"),
    }
    column_formatters: ClassVar[dict[str, Callable[..., Any]]] = {
        "has_token": lambda v, c, m, n: _l("vorhanden") if m.token_hash else _l("keins"),
    }
    column_details_list = ("id", "name", "has_token")
    column_extra_row_actions: ClassVar[list[Any]] = [
        TemplateLinkRowAction("qleads_row.issue_token", _l("Neues API-Token ausgeben"))
    ]
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "id": {"validators": [DataRequired(), _ID_PATTERN]},
        "name": {"validators": [DataRequired(), Length(max=200)]},
    }

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> Any:
        """As Flask-Admin's, but a created source answers with its token page."""
        if request.method == "POST":
            form = self.create_form()
            if self.validate_form(form):
                model = self.create_model(form)
                if model:
                    return self._show_token(str(model.id))
        return super().create_view()

    @expose("/token/", methods=("POST",))
    def issue_token(self) -> Any:
        """Replace the source's token (the old one stops working at once)."""
        ident = request.form.get("id", "")
        row = self.get_one(ident) if ident else None
        if row is None:
            abort(404)
        source_id = str(row.id)
        self.end_read()
        return self._show_token(source_id)

    def _show_token(self, source_id: str) -> Response:
        services = current_services()
        token = create_source_token(services.directory, source_id)
        response = make_response(
            self.render(
                "admin/qleads/token.html",
                source=services.directory.source(source_id),
                token=token,
                return_url=self.get_url(".index_view"),
            )
        )
        response.headers["Cache-Control"] = "no-store"
        return response


# --- lead and mail views -----------------------------------------------------------------


class UnroutedLeadView(ReadOnlyView):
    """Leads whose postal code matched no territory (R1: never dropped silently). An admin
    assigns one to an installer through ``LeadDesk.assign`` (R5, R12)."""

    column_list = ("id", "name", "postal_code", "city", "received_at", "status")
    column_details_list = (
        "id",
        "source_id",
        "name",
        "postal_code",
        "city",
        "received_at",
        "status",
        "holder_id",
    )
    column_searchable_list = ("name", "postal_code", "city")
    column_filters = ("status",)
    column_default_sort = ("received_at", True)
    column_labels: ClassVar[dict[str, Any]] = {
        "id": _l("ID"),
        "source_id": _l("Quell-ID"),
        "name": _l("Name"),
        "postal_code": _l("PLZ"),
        "city": _l("Ort"),
        "received_at": _l("Eingangsdatum"),
        "status": _l("Status"),
        "holder_id": _l("Bearbeiter"),
    }
    column_formatters: ClassVar[dict[str, Callable[..., Any]]] = {
        "status": lambda v, c, m, n: Status(m.status).label_de,
    }
    column_extra_row_actions: ClassVar[list[Any]] = [
        TemplateLinkRowAction("qleads_row.assign_link", _l("Zuteilen"))
    ]

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if _is_admin():
            return lead_table.c.territory_id.is_(None)
        return sa.false()

    @expose("/assign/<int:lead_id>", methods=("GET", "POST"))
    def assign_view(self, lead_id: int) -> Any:
        row = self.get_one(str(lead_id))
        if row is None:
            abort(404)
        lead = {"id": row.id, "name": row.name, "postal_code": row.postal_code, "city": row.city}
        self.end_read()
        services = current_services()
        form = AssignForm()
        form.installer_id.label.text = _l("Installateur")
        form.installer_id.choices = [
            SelectChoice(i.id, f"{i.name} ({i.id})")
            for i in services.directory.installers()
            if i.active
        ]
        if form.validate_on_submit():
            try:
                chosen = services.directory.installer(str(form.installer_id.data))
                if chosen is None:
                    raise InvalidInput("installer", "no such installer")
                services.desk.assign(current_user.actor, lead_id, chosen)
            except QleadsError as exc:
                flash(message_for(exc), "error")
            else:
                flash(str(_l("Die Anfrage wurde zugeteilt.")), "success")
                return redirect(self.get_url(".index_view"))
        return self.render(
            "admin/qleads/assign.html",
            lead=lead,
            form=form,
            return_url=get_redirect_target() or self.get_url(".index_view"),
        )


_OUTBOX_LABELS: dict[str, Any] = {
    "id": _l("Nr."),
    "key": _l("Schlüssel"),
    "kind": _l("Art"),
    "lead_id": _l("Anfrage"),
    "recipient_id": _l("Empfänger"),
    "state": _l("Zustand"),
    "attempts": _l("Versuche"),
    "next_attempt_at": _l("Nächster Versuch"),
    "last_error": _l("Letzter Fehler"),
    "sent_at": _l("Gesendet"),
    "created_at": _l("Erstellt"),
}


class OutboxView(ReadOnlyView):
    """The mail outbox (R10): what was sent, what waits, what failed. A failed mail is
    retried through ``Outbox.retry`` (batch action "Erneut senden")."""

    column_list = (
        "id",
        "kind",
        "lead_id",
        "recipient_id",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    column_filters: tuple[str, ...] = ("state", "kind", "recipient_id", "lead_id")
    column_searchable_list = ("recipient_id", "key")
    column_default_sort = ("id", True)
    column_labels = _OUTBOX_LABELS
    can_export = True
    column_export_list = (
        "id",
        "kind",
        "lead_id",
        "recipient_id",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )

    @action(
        "retry",
        _l("Erneut senden"),
        _l("Die ausgewählten fehlgeschlagenen Mails erneut senden?"),
    )
    def action_retry(self, ids: Sequence[str]) -> None:
        outbox = current_services().outbox
        rows = [(row.key, row.state) for row in self._selected(ids)]
        self.end_read()
        retried = skipped = 0
        for key, state in rows:
            if state != "failed":
                skipped += 1
                continue
            try:
                outbox.retry(key)
            except QleadsError as exc:
                flash(message_for(exc), "error")
            else:
                retried += 1
        flash(str(_l("%(n)d Mail(s) werden erneut gesendet.", n=retried)), "success")
        if skipped:
            flash(str(_l("%(n)d Mail(s) waren nicht fehlgeschlagen.", n=skipped)), "info")


class FailedMailView(OutboxView):
    """Only the failed mails: the list an admin must look at (R10)."""

    column_filters: tuple[str, ...] = ("kind", "recipient_id", "lead_id")

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if _is_admin():
            return outbox_table.c.state == "failed"
        return sa.false()


# --- policy ------------------------------------------------------------------------------


class PolicyForm(FlaskForm):
    claim_hold_days = IntegerField(
        _l("Haltefrist nach Übernahme (Werktage, R3)"),
        validators=[InputRequired(), NumberRange(1, 30)],
    )
    assignment_reminder_days = IntegerField(
        _l("Erinnerung nach Zuteilung (Werktage, R5)"),
        validators=[InputRequired(), NumberRange(1, 30)],
    )
    escalation_enabled = BooleanField(_l("Eskalation an den Vertrieb (R5)"))
    escalation_days = IntegerField(
        _l("Eskalation nach weiteren Werktagen"),
        validators=[Optional(), NumberRange(1, 60)],
    )
    contact_before_claim = SelectField(
        _l("Kontaktdaten vor der Übernahme (R16)"),
        choices=[
            SelectChoice("hidden", _l("verborgen (Standard, Datenschutz)")),
            SelectChoice("shown", _l("sichtbar (wie im Handbuch)")),
        ],
    )

    def validate_escalation_days(self, field: Any) -> None:
        if self.escalation_enabled.data and not field.data:
            raise ValidationError(str(_l("Bitte die Zahl der Werktage angeben.")))


class PolicyView(BaseView):
    """The rules' knobs (R3, R5, R16); saved at once for every following use case."""

    def is_accessible(self) -> bool:
        return _is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return _deny()

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        settings = current_services().settings
        current = settings.policy
        form = PolicyForm(
            data={
                "claim_hold_days": current.claim_hold_days,
                "assignment_reminder_days": current.assignment_reminder_days,
                "escalation_enabled": current.escalation_days is not None,
                "escalation_days": current.escalation_days,
                "contact_before_claim": current.contact_before_claim,
            }
            if request.method == "GET"
            else None
        )
        if form.validate_on_submit():
            settings.save_policy(
                Policy(
                    claim_hold_days=form.claim_hold_days.data,
                    assignment_reminder_days=form.assignment_reminder_days.data,
                    escalation_days=(
                        form.escalation_days.data if form.escalation_enabled.data else None
                    ),
                    contact_before_claim=form.contact_before_claim.data,
                )
            )
            flash(str(_l("Die Regeln wurden gespeichert.")), "success")
            return redirect(self.get_url(".index"))
        return self.render("admin/qleads/policy.html", form=form)


# --- wiring ------------------------------------------------------------------------------


def init_admin(app: Flask) -> None:
    """Mount Flask-Admin at ``/admin`` on ``app`` (called by ``create_app``).

    The views share one scoped ORM session per app, opened from the portal's session
    factory on first use in a request and closed when the app context ends.
    """

    def _new_session() -> Session:
        opened: Session = current_services().sessions()
        return opened

    session: scoped_session[Session] = scoped_session(_new_session)  # type: ignore[arg-type]

    @app.teardown_appcontext
    def _close_admin_session(_exc: BaseException | None) -> None:
        session.remove()

    admin = Admin(
        app,
        name="Lead Management · Admin",
        index_view=SecureIndexView(name=_l("Übersicht"), url="/admin"),
    )
    directory = _l("Verzeichnis")
    mails = _l("Mails")
    with warnings.catch_warnings():
        # Flask-Admin 2 prefers a Flask-SQLAlchemy object; the portal has none and passes
        # a scoped session, which it still supports (and flags as deprecated for 3.0).
        warnings.simplefilter("ignore", DeprecationWarning)
        admin.add_view(RepView(RepRow, session, _l("Vertrieb"), directory, endpoint="reps"))
        admin.add_view(
            InstallerView(
                InstallerRow, session, _l("Installateure"), directory, endpoint="installers"
            )
        )
        admin.add_view(
            TerritoryView(TerritoryRow, session, _l("Gebiete"), directory, endpoint="territories")
        )
        admin.add_view(
            PortalUserView(PortalUser, session, _l("Benutzer"), directory, endpoint="users")
        )
        admin.add_view(
            SourceView(SourceRow, session, _l("Lead-Quellen"), directory, endpoint="sources")
        )
        admin.add_view(UnroutedLeadView(LeadRow, session, _l("Ohne Gebiet"), endpoint="unrouted"))
        admin.add_view(OutboxView(OutboxRow, session, _l("Postausgang"), mails, endpoint="outbox"))
        admin.add_view(
            FailedMailView(OutboxRow, session, _l("Fehlgeschlagen"), mails, endpoint="failed_mails")
        )
    admin.add_view(PolicyView(_l("Regeln"), endpoint="policy"))
    app.extensions["qleads_admin"] = admin
