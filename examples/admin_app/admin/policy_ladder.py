"""The policy form's part for the escalation ladder, decline reasons and duplicates:
the steps of each situation (after how many business days or hours, do what), the
number of releases that make a lead *nicht vermittelbar*, and duplicate detection.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, Form, FormField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from qleads.errors import InvalidInput
from qleads.escalation import effective_ladder
from qleads.ladder import MAX_STEPS, Ladder, LadderAction, Situation, Step, Unit
from qleads.model import Policy

__all__ = [
    "ROWS",
    "LadderSettings",
    "ladder_data",
    "ladder_from_form",
]

#: Step rows per situation in the form.
ROWS = 4

_ACTION_LABELS = {
    LadderAction.REMIND_HOLDER: _l("Bearbeiter erinnern"),
    LadderAction.NOTIFY_REP: _l("Vertriebsmitarbeiter benachrichtigen"),
    LadderAction.REASSIGN_TO_REP: _l("An den Vertriebsmitarbeiter zurückgeben"),
    LadderAction.RELEASE_TO_TERRITORY: _l("Für das Gebiet freigeben"),
    LadderAction.MARK_UNSERVICEABLE: _l("Als nicht vermittelbar markieren"),
}


class StepForm(Form):  # type: ignore[misc]  # WTForms ships no types
    """One step: after N business days or hours, do X (no action: no step)."""

    after = IntegerField(_l("nach"), validators=[Optional(), NumberRange(0, 1000)])
    # Checked by ``ladder_from_form`` (an unused row sends neither).
    unit = SelectField(
        _l("Einheit"),
        choices=[
            SelectChoice(Unit.BUSINESS_DAYS.value, _l("Werktagen")),
            SelectChoice(Unit.BUSINESS_HOURS.value, _l("Arbeitsstunden")),
        ],
        validate_choice=False,
    )
    action = SelectField(
        _l("Maßnahme"),
        choices=[SelectChoice("", _l("– kein Schritt –"))]
        + [SelectChoice(a.value, _ACTION_LABELS[a]) for a in LadderAction],
        validate_choice=False,
    )


def _steps(label: Any) -> Any:
    return FieldList(FormField(StepForm), label=label, min_entries=ROWS, max_entries=MAX_STEPS)


class LadderSettings:
    """Fields mixed into the policy form (a plain class: its fields are collected by
    WTForms' form metaclass from every base)."""

    ladder_enabled = BooleanField(_l("Eigene Eskalationsleiter verwenden"))
    ladder_claimed = _steps(_l("Beansprucht, nicht bearbeitet"))
    ladder_assigned = _steps(_l("Zugeteilt, nicht bearbeitet"))
    ladder_follow_up = _steps(_l("Wiedervorlage überfällig"))
    ladder_offer_sent = _steps(_l("Angebot gesendet, ohne Ergebnis"))
    unserviceable_after_releases = IntegerField(
        _l("Nicht vermittelbar nach Freigaben durch so viele Partner (leer: nie)"),
        validators=[Optional(), NumberRange(1, 50)],
    )
    duplicate_detection = BooleanField(_l("Dubletten beim Eingang erkennen"))
    duplicate_window_days = IntegerField(
        _l("Zeitfenster für Dubletten (Tage)"),
        default=90,
        validators=[Optional(), NumberRange(1, 3650)],
    )


def ladder_data(policy: Policy) -> dict[str, Any]:
    """The form's data for ``policy``: its ladder (or the default one, to start from)."""
    ladder = effective_ladder(policy)
    data: dict[str, Any] = {
        "ladder_enabled": policy.ladder is not None,
        "unserviceable_after_releases": policy.unserviceable_after_releases,
        "duplicate_detection": policy.duplicate_detection,
        "duplicate_window_days": policy.duplicate_window_days,
    }
    for situation in Situation:
        rows: list[dict[str, object]] = [
            {"after": s.after, "unit": s.unit.value, "action": s.action.value}
            for s in ladder.steps(situation)
        ]
        rows += [{"after": None, "unit": Unit.BUSINESS_DAYS.value, "action": ""}] * max(
            0, ROWS - len(rows)
        )
        data[f"ladder_{situation.value}"] = rows
    return data


def ladder_from_form(form: Any) -> Ladder | None:
    """The ladder the form describes, ``None`` when it is off. Raises
    :class:`~wtforms.validators.ValidationError` with the library's reason for a ladder
    that breaks its rules (a step after one that ends the situation, a missing delay)."""
    if not form.ladder_enabled.data:
        return None
    situations: dict[str, tuple[Step, ...]] = {}
    for situation in Situation:
        steps: list[Step] = []
        for row in getattr(form, f"ladder_{situation.value}").entries:
            if not row.action.data:
                continue
            if row.after.data is None:
                raise ValidationError(str(_l("Bitte bei jedem Schritt die Frist angeben.")))
            try:
                unit, action = Unit(row.unit.data), LadderAction(row.action.data)
            except ValueError:
                raise ValidationError(str(_l("Unbekannte Einheit oder Maßnahme."))) from None
            steps.append(Step(row.after.data, unit, action))
        situations[situation.value] = tuple(steps)
    try:
        return Ladder(**situations)
    except InvalidInput as error:
        raise ValidationError(
            str(_l("Ein Schritt, der die Anfrage abgibt, muss der letzte sein."))
            if "last step" in error.message
            else error.message
        ) from None
