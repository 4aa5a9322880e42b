"""The "Zugriffsprotokoll" (R14): who read which lead's personal data, when and how.

Read through ``LeadDesk.access_log`` (admins see every record, R12), filtered by lead,
user and date, and exported as CSV. The view only reads: the log is append-only in the
library and in the database, so there is no form here that could change it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, request
from flask_admin import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qleads.errors import InvalidInput
from qleads.personal_data import AccessRecord

from ..i18n import shown_language
from ..services import current_services
from .base import deny, formula_safe, is_admin

__all__ = ["AccessLogView", "access_query"]

#: The most records one page or one export shows.
_LIMIT = 1000


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")))


def _day(name: str, errors: list[str]) -> dt.date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(name)
        return None


def access_query(errors: list[str]) -> dict[str, Any]:
    """The filters of the request's query string, as ``LeadDesk.access_log`` takes them
    (a day is local; "bis" includes its day). A malformed value is named in ``errors``."""
    found: dict[str, Any] = {}
    lead = request.args.get("lead_id", "").strip()
    if lead:
        if lead.isdigit():
            found["lead_id"] = int(lead)
        else:
            errors.append("lead_id")
    user = request.args.get("user_id", "").strip()
    if user:
        found["user_id"] = user
    since, until = _day("since", errors), _day("until", errors)
    zone = _zone()
    if since is not None:
        found["since"] = dt.datetime.combine(since, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    if until is not None:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        found["until"] = end.astimezone(dt.UTC)
    return found


class AccessLogView(BaseView):
    """The access log for admins: filter, read, export (R14)."""

    def is_accessible(self) -> bool:
        return is_admin()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        return deny()

    def _records(self, errors: list[str]) -> list[AccessRecord]:
        query = access_query(errors)
        try:
            return current_services().desk.access_log(current_user.actor, limit=_LIMIT, **query)
        except InvalidInput:
            errors.append("query")
            return []

    @expose("/")
    def index(self) -> Any:
        errors: list[str] = []
        records = self._records(errors)
        return self.render(
            "admin/qleads/access_log.html",
            records=records,
            errors=errors,
            args=request.args,
            limit=_LIMIT,
            language=shown_language(),
            zone=_zone(),
        )

    @expose("/export.csv")
    def export(self) -> Response:
        errors: list[str] = []
        records = self._records(errors)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "user_id", "role", "lead_id", "kind", "client"])
        for r in records:
            writer.writerow(
                [
                    r.at.isoformat(),
                    formula_safe(r.user_id),
                    r.role,
                    r.lead_id,
                    r.kind.value,
                    formula_safe(r.client),
                ]
            )
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="zugriffsprotokoll.csv"'},
        )


#: The view's title in the admin menu.
TITLE = _l("Zugriffsprotokoll")
