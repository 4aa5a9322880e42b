"""The sales rep's pages (R2, R5); admins use them too, over every territory.

All leads of his territories with holder, status and deadline (R2: a rep sees them all),
assignment from the lead page (``leads.assign``, R5), and the installer overview with a
chart (``metrics.py``, ``charts.py``).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user

from qleads.model import Admin, HistoryEvent, Installer, LeadSummary
from qleads.tabs import Tab

from .charts import Bar, bar_chart
from .lead_lists import list_helpers, list_view
from .metrics import installer_stats
from .personal_data import client
from .security.auth import page_arg, role_required
from .services import current_services

__all__ = ["STAFF_TABS", "bp"]

bp = Blueprint("rep", __name__, url_prefix="/rep")
bp.context_processor(list_helpers)

STAFF_TABS = (Tab.ALL, Tab.AVAILABLE, Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)


def _tabs_for_user() -> tuple[Tab, ...]:
    if current_user.role == "admin":
        return (*STAFF_TABS, Tab.UNROUTED)
    return STAFF_TABS


@bp.route("/")
@role_required("rep", "admin")
def leads() -> tuple[str, int]:
    """Every lead of his territories by tab (R2, R8), searched, filtered and sorted as
    the URL says; admins see every territory and the unrouted leads."""
    tabs = _tabs_for_user()
    try:
        chosen = Tab(request.args.get("tab", Tab.ALL.value))
    except ValueError:
        abort(404)
    if chosen not in tabs:
        abort(404)
    services = current_services()
    page, view, code = list_view(
        current_user.actor,
        chosen,
        page=page_arg(),
        per_page=int(current_app.config["QLEADS_PER_PAGE"]),
    )
    names = {
        lead.holder_id: _installer_name(lead.holder_id)
        for lead in (v.lead for v in page.items)
        if lead.holder_id
    }
    shown = render_template(
        "rep/leads.html",
        page=page,
        counts=page.counts,
        tabs=tabs,
        active_tab=chosen,
        holder_names=names,
        list_view=view,
        now=services.clock.now(),
    )
    return shown, code


def _installer_name(installer_id: str) -> str:
    installer = current_services().directory.installer(installer_id)
    return installer.name if installer is not None else installer_id


def _all_leads() -> list[LeadSummary]:
    desk = current_services().desk
    actor = current_user.actor
    found: list[LeadSummary] = []
    number = 1
    while True:
        page = desk.tab(actor, Tab.ALL, page=number, per_page=500, client=client())
        found += [v.lead for v in page.items]
        if number >= page.pages:
            return found
        number += 1


def _installers() -> list[Installer]:
    services = current_services()
    actor = current_user.actor
    if isinstance(actor, Admin):
        # Every installer belongs to a rep (``rep_id`` is required). Ties on the name stay
        # in rep order, then installer id, as when this walked the reps one by one.
        return sorted(services.directory.installers(), key=lambda i: (i.name, i.rep_id))
    return sorted(services.directory.installers_of(actor.id), key=lambda i: i.name)


def _hours(delay: dt.timedelta | None) -> str:
    if delay is None:
        return "–"
    return _("%(hours)s Std.", hours=format_decimal(delay.total_seconds() / 3600, "#,##0.0"))


@bp.route("/installers")
@role_required("rep", "admin")
def installers() -> str:
    """Open leads, median time to first contact and order share per installer."""
    desk = current_services().desk
    actor = current_user.actor
    leads = _all_leads()
    histories: dict[int, list[HistoryEvent]] = {
        lead.id: desk.history(actor, lead.id)
        for lead in leads
        if lead.holder_id is not None or lead.previous_holders
    }
    rows = installer_stats(_installers(), leads, histories)
    share_chart = bar_chart(
        _("Anteil Bestellungen an abgeschlossenen Anfragen"),
        [
            Bar(
                row.installer.name,
                100 * (row.order_share or 0.0),
                format_percent(row.order_share) if row.order_share is not None else "–",
            )
            for row in rows
        ],
        maximum=100,
    )
    open_chart = bar_chart(
        _("Offene Anfragen"),
        [Bar(row.installer.name, row.open_leads, str(row.open_leads)) for row in rows],
    )
    contact_chart = bar_chart(
        _("Median bis zum Erstkontakt"),
        [
            Bar(
                row.installer.name,
                row.median_first_contact.total_seconds() / 3600 if row.median_first_contact else 0,
                _hours(row.median_first_contact),
            )
            for row in rows
        ],
    )
    return render_template(
        "rep/installers.html",
        rows=rows,
        hours=_hours,
        charts=(open_chart, contact_chart, share_chart),
    )
