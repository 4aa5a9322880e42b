"""The policy: the rules' knobs an admin may turn (R3, R5, R16).

Hold and reminder periods in business days, the escalation to the sales rep, and
whether contact data is shown before a claim; the escalation ladder, the releases that
make a lead *nicht vermittelbar* and duplicate detection (``policy_ladder.py``). A saved
policy takes effect at once for every following use case (``Settings.save_policy``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from qleads.ladder import Ladder
from qleads.model import Policy

from ..services import current_services
from .base import deny, is_admin
from .policy_ladder import LadderSettings, ladder_data, ladder_from_form

__all__ = ["PolicyForm", "PolicyView"]


class PolicyForm(LadderSettings, FlaskForm):
    ladder: Ladder | None = None
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

    def validate_ladder_enabled(self, field: Any) -> None:
        self.ladder = ladder_from_form(self)


class PolicyView(BaseView):
    """The rules' knobs (R3, R5, R16); saved at once for every following use case."""

    def is_accessible(self) -> bool:
        return is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return deny()

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
                **ladder_data(current),
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
                    ladder=form.ladder,
                    unserviceable_after_releases=form.unserviceable_after_releases.data,
                    duplicate_detection=bool(form.duplicate_detection.data),
                    duplicate_window_days=form.duplicate_window_days.data or 90,
                )
            )
            flash(str(_l("Die Regeln wurden gespeichert.")), "success")
            return redirect(self.get_url(".index"))
        return self.render("admin/qleads/policy.html", form=form)
