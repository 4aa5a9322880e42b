""" "Zuordnung prüfen": where a lead would go, and why (``LeadDesk.explain_routing``).

Admins and sales reps give a postal code (and country) or paste a whole lead document
as the calculator sends it; the page shows the territory and rep it routes to (R1), the
settings its territory overrides, and for every installer whether he would see the lead
and could claim it, why not, until when, and his deadlines with their dates. Nothing is
stored.
"""

from __future__ import annotations

import json

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from qleads.errors import InvalidDocument, InvalidInput
from qleads.explain import RoutingExplanation

from .form_base import PortalForm
from .i18n import current_language
from .security.auth import role_required
from .services import current_services

__all__ = ["RoutingForm", "bp"]

bp = Blueprint("routing_check", __name__, url_prefix="/routing")


class RoutingForm(PortalForm):
    postal_code = StringField(_l("Postleitzahl"), validators=[Optional(), Length(max=10)])
    country = StringField(_l("Land"), default="DE", validators=[Optional(), Length(max=2)])
    document = TextAreaField(
        _l("oder die ganze Anfrage (JSON)"), validators=[Optional(), Length(max=64_000)]
    )


@bp.route("/", methods=["GET", "POST"])
@role_required("rep", "admin")
def explain() -> str:
    """The form, and below it the explanation of what was asked."""
    form = RoutingForm()
    explained: RoutingExplanation | None = None
    problems: list[str] = []
    if form.validate_on_submit():
        desk = current_services().desk
        try:
            if form.document.data:
                try:
                    raw = json.loads(form.document.data)
                except ValueError as error:
                    raise InvalidInput("document", f"is not JSON: {error}") from None
                if not isinstance(raw, dict):
                    raise InvalidInput("document", "must be a JSON object")
                explained = desk.explain_routing(current_user.actor, raw)
            else:
                explained = desk.explain_routing(
                    current_user.actor,
                    postal_code=form.postal_code.data or "",
                    country=(form.country.data or "DE").upper(),
                )
        except InvalidDocument as error:
            problems = [f"{e.path}: {e.message}" for e in error.errors]
        except InvalidInput as error:
            problems = [error.message]
    return render_template(
        "routing/explain.html",
        form=form,
        explained=explained,
        problems=problems,
        language=current_language(),
    )
