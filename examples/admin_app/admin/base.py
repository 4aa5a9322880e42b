"""What every admin view stands on: who may enter, which rows a role sees, CSRF-carrying
forms, formula-safe exports, and the start page.

:class:`ScopedModelView` applies one :meth:`~ScopedModelView.row_filter` to the list,
the count, a row's details, edit and delete URLs, batch actions and exports, so a row
hidden from one is hidden from all. :class:`ReadOnlyView` is for rows only the library
changes (R12), :class:`DirectoryView` for directory data whose ids are references.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import abort, has_request_context, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Regexp

from qleads.tabs import Tab

from ..services import current_services
from .labels import DATE_FORMATTERS, DETAIL_DATE_FORMATTERS
from .rows import OutboxRow

__all__ = [
    "ID_PATTERN",
    "LANGUAGE_CHOICES",
    "AdminForm",
    "DirectoryView",
    "ReadOnlyView",
    "ScopedModelView",
    "SecureIndexView",
    "current_role",
    "deny",
    "formula_safe",
    "is_admin",
]

#: The languages a person or a login may have (their mails and pages).
LANGUAGE_CHOICES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]
#: The shape of an id that leads and history refer to (reps, installers, sources …).
ID_PATTERN = Regexp(r"^[A-Za-z0-9._:-]{1,100}$", message=_l("Nur Buchstaben, Ziffern und ._:-"))

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` tab or carriage
    return would start a formula (CSV injection), so such a cell gets a leading quote."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def current_role() -> str | None:
    """The logged-in user's role; ``None`` outside a request or for anonymous visitors."""
    if not has_request_context():
        return None
    user: Any = current_user
    if not getattr(user, "is_authenticated", False):
        return None
    role = getattr(user, "role", None)
    return str(role) if role is not None else None


def is_admin() -> bool:
    return current_role() == "admin"


def deny() -> BaseResponse:
    """Anonymous: to the login page (back here afterwards); anyone else: 403."""
    if current_role() is None:
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


class SecureIndexView(AdminIndexView):
    """The admin start page: admins only (R12), with the numbers that need attention."""

    def is_accessible(self) -> bool:
        return is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return deny()

    @expose("/")
    def index(self) -> str:
        services = current_services()
        unrouted = services.desk.counts(current_user.actor)[Tab.UNROUTED]
        with services.engine.connect() as conn:
            states: dict[str, int] = dict(
                conn.execute(
                    sa.select(OutboxRow.state, sa.func.count()).group_by(OutboxRow.state)
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
    (:meth:`row_filter`); ``None`` means every row (admins). Nothing is deleted and
    nothing exported unless a view says so (``can_export`` is off by Flask-Admin's
    default; a view turns it on as an attribute, or per user as a property)."""

    roles: ClassVar[tuple[str, ...]] = ("admin",)
    form_base_class = AdminForm
    list_template = "admin/qleads/list.html"
    can_view_details = True
    can_delete = False
    export_types: ClassVar[list[str]] = ["csv"]
    page_size = 50
    column_display_pk = True
    column_type_formatters = DATE_FORMATTERS
    column_type_formatters_detail = DETAIL_DATE_FORMATTERS

    def is_accessible(self) -> bool:
        return current_role() in self.roles

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return deny()

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        """Which rows the current user sees; ``None`` = all. Anyone not handled by a
        subclass sees nothing (fail closed)."""
        if is_admin():
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

    def selected_rows(self, ids: Sequence[str]) -> list[Any]:
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
