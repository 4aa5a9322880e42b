"""The installer's pages (Anlage 1): the start page with "Verfügbare Anfragen" and "Meine
Anfragen", and the five tabs. Lists come from ``LeadDesk.search`` (R2, R8): the desk
decides what he sees, masks what R16 withholds and marks what he handled before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from qleads.tabs import Tab

from .claiming import claim_state
from .lead_lists import list_helpers, list_view
from .security.auth import page_arg, role_required
from .services import current_services

__all__ = ["TAB_BAR", "bp"]

bp = Blueprint("installer", __name__, url_prefix="/installer")
bp.context_processor(list_helpers)

#: The manual's tab bar, in its order.
TAB_BAR = (Tab.ALL, Tab.NEW, Tab.FOLLOW_UP, Tab.IN_PROGRESS, Tab.CLOSED)


def _per_page() -> int:
    return int(current_app.config["QLEADS_PER_PAGE"])


@bp.app_context_processor
def _tab_bar() -> dict[str, Any]:
    """Every page of an installer shows the tab bar with its counts (Anlage 1)."""

    def installer_nav() -> tuple[tuple[Tab, ...], Mapping[Tab, int]]:
        if not current_user.is_authenticated or current_user.role != "installer":
            return (), {}
        return TAB_BAR, current_services().desk.counts(current_user.actor)

    return {"installer_nav": installer_nav}


@bp.route("/")
@role_required("installer")
def start() -> tuple[str, int]:
    """Anlage 1: the pool he may claim from, and the leads he holds; one search and
    filter for both lists. The first list brings the tab bar's counts, the second is
    read without them."""
    actor = current_user.actor
    available, view, code = list_view(
        actor, Tab.AVAILABLE, page=page_arg("available"), per_page=_per_page()
    )
    mine, _view, _code = list_view(
        actor, Tab.MINE, page=page_arg("mine"), per_page=_per_page(), counts=False
    )
    page = render_template(
        "installer/start.html",
        available=available,
        mine=mine,
        counts=available.counts,
        tab_bar=TAB_BAR,
        list_view=view,
        now=current_services().clock.now(),
        claim_state=claim_state(actor),
    )
    return page, code


@bp.route("/tab/<name>")
@role_required("installer")
def tab(name: str) -> tuple[str, int]:
    """One of the five tabs, paged (R8), searched, filtered and sorted as its URL says."""
    try:
        chosen = Tab(name)
    except ValueError:
        abort(404)
    if chosen not in TAB_BAR:
        abort(404)
    page, view, code = list_view(current_user.actor, chosen, page=page_arg(), per_page=_per_page())
    shown = render_template(
        "installer/tab.html",
        page=page,
        counts=page.counts,
        tab_bar=TAB_BAR,
        active_tab=chosen,
        list_view=view,
        now=current_services().clock.now(),
    )
    return shown, code
