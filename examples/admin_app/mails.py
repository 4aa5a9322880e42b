"""The demo's mailbox (R10): the mails the portal sent, as their recipients got them.

Only with ``QLEADS_MAILER = "database"``; with SMTP the mails are in real mailboxes and
this page says so. Installers and reps read the mails addressed to them, admins all.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import Select, func, select

from qleads.personal_data import AccessKind

from .models import PortalMail
from .personal_data import client, lead_ids_in
from .security.auth import page_arg, role_required
from .services import current_services

__all__ = ["bp"]

bp = Blueprint("mails", __name__, url_prefix="/mails")

_PER_PAGE = 25
#: A web address in a mail's text (up to the next space or closing bracket).
_URL = re.compile(r"https?://[^\s<>()\[\]]+")


def linked(text: str) -> Markup:
    """A mail's text with its web addresses clickable. An address of this portal (under
    ``QLEADS_BASE_URL``) opens here, whatever host the demo runs on: it becomes a link to
    its path. Other addresses open in a new tab without a referrer."""
    base = str(current_app.config["QLEADS_BASE_URL"]).rstrip("/")
    parts: list[Markup] = []
    end = 0
    for found in _URL.finditer(text):
        url = found.group(0).rstrip(".,;:!?")
        parts.append(escape(text[end : found.start()]))
        if url.startswith(base + "/"):
            target = url[len(base) :]
            parts.append(Markup('<a href="{}">{}</a>').format(target, url))
        else:
            parts.append(
                Markup('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(
                    url, url
                )
            )
        end = found.start() + len(url)
    parts.append(escape(text[end:]))
    return Markup("").join(parts)


def _mine(statement: Select[Any]) -> Select[Any]:
    if current_user.role == "admin":
        return statement
    address = str(current_user.actor.email).lower()
    return statement.where(PortalMail.recipients == address)


@bp.route("/")
@role_required("installer", "rep", "admin")
def inbox() -> str:
    if current_app.config["QLEADS_MAILER"] != "database":
        return render_template("mails/inbox.html", mails=[], total=0, page=1, pages=1, smtp=True)
    page = page_arg()
    with current_services().read_sessions() as db:
        total = db.scalar(_mine(select(func.count(PortalMail.id)))) or 0
        mails = db.scalars(
            _mine(select(PortalMail))
            .order_by(PortalMail.sent_at.desc(), PortalMail.id.desc())
            .offset((page - 1) * _PER_PAGE)
            .limit(_PER_PAGE)
        ).all()
    pages = max(1, -(-total // _PER_PAGE))
    # R14: the subjects name the customers of the leads they are about.
    named = set().union(*(lead_ids_in(mail.subject) for mail in mails))
    current_services().desk.record_access(
        current_user.actor, named, kind=AccessKind.LIST, client=client()
    )
    return render_template(
        "mails/inbox.html", mails=mails, total=total, page=page, pages=pages, smtp=False
    )


@bp.route("/<int:mail_id>")
@role_required("installer", "rep", "admin")
def show(mail_id: int) -> str:
    with current_services().read_sessions() as db:
        mail = db.scalar(_mine(select(PortalMail).where(PortalMail.id == mail_id)))
    if mail is None:
        abort(404)
    about = lead_ids_in(mail.subject, mail.text_body())
    current_services().desk.record_access(
        current_user.actor, about, kind=AccessKind.VIEW, client=client()
    )
    return render_template("mails/show.html", mail=mail, body=linked(mail.text_body()))
