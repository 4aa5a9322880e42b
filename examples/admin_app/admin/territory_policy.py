"""Per-territory rules: the settings a territory sets differently from the global policy
(``LeadDesk.set_territory_policy``, stored with the leads).

The form is generic: one field per setting of the library's policy, whatever it declares
(``qleads.policies.setting_names``), empty for "as the global rules". A value is read as
JSON (``3``, ``null``, ``"shown"``) or, failing that, as the text typed; the library
checks each and names the one it refuses, and then nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from qleads import policies
from qleads.errors import InvalidInput

from ..services import current_services
from .base import deny, is_admin

__all__ = ["TerritoryPolicyView", "read_value"]


def read_value(text: str) -> object:
    """A typed value: JSON if it parses, else the text itself."""
    try:
        value: object = json.loads(text)
    except ValueError:
        return text
    return value


class TerritoryPolicyView(BaseView):
    """The territories with their own settings, and the form to change them."""

    def is_accessible(self) -> bool:
        return is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return deny()

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        services = current_services()
        desk = services.desk
        actor = current_user.actor
        territories = services.directory.territories()
        names = policies.setting_names()
        form = FlaskForm()
        chosen = request.values.get("territory", territories[0].id if territories else "")
        typed: dict[str, str] = {}
        if request.method == "POST" and form.validate_on_submit():
            typed = {name: request.form.get(name, "").strip() for name in names}
            settings = {name: read_value(text) for name, text in typed.items() if text}
            try:
                desk.set_territory_policy(actor, chosen, settings)
            except InvalidInput as error:
                flash(str(_l("Nicht gespeichert: %(detail)s", detail=error.message)), "error")
            else:
                flash(str(_l("Die Regeln des Gebiets wurden gespeichert.")), "success")
                return redirect(self.get_url(".index", territory=chosen))
        overrides = desk.territory_policies_of(actor)
        current = overrides.get(chosen, {})
        if not typed:
            typed = {
                name: json.dumps(policies.encode({name: current[name]})[name])
                for name in names
                if name in current
            }
        return self.render(
            "admin/qleads/territory_policy.html",
            form=form,
            territories=territories,
            chosen=chosen,
            names=names,
            typed=typed,
            overrides=overrides,
            global_values={
                name: json.dumps(value)
                for name, value in policies.encode(
                    {n: getattr(desk.policy, n) for n in names}
                ).items()
            },
        )
