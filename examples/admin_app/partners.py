"""The partner scorecard pages (``LeadDesk.scorecards``) and lifting a claim pause.

An installer sees his own scorecard, a sales rep his installers side by side, an admin
every installer (R12: the desk decides who sees what). The period is chosen by two dates
(default: the current month so far), the table sorts by any column (``?sort=…&desc=1``,
links in the headings, no JavaScript), and two SVG charts (``charts.py``) compare the
conversion and the median time to first contact. Reps and admins also see who is paused
from claiming and may lift the pause (``LeadDesk.lift_claim_pause``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from qleads.limits import ClaimPause
from qleads.model import Installer, ReleaseReason
from qleads.scorecard import COLUMNS, Scorecard, column_label, sorted_cards

from .charts import Bar, bar_chart
from .i18n import current_language
from .security.auth import PostForm, role_required
from .services import current_services

__all__ = ["bp"]

bp = Blueprint("partners", __name__, url_prefix="/partners")

_ZONE = ZoneInfo("Europe/Berlin")


def _day(name: str, default: dt.date) -> dt.date:
    value = request.args.get(name, "")
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=_ZONE).astimezone(dt.UTC)


def _hours(value: float | None) -> str:
    return "–" if value is None else str(format_decimal(value, "#,##0.0"))


def _share(value: float | None) -> str:
    return "–" if value is None else str(format_percent(value))


def _reason(key: str) -> str:
    """A release reason's label; releases without one are counted under ``none``."""
    try:
        return ReleaseReason(key).label(current_language())
    except ValueError:
        return _("ohne Grund")


def _contact_bar(card: Scorecard) -> Bar:
    median = card.first_contact_median_hours
    return Bar(card.name, median or 0.0, _hours(median))


def cell(card: Scorecard, column: str) -> str:
    """A table cell as shown."""
    value = getattr(card, column)
    if column in ("first_contact_median_hours", "first_contact_p90_hours"):
        return _hours(value)
    if column in ("contacted_in_time", "conversion"):
        return _share(value)
    return str(value)


@bp.route("/")
@role_required("installer", "rep", "admin")
def scorecards() -> str:
    """The scorecards of the period, sorted by the chosen column."""
    services = current_services()
    today = services.clock.now().astimezone(_ZONE).date()
    start = _day("start", today.replace(day=1))
    end = _day("end", today)
    if end < start:
        start, end = end, start
    column = request.args.get("sort", "name")
    if column not in COLUMNS:
        column = "name"
    descending = request.args.get("desc") == "1"
    actor = current_user.actor
    cards = services.desk.scorecards(actor, _instant(start), _instant(end + dt.timedelta(days=1)))
    cards = sorted_cards(cards, column, descending=descending)
    pauses: dict[str, ClaimPause] = {}
    if not isinstance(actor, Installer):
        now = services.clock.now()
        for card in cards:
            pause = services.desk.claim_pause_of(actor, card.installer_id)
            if pause is not None and pause.active(now):
                pauses[card.installer_id] = pause
    language = current_language()
    # Each chart with its title: on a phone its figure scrolls, so it is a named tab stop.
    conversion, first_contact = _("Abschlussquote"), _("Erstkontakt Median (Std.)")
    charts = (
        (
            conversion,
            bar_chart(
                conversion,
                [Bar(c.name, 100 * (c.conversion or 0.0), _share(c.conversion)) for c in cards],
                maximum=100,
            ),
        ),
        (
            first_contact,
            bar_chart(
                first_contact,
                [
                    Bar(
                        c.name,
                        c.first_contact_median_hours or 0.0,
                        _hours(c.first_contact_median_hours),
                    )
                    for c in cards
                ],
            ),
        ),
    )
    return render_template(
        "partners/scorecards.html",
        cards=cards,
        columns=COLUMNS,
        labels={name: column_label(name, language) for name in COLUMNS},
        cell=cell,
        reason=_reason,
        sort=column,
        descending=descending,
        start=start,
        end=end,
        charts=charts,
        pauses=pauses,
        lift_form=PostForm(),
    )


@bp.route("/lift-pause", methods=["POST"])
@role_required("rep", "admin")
def lift_pause() -> Response:
    """His rep or an admin ends an installer's claim pause (``installer_id`` in the
    form); the desk refuses anyone else's (R12)."""
    form = PostForm()
    installer_id = request.form.get("installer_id", "")
    if form.validate_on_submit() and installer_id:
        current_services().desk.lift_claim_pause(current_user.actor, installer_id)
        flash(_("Die Pause wurde aufgehoben."), "success")
    return redirect(url_for("partners.scorecards"))
