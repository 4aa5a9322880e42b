"""A user's own account: change the password, and "Passwort vergessen".

Every role may change its own password (the current one is required, and wrong guesses
count against the same limits as failed logins); afterwards every other session of the
account has ended and this one goes on. "Passwort vergessen" answers the same whatever
was entered and puts a single-use link into the mail outbox (``password_reset.py``); the
link's page sets a new password and sends the user to the login. New passwords follow
one rule everywhere (:data:`PASSWORD_RULES`, the admin's user form too).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..form_base import PortalForm
from ..models import PortalUser
from ..services import current_services
from .auth import role_required
from .password_reset import RESET_PATH, redeem, request_after_answer, user_for_token
from .throttle import count_failure, limit_failures, limit_requests

__all__ = ["MIN_PASSWORD_LENGTH", "PASSWORD_RULES", "bp", "init_account"]

#: Long enough that guessing within the login limits is hopeless, short enough to type.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
PASSWORD_RULES = [
    Length(
        min=MIN_PASSWORD_LENGTH,
        max=MAX_PASSWORD_LENGTH,
        message=_l("Das Passwort muss mindestens %(min)d und höchstens %(max)d Zeichen lang sein."),
    )
]

bp = Blueprint("account", __name__)


class ChangePasswordForm(PortalForm):
    current = PasswordField(_l("Aktuelles Passwort"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("Neues Passwort"), validators=[DataRequired(), *PASSWORD_RULES])
    repeat = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[
            DataRequired(),
            EqualTo("new", message=_l("Die Passwörter stimmen nicht überein.")),
        ],
    )


class ForgotPasswordForm(PortalForm):
    username = StringField(_l("Benutzername"), validators=[DataRequired(), Length(max=80)])


class ResetPasswordForm(PortalForm):
    new = PasswordField(_l("Neues Passwort"), validators=[DataRequired(), *PASSWORD_RULES])
    repeat = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[
            DataRequired(),
            EqualTo("new", message=_l("Die Passwörter stimmen nicht überein.")),
        ],
    )


def _private(page: str, status: int = 200) -> Response:
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@role_required("installer", "rep", "admin")
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        services = current_services()
        with services.sessions() as db, db.begin():
            user = db.get(PortalUser, int(current_user.id))
            if user is None:
                abort(404)
            if user.check_password(str(form.current.data or "")):
                user.set_password(str(form.new.data))
                user.end_sessions()
                changed: PortalUser | None = user
            else:
                changed = None
        if changed is None:
            count_failure()
            form.current.errors = [_("Das aktuelle Passwort ist nicht richtig.")]
        else:
            # Every other session has ended with the new token; this one goes on.
            login_user(changed)
            flash(
                _("Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet."),
                "success",
            )
            return redirect(url_for("auth.index"))
    return _private(
        render_template("account/password.html", form=form, min_length=MIN_PASSWORD_LENGTH)
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        flash(
            _(
                "Wenn es zu diesem Benutzernamen ein aktives Konto gibt, erhält es in "
                "wenigen Minuten eine E-Mail mit einem Link zum Zurücksetzen des Passworts."
            ),
            "info",
        )
        answer = redirect(url_for("auth.login"))
        request_after_answer(str(form.username.data))
        return answer
    return _private(render_template("account/forgot.html", form=form))


@bp.route(RESET_PATH + "<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    services = current_services()
    if len(token) > 100 or user_for_token(services, token) is None:
        return _private(render_template("account/reset_invalid.html"), 404)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user = redeem(services, token, str(form.new.data))
        if user is None:
            return _private(render_template("account/reset_invalid.html"), 404)
        flash(_("Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen an."), "success")
        return redirect(url_for("auth.login"))
    return _private(
        render_template(
            "account/reset.html", form=form, token=token, min_length=MIN_PASSWORD_LENGTH
        )
    )


def init_account(app: Flask) -> None:
    """Register the pages and their limits (after ``init_throttle`` and ``init_auth``)."""
    app.register_blueprint(bp)
    limit_failures(app, "account.change_password", account="user")
    limit_requests(
        app,
        "account.forgot_password",
        per_account="QLEADS_RATELIMIT_RESET_ACCOUNT",
        per_client="QLEADS_RATELIMIT_RESET_CLIENT",
    )
