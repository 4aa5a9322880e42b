"""The rep's queue and decline reasons (``qleads.decline``, ``qleads.rep_queue``,
``qleads.duplicates``): what came back to the rep and why.

* ``/queue/`` — the leads waiting in his queue (declined as outside an installer's area,
  *nicht vermittelbar*, returned by the escalation ladder, spam, duplicates), and the
  reasons installers gave for his territories' leads, counted, with a chart;
* ``/queue/lead/<id>`` — one lead's decline reasons, its duplicate link, and what the
  rep can do: send it to the pool, unlink a duplicate, confirm it as spam.

Every action goes through ``LeadDesk``, which checks R12 itself; a lead the rep may not
see is a 404 (R2).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from qleads.decline import DECLINE_REASONS
from qleads.lifecycle import Status
from qleads.model import ReleaseReason
from qleads.rep_queue import is_queued

from .charts import Bar, bar_chart
from .i18n import current_language
from .personal_data import client
from .security.auth import PostForm, page_arg, role_required
from .services import current_services

__all__ = ["bp"]

bp = Blueprint("queue", __name__, url_prefix="/queue")

STAFF = ("rep", "admin")


def reason_label(reason: ReleaseReason | None, language: str) -> str:
    return reason.label(language) if reason is not None else _("ohne Angabe")


@bp.route("/")
@role_required(*STAFF)
def index() -> str:
    """The rep's queue and the reasons, counted (an admin: the unrouted leads' queue
    and every territory's reasons)."""
    desk = current_services().desk
    actor = current_user.actor
    per_page = int(current_app.config["QLEADS_PER_PAGE"])
    number = page_arg()
    rows, total = desk.queue(actor, offset=(number - 1) * per_page, limit=per_page, client=client())
    summary = desk.decline_summary(actor)
    language = current_language()
    chart = bar_chart(
        _("Gründe der Freigaben"),
        [
            Bar(reason_label(reason, language), count, str(count))
            for reason, count in summary.items()
        ],
    )
    return render_template(
        "queue/index.html",
        rows=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // per_page)),
        summary=summary,
        chart=chart,
        reason_label=lambda reason: reason_label(reason, language),
    )


@bp.route("/lead/<int:lead_id>")
@role_required(*STAFF)
def lead(lead_id: int) -> str:
    """One lead's decline reasons and duplicate link, with the queue's actions."""
    desk = current_services().desk
    actor = current_user.actor
    shown = desk.get(actor, lead_id, client=client())
    language = current_language()
    return render_template(
        "queue/lead.html",
        lead=shown.lead,
        declines=desk.decline_reasons(actor, lead_id),
        duplicate_of=desk.duplicate_of(actor, lead_id),
        queued=is_queued(shown.lead),
        may_confirm_spam=shown.lead.status is Status.NEW,
        names=_names(),
        form=PostForm(),
        reason_label=lambda reason: reason_label(reason, language),
        reasons=DECLINE_REASONS,
    )


def _names() -> dict[str, str]:
    return {i.id: i.name for i in current_services().directory.installers()}


def _act(lead_id: int, action: str) -> Response:
    form = PostForm()
    if form.validate_on_submit():
        desk: Any = current_services().desk
        getattr(desk, action)(current_user.actor, lead_id)
        flash(_MESSAGES[action](), "success")
    return redirect(url_for("queue.lead", lead_id=lead_id))


_MESSAGES = {
    "return_to_pool": lambda: _("Die Anfrage ist wieder für die Partner des Gebiets verfügbar."),
    "unlink_duplicate": lambda: _("Die Verknüpfung wurde gelöst; die Anfrage wird verteilt."),
    "confirm_spam": lambda: _("Die Anfrage ist als Spam geschlossen."),
}


@bp.route("/lead/<int:lead_id>/return", methods=["POST"])
@role_required(*STAFF)
def return_to_pool(lead_id: int) -> Response:
    return _act(lead_id, "return_to_pool")


@bp.route("/lead/<int:lead_id>/unlink", methods=["POST"])
@role_required(*STAFF)
def unlink(lead_id: int) -> Response:
    return _act(lead_id, "unlink_duplicate")


@bp.route("/lead/<int:lead_id>/spam", methods=["POST"])
@role_required(*STAFF)
def spam(lead_id: int) -> Response:
    return _act(lead_id, "confirm_spam")
