"""A customer's personal data in the portal (R14): the lead's "Auskunft" (export
download) and "Personendaten löschen" (erasure with confirmation and reason), the client
address the access records keep, and the erasure hooks for the portal's own tables.

Every page that shows contact data records the access through the library
(``LeadDesk.get``/``tab`` with the kind and the client address, ``record_access`` for
the portal's own read models); this module only adds the admin's two actions. URLs
carry lead ids, never an address, so the web server's own log holds no personal data.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Connection
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from qleads.desk.personal_data import one_answer
from qleads.personal_data import REASON_LIMIT, AccessKind, ErasureRequest

from .api.idempotency import idempotency_records
from .form_base import PortalForm
from .models import PortalMail
from .security.auth import role_required
from .services import current_services

__all__ = ["EraseForm", "bp", "client", "erase_portal_copies", "init_answers", "lead_ids_in"]

bp = Blueprint("personal_data", __name__, url_prefix="/leads")

#: A deep link to a lead in a mail, or "Anfrage 12" in its subject.
_LEAD_LINK = re.compile(r"/leads/(\d+)|Anfrage (\d+)|lead (\d+)", re.IGNORECASE)


def client() -> str:
    """The client's address for an access record (the library cuts it to its network)."""
    return request.remote_addr or ""


def init_answers(app: Flask) -> None:
    """Each request is one answer (``qleads.desk.personal_data.one_answer``) to its
    client: a lead the request reads and then gets back from a change (a status
    record), or reads from two places of one page, is recorded once (R14), and the
    records of what a change returns carry the client's address too. Opened before
    every other hook of the request, closed when the request ends, whatever happened."""

    def begin() -> None:
        answer = one_answer(client())
        answer.__enter__()
        g.qleads_answer = answer

    def end(_error: BaseException | None) -> None:
        answer = g.pop("qleads_answer", None)
        if answer is not None:
            answer.__exit__(None, None, None)

    app.before_request_funcs.setdefault(None, []).insert(0, begin)
    app.teardown_request(end)


def lead_ids_in(*texts: str) -> set[int]:
    """The leads a mail is about: its deep links and the ids its subject names."""
    found: set[int] = set()
    for text in texts:
        for match in _LEAD_LINK.finditer(text or ""):
            found.add(int(next(group for group in match.groups() if group)))
    return found


class EraseForm(PortalForm):
    """The erasure's confirmation: a reason (Art. 17 asks why) and an explicit yes."""

    reason = TextAreaField(
        _l("Grund der Löschung"),
        validators=[InputRequired(), DataRequired(), Length(max=REASON_LIMIT)],
    )
    confirm = BooleanField(
        _l("Ja, die Personendaten dieser Anfragen unwiderruflich löschen"),
        validators=[DataRequired()],
    )


def _email_of(lead_id: int) -> tuple[Any, str]:
    shown = current_services().desk.get(
        current_user.actor, lead_id, access=AccessKind.ADMIN_READ, client=client()
    )
    return shown, shown.lead.document.contact.email


@bp.route("/<int:lead_id>/auskunft")
@role_required("admin")
def export(lead_id: int) -> BaseResponse:
    """Art. 15: everything the portal holds about this lead's customer, as a JSON file."""
    _shown, email = _email_of(lead_id)
    if not email:
        flash(
            _("Diese Anfrage enthält keine E-Mail-Adresse mehr (Personendaten gelöscht)."), "error"
        )
        return redirect(url_for("leads.detail", lead_id=lead_id))
    document = current_services().desk.export_personal_data(
        current_user.actor, email=email, client=client()
    )
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="auskunft-anfrage-{lead_id}.json"'},
    )


@bp.route("/<int:lead_id>/personendaten-loeschen", methods=["GET", "POST"])
@role_required("admin")
def erase(lead_id: int) -> Any:
    """Art. 17: the confirmation page, and the erasure of every lead of this customer's
    e-mail address (of this lead alone when it has none any more)."""
    shown, email = _email_of(lead_id)
    services = current_services()
    same_person = (
        [lead.id for lead in services.repository.personal_data.leads_with_email(email)]
        if email
        else [lead_id]
    )
    form = EraseForm()
    if form.validate_on_submit():
        actor = current_user.actor
        reason = form.reason.data or ""
        if email:
            result = services.desk.erase_personal_data(
                actor, email=email, reason=reason, client=client()
            )
        else:
            result = services.desk.erase_personal_data(
                actor, lead_id=lead_id, reason=reason, client=client()
            )
        flash(
            _("Personendaten gelöscht: %(count)s Anfrage(n).", count=len(result.erased))
            if result.erased
            else _("Die Personendaten waren bereits gelöscht."),
            "success",
        )
        return redirect(url_for("leads.detail", lead_id=lead_id))
    return render_template(
        "lead/erase.html", shown=shown, lead=shown.lead, same_person=same_person, form=form
    )


def erase_portal_copies(conn: Connection, request_: ErasureRequest) -> None:
    """The erasure hook for the portal's own tables (R14), run in the library's
    erasure transaction: the intake API's stored answers and request hashes of the
    erased leads, and the demo mailbox's copies of mails that name the person or link to
    an erased lead. (The SQL adapter's ``ERASURE_STEPS`` cover qleads' own tables.)"""
    ids = set(request_.lead_ids)
    values = [value.lower() for value in request_.values]
    records = idempotency_records
    for row in conn.execute(
        sa.select(records.c.source_id, records.c.idempotency_key, records.c.body)
    ):
        try:
            answered = json.loads(row.body) if row.body else {}
        except ValueError:
            answered = {}
        if isinstance(answered, dict) and answered.get("id") in ids:
            conn.execute(
                records.delete().where(
                    records.c.source_id == row.source_id,
                    records.c.idempotency_key == row.idempotency_key,
                )
            )
    mails = PortalMail.__table__
    assert isinstance(mails, sa.Table)
    for mail in conn.execute(sa.select(mails.c.id, mails.c.subject, mails.c.raw)):
        copy = PortalMail(subject=mail.subject, raw=mail.raw)
        text = " ".join((mail.subject or "", copy.text_body(), copy.html_body(), mail.raw))
        lowered = text.lower()
        if lead_ids_in(text) & ids or any(value in lowered for value in values):
            conn.execute(mails.delete().where(mails.c.id == mail.id))
