"""The policy: the rules' knobs an admin may turn (R3, R5, R14, R16).

Hold and reminder periods in business days, the escalation to the sales rep,
whether contact data is shown before a claim, the claim limits and the retention
periods; the escalation ladder, the releases that make a lead *nicht vermittelbar*
and duplicate detection (``policy_ladder.py``). A saved policy takes effect at once
for every following use case (``Settings.save_policy``).
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

__all__ = ["LIMIT_FIELDS", "PolicyForm", "PolicyView"]

#: The claim limits' settings (``qleads.limits``): form fields named like the policy's.
LIMIT_FIELDS = (
    "max_open_claims",
    "max_claims_per_day",
    "reclaim_cooldown_days",
    "pause_after_expiries",
    "pause_window_days",
    "pause_days",
)


class PolicyForm(LadderSettings, FlaskForm):
    ladder: Ladder | None = None
    claim_hold_days = IntegerField(
        _l("Haltefrist nach Übernahme (Werktage)"),
        validators=[InputRequired(), NumberRange(1, 30)],
    )
    assignment_reminder_days = IntegerField(
        _l("Erinnerung nach Zuteilung (Werktage)"),
        validators=[InputRequired(), NumberRange(1, 30)],
    )
    escalation_enabled = BooleanField(_l("Eskalation an den Vertrieb"))
    escalation_days = IntegerField(
        _l("Eskalation nach weiteren Werktagen"),
        validators=[Optional(), NumberRange(1, 60)],
    )
    contact_before_claim = SelectField(
        _l("Kontaktdaten vor der Übernahme"),
        choices=[
            SelectChoice("hidden", _l("verborgen (Standard, Datenschutz)")),
            SelectChoice("shown", _l("sichtbar (wie im Handbuch)")),
        ],
    )

    max_open_claims = IntegerField(
        _l("Höchstens offene Reservierungen je Partner (leer: unbegrenzt)"),
        validators=[Optional(), NumberRange(1, 1000)],
    )
    max_claims_per_day = IntegerField(
        _l("Höchstens Reservierungen je Partner und Werktag (leer: unbegrenzt)"),
        validators=[Optional(), NumberRange(1, 1000)],
    )
    reclaim_cooldown_days = IntegerField(
        _l(
            "Sperrfrist vor erneuter Reservierung nach Freigabe oder Ablauf (Werktage, leer: keine)"
        ),
        validators=[Optional(), NumberRange(1, 60)],
    )
    pause_after_expiries = IntegerField(
        _l("Pause nach so vielen abgelaufenen Reservierungen (leer: nie)"),
        validators=[Optional(), NumberRange(1, 100)],
    )
    pause_window_days = IntegerField(
        _l("… innerhalb von Tagen (leer: 30)"), validators=[Optional(), NumberRange(1, 365)]
    )
    pause_days = IntegerField(
        _l("Dauer der Pause (Werktage, leer: 5)"), validators=[Optional(), NumberRange(1, 60)]
    )
    retention_closed_months = IntegerField(
        _l("Abgeschlossene Anfragen anonymisieren nach (Monaten)"),
        validators=[Optional(), NumberRange(1, 240)],
    )
    retention_unclaimed_months = IntegerField(
        _l("Nie übernommene Anfragen anonymisieren nach (Monaten)"),
        validators=[Optional(), NumberRange(1, 240)],
    )
    retention_access_log_months = IntegerField(
        _l("Zugriffsprotokoll aufbewahren (Monate)"),
        validators=[Optional(), NumberRange(1, 240)],
    )

    def validate_escalation_days(self, field: Any) -> None:
        if self.escalation_enabled.data and not field.data:
            raise ValidationError(str(_l("Bitte die Zahl der Werktage angeben.")))

    def validate_ladder_enabled(self, field: Any) -> None:
        self.ladder = ladder_from_form(self)


def _limits(form: PolicyForm) -> dict[str, Any]:
    """The limits as the form gives them; an empty pause window or length is the
    policy's default."""
    given = {name: getattr(form, name).data for name in LIMIT_FIELDS}
    return {
        name: value
        for name, value in given.items()
        if value is not None or name not in ("pause_window_days", "pause_days")
    }


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
                **{name: getattr(current, name) for name in LIMIT_FIELDS},
                "retention_closed_months": current.retention_closed_months,
                "retention_unclaimed_months": current.retention_unclaimed_months,
                "retention_access_log_months": current.retention_access_log_months,
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
                    **_limits(form),
                    # R14: a period left empty keeps its current value.
                    retention_closed_months=form.retention_closed_months.data
                    or current.retention_closed_months,
                    retention_unclaimed_months=form.retention_unclaimed_months.data
                    or current.retention_unclaimed_months,
                    retention_access_log_months=form.retention_access_log_months.data
                    or current.retention_access_log_months,
                    ladder=form.ladder,
                    unserviceable_after_releases=form.unserviceable_after_releases.data,
                    duplicate_detection=bool(form.duplicate_detection.data),
                    duplicate_window_days=form.duplicate_window_days.data or 90,
                )
            )
            flash(str(_l("Die Regeln wurden gespeichert.")), "success")
            return redirect(self.get_url(".index"))
        return self.render("admin/qleads/policy.html", form=form)
