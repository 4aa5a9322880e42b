"""qleads' errors as friendly pages and messages (R15).

A portal must never show a stack trace for something the rules refuse: a lead one may not
see is a 404 page (R2 says never reveal which), a forbidden action a 403 page, and the
rest (a lost claim race, a date in the future, a lead that changed meanwhile) a flash
message on the page the user came from.

A database that cannot be reached (down, restarting, out of connections) is a 503 page
in German and English with ``Retry-After``: qleads raises
:class:`~qleads.errors.StorageError`, and the portal's own tables (its users, the admin's
views) raise SQLAlchemy's connection errors, :data:`STORAGE_FAILURES` names both. The
page is rendered without the database: not from ``base.html``, whose user bar would load
the user, and without the context processors, which load him too.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from qleads.errors import (
    ClaimExpired,
    ClaimRefused,
    DatedBeforeHolding,
    InvalidInput,
    InvalidTransition,
    LeadNoLongerAvailable,
    LeadNotFound,
    NotPermitted,
    QleadsError,
    StaleUpdate,
    StorageError,
)
from qleads.limits import refusal_text

from .i18n import current_language

__all__ = ["RETRY_AFTER_SECONDS", "STORAGE_FAILURES", "init_errors", "message_for"]

log = logging.getLogger(__name__)

#: The errors that mean "the database is not there right now": qleads' own, and what
#: SQLAlchemy raises for the portal's tables when it cannot connect, loses the
#: connection, or waits in vain for a pooled one.
STORAGE_FAILURES: Final[tuple[type[Exception], ...]] = (
    StorageError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)

#: What a 503 answer asks the client to wait before trying again.
RETRY_AFTER_SECONDS: Final = 30


def message_for(error: QleadsError) -> str:
    """The sentence a user reads for ``error``, in his language."""
    if isinstance(error, ClaimExpired):
        return _(
            "Ihre Reservierung ist abgelaufen: Sie können für diese Anfrage keinen Status "
            "mehr eintragen. Sie wird in Kürze wieder für alle freigegeben."
        )
    if isinstance(error, LeadNoLongerAvailable):
        return _("Diese Anfrage ist nicht mehr verfügbar. Ein anderer Partner war schneller.")
    if isinstance(error, StaleUpdate):
        return _(
            "Die Anfrage wurde inzwischen geändert. "
            "Bitte prüfen Sie den Stand und versuchen Sie es erneut."
        )
    if isinstance(error, InvalidTransition):
        return _("Diese Änderung ist im aktuellen Status der Anfrage nicht möglich.")
    if isinstance(error, DatedBeforeHolding):
        return _(
            "Das Datum darf nicht vor der Übernahme bzw. Zuteilung der Anfrage (%(when)s) liegen.",
            when=format_date(error.held_since, "dd.MM.yyyy" if _german() else "dd/MM/yyyy"),
        )
    if isinstance(error, InvalidInput):
        return _("Bitte prüfen Sie Ihre Eingabe: %(detail)s", detail=_input_detail(error))
    if isinstance(error, ClaimRefused):
        return refusal_text(error, current_language())
    if isinstance(error, NotPermitted):
        return _("Dazu sind Sie nicht berechtigt.")
    return _("Die Aktion konnte nicht ausgeführt werden.")


def _german() -> bool:
    return str(get_locale() or "de").startswith("de")


def _input_detail(error: InvalidInput) -> str:
    texts = {
        "effective_at": _("Das Datum darf weder in der Zukunft noch vor dem Eingang liegen."),
        "due_at": _("Eine Wiedervorlage braucht einen Termin in der Zukunft."),
        "note": _("Die Notiz ist zu lang oder enthält ungültige Zeichen."),
        "installer": _("Bitte wählen Sie einen aktiven Partner."),
        "status": _("Bitte wählen Sie einen Status."),
    }
    return texts.get(error.field, error.message)


def _back() -> Response:
    lead_id = (request.view_args or {}).get("lead_id")
    if lead_id is not None:
        return redirect(url_for("leads.status", lead_id=lead_id))
    return redirect(url_for("auth.index"))


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def unavailable_page() -> Response:
    """The 503 page: German and English (the user's own language is in the database),
    the session's choice first."""
    english_first = session.get("language") == "en"
    retry = request.full_path.rstrip("?") if request.method == "GET" else url_for("auth.index")
    page = current_app.jinja_env.get_template("errors/503.html")
    response = Response(page.render(english_first=english_first, retry=retry), 503)
    response.mimetype = "text/html"
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_errors(app: Flask) -> None:
    for failure in STORAGE_FAILURES:
        app.register_error_handler(failure, _unavailable)

    @app.errorhandler(LeadNotFound)
    def _not_found(error: LeadNotFound) -> Any:
        if _wants_json():
            return error.to_dict(), 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(ClaimRefused)
    def _limited(error: ClaimRefused) -> Any:
        # A claim limit: the lead page says why and until when.
        if _wants_json():
            return error.to_dict(), 409
        flash(message_for(error), "error")
        return _back()

    @app.errorhandler(NotPermitted)
    def _forbidden(error: NotPermitted) -> Any:
        if _wants_json():
            return error.to_dict(), 403
        return render_template("errors/403.html"), 403

    @app.errorhandler(ClaimExpired)
    def _expired(error: ClaimExpired) -> Any:
        # R4: his claim ran out; the lead page says so, the sweep will release it.
        if _wants_json():
            return error.to_dict(), 409
        flash(message_for(error), "error")
        return _back()

    @app.errorhandler(LeadNoLongerAvailable)
    def _gone(error: LeadNoLongerAvailable) -> Any:
        if _wants_json():
            return error.to_dict(), 409
        flash(message_for(error), "error")
        return redirect(url_for("auth.index"))

    @app.errorhandler(QleadsError)
    def _refused(error: QleadsError) -> Any:
        if _wants_json():
            return error.to_dict(), 422
        flash(message_for(error), "error")
        return _back()

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        if _wants_json() or error.code is None or error.code < 400:
            return error
        if error.code in {403, 404}:
            return render_template(f"errors/{error.code}.html"), error.code
        return render_template("errors/generic.html", error=error), error.code


def _unavailable(error: Exception) -> Any:
    # The class only: a driver's message may quote the row it was writing.
    log.warning("answered 503: the database is unavailable (%s)", type(error).__name__)
    if _wants_json():
        return {"code": "storage_unavailable", "message": "the database is unavailable"}, 503
    return unavailable_page()
