"""Leads whose postal code matched no territory, and their assignment (R1, R5, R12).

R1 never drops such a lead silently: it waits here, read-only, until an admin assigns it
to an installer, through ``LeadDesk.assign`` like every other assignment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import abort, flash, redirect
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import TemplateLinkRowAction
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from qleads.errors import InvalidInput, QleadsError
from qleads.lifecycle import Status
from qleads.personal_data import AccessKind

from ..errors import message_for
from ..forms import AssignForm
from ..i18n import shown_language
from ..personal_data import client
from ..services import current_services
from .base import ReadOnlyView, is_admin
from .rows import LeadRow

__all__ = ["UnroutedLeadView"]


def _status_name(status: Status) -> LazyString:
    """The library's name of ``status``, in the language of the page it is shown on."""
    return LazyString(lambda: status.label(shown_language()))


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
        "status": lambda v, c, m, n: Status(m.status).label(shown_language()),
    }
    column_choices: ClassVar[dict[str, Any]] = {
        "status": [(s.value, _status_name(s)) for s in Status],
    }
    column_extra_row_actions: ClassVar[list[Any]] = [
        TemplateLinkRowAction("qleads_row.assign_link", _l("Zuteilen"))
    ]

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        """The rows of a page or an export; each shown name is an access (R14)."""
        # Flask-Admin's ModelView declares get_list untyped (mypy sees no such method).
        count, rows = super().get_list(*args, **kwargs)  # type: ignore[misc]
        if kwargs.get("execute", True) and rows is not None:
            self._record([row.id for row in rows])
        return count, rows

    def get_one(self, id: Any) -> Any:
        """One row (details, assignment); reading it is an access (R14)."""
        row = super().get_one(id)
        if row is not None:
            self._record([row.id])
        return row

    def _record(self, lead_ids: list[int]) -> None:
        self.end_read()
        current_services().desk.record_access(
            current_user.actor, lead_ids, kind=AccessKind.ADMIN_READ, client=client()
        )

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if is_admin():
            return LeadRow.territory_id.is_(None)
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
