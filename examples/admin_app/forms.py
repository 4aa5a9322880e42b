"""The portal's forms. Every one is a Flask-WTF form, so every POST carries a CSRF token
(the app-wide ``CSRFProtect`` refuses one without it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from qleads.decline import DECLINE_REASONS
from qleads.lifecycle import Status
from qleads.model import Channel, ReleaseReason

from .form_base import PortalForm

__all__ = ["RELEASE", "AssignForm", "StatusForm"]

#: The dropdown entry that is an action, not a status (Anlage 3: "Lead wieder verfügbar").
RELEASE = "release"

#: The order of Anlage 3's dropdown.
_STATUS_CHOICES = (
    Status.CONTACT_ATTEMPTED,
    Status.FIRST_CONTACT,
    Status.OFFER_SENT,
    Status.ORDER_PLACED,
    Status.UNSUCCESSFUL,
    Status.FOLLOW_UP,
)


class StatusForm(PortalForm):
    """Anlage 3: Status ändern, Datum, Kontaktart, Notiz, Wiedervorlage."""

    status = SelectField(_l("Status ändern"), validators=[DataRequired()])
    date = DateField(_l("Datum"), validators=[Optional()])
    channel = SelectField(_l("Kontaktart"), validators=[Optional()])
    note = TextAreaField(_l("Notiz"), validators=[Optional(), Length(max=2000)])
    due_date = DateField(_l("Wiedervorlage am"), validators=[Optional()])
    due_time = TimeField(_l("um"), validators=[Optional()])
    reason = SelectField(_l("Grund der Freigabe"), validators=[Optional()])
    #: For the reason "Dublette": the lead this one repeats.
    duplicate_of = IntegerField(
        _l("Dublette von Anfrage Nr."), validators=[Optional(), NumberRange(min=1)]
    )

    def __init__(self, *args: Any, language: str = "de", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [(s.value, s.label(language)) for s in _STATUS_CHOICES] + [
            (RELEASE, str(_l("Lead wieder verfügbar")))
        ]
        self.channel.choices = [("", str(_l("– bitte wählen –")))] + [
            (c.value, c.label(language)) for c in Channel
        ]
        # The decline reasons first (qleads.decline); the reasons of earlier versions
        # after them, still accepted.
        ordered = (*DECLINE_REASONS, *(r for r in ReleaseReason if r not in DECLINE_REASONS))
        self.reason.choices = [("", str(_l("– ohne Angabe –")))] + [
            (r.value, r.label(language)) for r in ordered
        ]

    def chosen_status(self) -> Status | None:
        """The work status, or ``None`` for a release."""
        value = self.status.data
        return None if value == RELEASE else Status(value)

    def chosen_channel(self) -> Channel | None:
        return Channel(self.channel.data) if self.channel.data else None

    def chosen_reason(self) -> ReleaseReason | None:
        return ReleaseReason(self.reason.data) if self.reason.data else None

    def chosen_original(self) -> int | None:
        """The original a release as "Dublette" names; ``None`` for other reasons."""
        if self.chosen_reason() is not ReleaseReason.DUPLICATE:
            return None
        return int(self.duplicate_of.data) if self.duplicate_of.data else None

    def due_local(self) -> tuple[dt.date, dt.time] | None:
        if self.due_date.data is None:
            return None
        return self.due_date.data, self.due_time.data or dt.time(9, 0)


class AssignForm(PortalForm):
    """A rep gives a lead to one of his installers (R5). The admin's unrouted-lead view
    assigns with the same form (labelled "Installateur" there)."""

    installer_id = SelectField(_l("Partner"), validators=[DataRequired()])
