"""Lead sources and their API tokens (R1, R12: a source may only submit leads).

A token is shown once, when the source is created or a new one is issued, and only its
SHA-256 is stored (:func:`~..api.tokens.create_source_token`); issuing a new one revokes
the old one at once. The page that shows it is never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from flask import Response, abort, make_response, request
from flask_admin import expose
from flask_admin.model.template import TemplateLinkRowAction
from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, Length

from ..api.tokens import create_source_token
from ..services import current_services
from .base import ID_PATTERN, DirectoryView

__all__ = ["SourceView"]


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
        "id": {"validators": [DataRequired(), ID_PATTERN]},
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
