"""One lead, for every role: "Projektinformationen", "Status", "Drucken" (Anlage 2, 3)
and the actions on it — claim (R3), record (R6), release (R7), assign (R5).

Every change goes through ``LeadDesk``; what the desk refuses comes back as a friendly
message (``errors.py``), and a lead the user may not see is a 404 (R2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from qleads.desk import SYSTEM_ACTOR
from qleads.holding import held_since
from qleads.lifecycle import Status
from qleads.model import (
    Actor,
    Admin,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    SalesRep,
)
from qleads.personal_data import AccessKind
from qleads.rep_queue import is_queued
from qleads.visibility import LeadView

from .claiming import claim_state
from .forms import AssignForm, StatusForm
from .i18n import current_language
from .personal_data import client
from .request_memo import remembered
from .security.auth import PostForm, role_required
from .services import current_services

__all__ = ["HistoryLine", "bp", "history_lines", "local_zone"]

bp = Blueprint("leads", __name__, url_prefix="/leads")

ANY_ROLE = ("installer", "rep", "admin")


@attrs.frozen
class HistoryLine:
    """One line of the status view (R13)."""

    text: str
    at: dt.datetime
    status: Status
    #: When it was entered; differs from ``at`` for a status dated back (R6, R13).
    entered: dt.datetime | None = None
    channel: str = ""
    note: str = ""
    due_at: dt.datetime | None = None


def local_zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")))


def _name(actor_id: str | None, viewer: Actor) -> str:
    """Who did it. An installer does not learn other installers' names (R2)."""
    if actor_id is None:
        return ""
    if actor_id == SYSTEM_ACTOR:
        return _("System")
    directory = current_services().directory
    # The same key as the logged-in installer's actor (``PortalUser.actor``): his own
    # name costs no further read, anyone else's one per request.
    installer = remembered(("actor", "installer", actor_id), lambda: directory.installer(actor_id))
    if installer is not None:
        if isinstance(viewer, Installer) and installer.id != viewer.id:
            return _("einem anderen Partner")
        return str(installer.name)
    for lookup in (directory.rep, directory.admin, directory.source):
        found = lookup(actor_id)
        if found is not None:
            return str(found.name)
    return actor_id


def _line(event: HistoryEvent, viewer: Actor) -> HistoryLine:
    who = _name(event.actor_id, viewer)
    holder = _name(event.holder_id, viewer)
    kind = event.kind
    lang = current_language()
    if kind is EventKind.RECEIVED:
        text = _("Anfrage ist über %(source)s eingegangen", source=who)
    elif kind is EventKind.CLAIMED:
        text = _("Anfrage wurde von %(name)s übernommen", name=who)
    elif kind is EventKind.ASSIGNED:
        text = _("Anfrage wurde von %(name)s an %(holder)s zugeteilt", name=who, holder=holder)
    elif kind is EventKind.REASSIGNED:
        text = _("Anfrage wurde von %(name)s an %(holder)s neu zugeteilt", name=who, holder=holder)
    elif kind is EventKind.RECORDED:
        text = _(
            "%(status)s – eingetragen von %(name)s", status=event.to_status.label(lang), name=who
        )
    elif kind is EventKind.RELEASED:
        text = _("Anfrage wurde von %(name)s wieder freigegeben", name=holder or who)
        if event.reason is not None:
            text += f" ({event.reason.label(lang)})"
    elif kind is EventKind.EXPIRED:
        text = _("Anfrage wurde automatisch wieder freigegeben (Frist abgelaufen)")
    elif kind is EventKind.REMINDED:
        text = _("Erinnerung an %(holder)s gesendet", holder=holder)
    elif kind is EventKind.ESCALATED:
        text = _("Vertriebsmitarbeiter wurde benachrichtigt")
    elif kind is EventKind.FOLLOW_UP_DUE:
        text = _("Wiedervorlage ist fällig")
    else:
        text = _("Anfrage wurde von %(name)s wieder geöffnet", name=who)
    foreign = isinstance(viewer, Installer) and event.actor_id not in {viewer.id, SYSTEM_ACTOR}
    staff_or_own = not foreign or kind in {EventKind.ASSIGNED, EventKind.REASSIGNED}
    # A receipt happened when the lead arrived, whichever of the two instants says so.
    at = min(event.effective_at, event.recorded_at) if kind is EventKind.RECEIVED else None
    effective = at or event.effective_at
    return HistoryLine(
        text=text,
        at=effective,
        # A receipt is dated by its source; when the portal took it in says nothing more.
        entered=None if kind is EventKind.RECEIVED else event.recorded_at,
        status=event.to_status,
        channel=event.channel.label(lang) if event.channel and staff_or_own else "",
        note=event.note if staff_or_own else "",
        due_at=event.due_at,
    )


def history_lines(
    viewer: Actor, lead_id: int, events: Sequence[HistoryEvent] | None = None
) -> list[HistoryLine]:
    """The status view's history, newest first by the date each entry is effective (a
    status dated back stands where it happened), entries of one instant newest entered
    first. ``events``: the lead's history if already read."""
    if events is None:
        events = current_services().desk.history(viewer, lead_id)
    ordered = sorted(
        enumerate(events), key=lambda pair: (pair[1].effective_at, pair[0]), reverse=True
    )
    return [_line(e, viewer) for _, e in ordered]


def _may_claim(actor: Actor, shown: LeadView) -> bool:
    return isinstance(actor, Installer) and shown.lead.status is Status.NEW


def _holds(actor: Actor, shown: LeadView) -> bool:
    lead = shown.lead
    return (
        isinstance(actor, Installer) and lead.holder_id == actor.id and not lead.status.is_terminal
    )


def _hold_expired(lead: Lead, now: dt.datetime) -> bool:
    """R4: from ``hold_until`` on the claim is over, even before the sweep ran. The
    page then offers no form; one sent from a page opened earlier is refused by the desk
    (``ClaimExpired``), which ``errors.py`` answers with "Ihre Reservierung ist
    abgelaufen"."""
    return lead.hold_until is not None and lead.hold_until <= now


def _assign_form(actor: Actor, shown: LeadView) -> AssignForm | None:
    if not isinstance(actor, SalesRep | Admin) or shown.lead.status.is_terminal:
        return None
    if shown.lead.territory_id is None:
        return None
    services = current_services()
    territory = services.directory.territory(shown.lead.territory_id)
    rep_id = actor.id if isinstance(actor, SalesRep) else (territory.rep_id if territory else None)
    if rep_id is None:
        return None
    installers = [
        i
        for i in services.directory.installers_of(rep_id)
        if i.active and i.id != shown.lead.holder_id
    ]
    if not installers:
        return None
    form = AssignForm()
    form.installer_id.choices = [(i.id, i.name) for i in installers]
    return form


def _context(lead_id: int, access: AccessKind = AccessKind.VIEW) -> dict[str, Any]:
    """What a lead's pages show; reading it writes the access record (R14)."""
    return _page_context(_lead_context(lead_id, access))


def _lead_context(
    lead_id: int, access: AccessKind = AccessKind.VIEW, *, contact: bool = True
) -> dict[str, Any]:
    """The lead as the user may see it and what deciding about a change needs; reading
    it writes the access record (R14). A change that is saved needs no more, and no
    contact (``contact=False``: none read, none recorded)."""
    actor = current_user.actor
    services = current_services()
    shown = services.desk.get(actor, lead_id, access=access, client=client(), contact=contact)
    return {
        "shown": shown,
        "lead": shown.lead,
        "actor": actor,
        "holds": _holds(actor, shown),
    }


def _page_context(context: dict[str, Any]) -> dict[str, Any]:
    """:func:`_lead_context` and the rest of what the page shows."""
    actor: Actor = context["actor"]
    shown: LeadView = context["shown"]
    lead_id = shown.lead.id
    services = current_services()
    territory = (
        services.directory.territory(shown.lead.territory_id) if shown.lead.territory_id else None
    )
    now = services.clock.now()
    may_claim = _may_claim(actor, shown)
    return {
        **context,
        "doc": shown.lead.document,
        "is_admin": isinstance(actor, Admin),
        # The holder is an installer (R3, R5), so ``_name`` finds him first, or the
        # rep's queue (qleads.rep_queue).
        "holder_name": (
            _("beim Vertrieb (Rückläufer)")
            if is_queued(shown.lead)
            else _name(shown.lead.holder_id, actor)
        ),
        "territory": territory,
        "may_claim": may_claim,
        "claim_state": (
            claim_state(actor, lead_id, territory_id=shown.lead.territory_id) if may_claim else None
        ),
        "hold_expired": _hold_expired(shown.lead, now),
        "assign_form": _assign_form(actor, shown),
        "claim_form": PostForm(),
        "now": now,
        # "Kunde hat erneut angefragt", with what changed (qleads.duplicates).
        "repetitions": services.desk.repetitions(actor, lead_id, seen=shown),
    }


@bp.route("/<int:lead_id>")
@role_required(*ANY_ROLE)
def detail(lead_id: int) -> str:
    """Anlage 2: Projektinformationen, with "Anfrage übernehmen" for a new lead."""
    return render_template("lead/detail.html", active="info", **_context(lead_id))


@bp.route("/<int:lead_id>/status", methods=["GET", "POST"])
@role_required(*ANY_ROLE)
def status(lead_id: int) -> Any:
    """Anlage 3: the history and, for the holder, the form that records progress. A
    change that is saved redirects: it reads the lead without its contact, and the
    page, when shown, reads it with it (and its access record, R14)."""
    posted = request.method == "POST"
    context = _lead_context(lead_id, contact=not posted)
    actor = context["actor"]
    form = StatusForm(language=current_language()) if context["holds"] else None
    if form is not None and form.validate_on_submit():
        return _save(actor, context["lead"], form)
    if posted:
        context = _lead_context(lead_id)
    context = _page_context(context)
    if form is not None and not form.is_submitted():
        form.status.data = Status.CONTACT_ATTEMPTED.value
        form.date.data = current_services().clock.now().astimezone(local_zone()).date()
    events = current_services().desk.history(actor, lead_id)
    since = held_since(events)
    return render_template(
        "lead/status.html",
        active="status",
        form=form,
        earliest=(since or context["lead"].received_at).astimezone(local_zone()).date(),
        today=current_services().clock.now().astimezone(local_zone()).date(),
        history=history_lines(actor, lead_id, events),
        **context,
    )


def _effective_at(
    day: dt.date | None, earliest_of: Callable[[], dt.datetime]
) -> dt.datetime | None:
    """The instant a chosen day means: now for today, else noon of that day, but never
    before the earliest instant (``earliest_of()``: the claim or assignment, else the
    lead's arrival; read only for a day in the past) on its own day. A day in the future
    or before that day is handed on for the desk to refuse (R6)."""
    zone = local_zone()
    if day is None or day == current_services().clock.now().astimezone(zone).date():
        return None
    noon = dt.datetime.combine(day, dt.time(12, 0), tzinfo=zone).astimezone(dt.UTC)
    earliest = earliest_of()
    if day == earliest.astimezone(zone).date():
        return max(noon, earliest)
    return noon


def _save(actor: Actor, lead: Lead, form: StatusForm) -> Response:
    """Record the form on ``lead`` (as :func:`_context` loaded it for ``actor``)."""
    desk = current_services().desk
    lead_id = lead.id
    chosen = form.chosen_status()
    if chosen is None:
        desk.release(
            actor,
            lead_id,
            reason=form.chosen_reason(),
            note=form.note.data or "",
            duplicate_of=form.chosen_original(),
        )
        flash(_("Die Anfrage ist wieder für andere Partner verfügbar."), "success")
        return redirect(url_for("auth.index"))
    due_at = None
    due = form.due_local()
    if chosen is Status.FOLLOW_UP:
        if due is None:
            flash(_("Bitte geben Sie für die Wiedervorlage einen Termin an."), "error")
            return redirect(url_for("leads.status", lead_id=lead_id))
        due_at = dt.datetime.combine(due[0], due[1], tzinfo=local_zone()).astimezone(dt.UTC)
    desk.record(
        actor,
        lead_id,
        chosen,
        contact=False,
        effective_at=_effective_at(
            form.date.data, lambda: held_since(desk.history(actor, lead_id)) or lead.received_at
        ),
        channel=form.chosen_channel(),
        note=form.note.data or "",
        due_at=due_at,
    )
    flash(_("Die Änderung wurde gespeichert."), "success")
    return redirect(url_for("leads.status", lead_id=lead_id))


@bp.route("/<int:lead_id>/claim", methods=["POST"])
@role_required("installer")
def claim(lead_id: int) -> Response:
    """R3: "Anfrage übernehmen". A lost race is a message, not an error page."""
    form = PostForm()
    if form.validate_on_submit():
        # The status page it redirects to reads the lead (and records that).
        current_services().desk.claim(current_user.actor, lead_id, contact=False)
        flash(_("Sie haben die Anfrage übernommen."), "success")
    return redirect(url_for("leads.status", lead_id=lead_id))


@bp.route("/<int:lead_id>/assign", methods=["POST"])
@role_required("rep", "admin")
def assign(lead_id: int) -> Response:
    """R5: assign (or reassign) to one of the rep's installers."""
    actor = current_user.actor
    shown = current_services().desk.get(actor, lead_id, client=client())
    form = _assign_form(actor, shown)
    if form is None or not form.validate_on_submit():
        flash(_("Bitte wählen Sie einen Partner."), "error")
        return redirect(url_for("leads.detail", lead_id=lead_id))
    chosen = current_services().directory.installer(str(form.installer_id.data))
    if chosen is None:
        flash(_("Bitte wählen Sie einen Partner."), "error")
        return redirect(url_for("leads.detail", lead_id=lead_id))
    current_services().desk.assign(actor, lead_id, chosen)
    flash(_("Die Anfrage wurde zugeteilt."), "success")
    return redirect(url_for("leads.detail", lead_id=lead_id))


@bp.route("/<int:lead_id>/print")
@role_required(*ANY_ROLE)
def print_view(lead_id: int) -> str:
    """ "Drucken": the project information on a clean page (print CSS, no navigation)."""
    context = _context(lead_id, AccessKind.PRINT)
    return render_template(
        "lead/print.html", history=history_lines(context["actor"], lead_id), **context
    )
