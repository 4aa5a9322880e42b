"""The mail outbox (R10): what was sent, what waits, what failed.

Rows change only through the ``Outbox`` port: a failed mail is retried with
``Outbox.retry`` (the batch action "Erneut senden"), never edited here. The list may be
exported, formula-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import flash
from flask_admin.actions import action
from flask_babel import lazy_gettext as _l

from qleads.errors import QleadsError

from ..errors import message_for
from ..services import current_services
from .base import ReadOnlyView, is_admin
from .labels import MAIL_KINDS, OUTBOX_STATES, choices
from .rows import OutboxRow

__all__ = ["FailedMailView", "OutboxView"]


_OUTBOX_LABELS: dict[str, Any] = {
    "id": _l("Nr."),
    "key": _l("Schlüssel"),
    "kind": _l("Art"),
    "lead_id": _l("Anfrage"),
    "recipient_id": _l("Empfänger"),
    "state": _l("Zustand"),
    "attempts": _l("Versuche"),
    "next_attempt_at": _l("Nächster Versuch"),
    "last_error": _l("Letzter Fehler"),
    "sent_at": _l("Gesendet"),
    "created_at": _l("Erstellt"),
}


class OutboxView(ReadOnlyView):
    """The mail outbox (R10): what was sent, what waits, what failed. A failed mail is
    retried through ``Outbox.retry`` (batch action "Erneut senden")."""

    column_list = (
        "id",
        "kind",
        "lead_id",
        "recipient_id",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    column_filters: tuple[str, ...] = ("state", "kind", "recipient_id", "lead_id")
    column_searchable_list = ("recipient_id", "key")
    column_default_sort = ("id", True)
    column_labels = _OUTBOX_LABELS
    column_choices: ClassVar[dict[str, Any]] = {
        "kind": choices(MAIL_KINDS),
        "state": choices(OUTBOX_STATES),
    }
    can_export = True
    column_export_list = (
        "id",
        "kind",
        "lead_id",
        "recipient_id",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )

    @action(
        "retry",
        _l("Erneut senden"),
        _l("Die ausgewählten fehlgeschlagenen Mails erneut senden?"),
    )
    def action_retry(self, ids: Sequence[str]) -> None:
        outbox = current_services().outbox
        rows = [(row.key, row.state) for row in self.selected_rows(ids)]
        self.end_read()
        retried = skipped = 0
        for key, state in rows:
            if state != "failed":
                skipped += 1
                continue
            try:
                outbox.retry(key)
            except QleadsError as exc:
                flash(message_for(exc), "error")
            else:
                retried += 1
        flash(str(_l("%(n)d Mail(s) werden erneut gesendet.", n=retried)), "success")
        if skipped:
            flash(str(_l("%(n)d Mail(s) waren nicht fehlgeschlagen.", n=skipped)), "info")


class FailedMailView(OutboxView):
    """Only the failed mails: the list an admin must look at (R10)."""

    column_filters: tuple[str, ...] = ("kind", "recipient_id", "lead_id")

    def row_filter(self) -> sa.ColumnElement[bool] | None:
        if is_admin():
            return OutboxRow.state == "failed"
        return sa.false()
