"""Logging in and out, the language switch, and role checks (R12).

Flask-Login keeps the user id and the user's session token in the session; a
:class:`~..models.PortalUser` is loaded per request and acts as a qleads actor
(``current_user.actor``). The loader accepts a session only while its token is the
user's current one, so logging out (or a password change, a reset, a deactivation) ends
it on the server: a copy of the cookie replayed later gets the login page. Every view
says which roles may use it (:func:`role_required`); the library checks again (R12).

The login is throttled (``throttle.py``): failed attempts count per user name and per
client address. A user name that matches no account costs the same password check as a
wrong password, and gets the same answer, so neither the answer nor its time tells
whether an account exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from qleads.adapters.sql.driver import DriverConnection

from ..form_base import PortalForm
from ..i18n import LANGUAGES
from ..models import PortalUser, waste_password_check
from ..services import current_services
from .headers import safe_next
from .throttle import count_failure, limit_failures

__all__ = [
    "LanguageForm",
    "LoginForm",
    "PostForm",
    "authenticate",
    "bp",
    "end_sessions_of",
    "home_for",
    "init_auth",
    "load_session_user",
    "page_arg",
    "role_required",
]

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(PortalForm):
    username = StringField("Benutzername", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Passwort", validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class PostForm(PortalForm):
    """A form that carries nothing but its CSRF token (logout, claim)."""


class LanguageForm(PortalForm):
    language = HiddenField(validators=[DataRequired()])
    next = HiddenField()


def role_required(*roles: str) -> Callable[[F], F]:
    """Logged in, and with one of ``roles``; anyone else gets 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def page_arg(name: str = "page") -> int:
    """The page number in the query argument ``name``; 1 when missing or implausible."""
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


def home_for(user: PortalUser) -> str:
    if user.role == "installer":
        return url_for("installer.start")
    return url_for("rep.leads")


def load_session_user(session_id: str) -> PortalUser | None:
    """The user a session belongs to, while the session is still his current one."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = _user_row(int(user_id))
    if row is None or not row["active"]:
        return None
    if not secrets.compare_digest(str(row["session_token"] or ""), token):
        return None
    # Detached, as an ORM session would leave it: views that change the user read him
    # again in a session of their own.
    return PortalUser(**row)


_COLUMNS = tuple(column.name for column in PortalUser.__table__.c)
# The table's own column names, no input: the id is a bound parameter.
_SELECT_USER = f"SELECT {', '.join(_COLUMNS)} FROM {PortalUser.__tablename__} WHERE id = "  # noqa: S608


def _user_row(user_id: int) -> dict[str, Any] | None:
    """The user's row, read on every request (the session token must still match) in
    one statement straight through the driver as qleads' unit of work sends its own
    (outside a transaction on PostgreSQL): an ORM session would wrap it in
    ``BEGIN``/``ROLLBACK`` and build an identity map for one row."""
    engine = current_services().engine
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    db = DriverConnection(engine)
    failed = True
    try:
        found = db.run(_SELECT_USER + marker, (user_id,)).fetchone()
        failed = False
    finally:
        db.release(failed=failed)
    if found is None:
        return None
    row = dict(zip(_COLUMNS, found, strict=True))
    row["active"] = bool(row["active"])  # SQLite keeps a boolean as 0 or 1
    return row


def authenticate(username: str, password: str) -> PortalUser | None:
    """The active user with these credentials, or ``None``. Every path checks one
    password hash: an unknown or inactive account takes as long as a wrong password."""
    with current_services().read_sessions() as db:
        user = db.scalar(select(PortalUser).where(PortalUser.username == username))
    if user is None:
        waste_password_check(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


@bp.route("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = authenticate(str(form.username.data or ""), str(form.password.data or ""))
        if user is not None:
            session.clear()
            login_user(user)
            return redirect(safe_next(form.next.data) or home_for(user))
        count_failure()
        flash(_("Benutzername oder Passwort ist falsch."), "error")
    return render_template("login.html", form=form)


def end_sessions_of(user_id: int) -> None:
    """Every session of the user ends, on every device (a new session token)."""
    with current_services().sessions() as db, db.begin():
        user = db.get(PortalUser, user_id)
        if user is not None:
            user.end_sessions()


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    form = PostForm()
    if form.validate_on_submit():
        language = session.get("language")
        if current_user.is_authenticated:
            end_sessions_of(int(current_user.id))
        logout_user()
        session.clear()
        if language:
            session["language"] = language
        flash(_("Sie wurden abgemeldet."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language() -> Response:
    """Switch between German and English; a logged-in user keeps his choice."""
    form = LanguageForm()
    if not form.validate_on_submit() or form.language.data not in LANGUAGES:
        abort(400)
    chosen = str(form.language.data)
    session["language"] = chosen
    if current_user.is_authenticated:
        with current_services().sessions() as db, db.begin():
            user = db.get(PortalUser, current_user.id)
            if user is not None:
                user.language = chosen
        current_user.language = chosen
    return redirect(safe_next(form.next.data) or url_for("auth.index"))


def init_auth(app: Flask) -> None:
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = "Bitte melden Sie sich an."
    manager.localize_callback = _
    manager.login_message_category = "info"
    manager.session_protection = "strong"
    manager.user_loader(load_session_user)
    manager.init_app(app)
    app.register_blueprint(bp)
    limit_failures(app, "auth.login")

    @app.context_processor
    def _forms() -> dict[str, Any]:
        return {"post_form": PostForm(), "language_form": LanguageForm()}
