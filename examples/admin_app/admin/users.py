"""The portal's logins (R12): who acts as which installer, sales rep or admin.

A password is set through a form field and stored only as a hash, under the same rule
as everywhere (:data:`~..security.account.PASSWORD_RULES`). Setting a password,
deactivating a login or changing its role or actor ends every session it has.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from flask import flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..models import ROLES, actor_for
from ..security.account import PASSWORD_RULES
from ..services import current_services
from .base import LANGUAGE_CHOICES, ScopedModelView
from .labels import LANGUAGE_NAMES, ROLE_NAMES, choices

__all__ = ["PortalUserView"]


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
        "password": _l("Neues Passwort"),
        "language": _l("Sprache"),
        "active": _l("Aktiv"),
    }
    column_choices: ClassVar[dict[str, Any]] = {
        "role": choices(ROLE_NAMES),
        "language": choices(LANGUAGE_NAMES),
    }
    form_overrides: ClassVar[dict[str, Any]] = {"role": SelectField, "language": SelectField}
    form_args: ClassVar[dict[str, dict[str, Any]]] = {
        "role": {"choices": [SelectChoice(r, ROLE_NAMES[r]) for r in ROLES]},
        "language": {"choices": LANGUAGE_CHOICES},
        "username": {"validators": [DataRequired(), Length(max=80)]},
        "actor_id": {"validators": [DataRequired(), Length(max=64)]},
    }

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
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
