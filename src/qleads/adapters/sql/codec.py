"""Rows ⇄ domain values: how a lead, a tab row, a history event and an outbox record are
written as DB-API parameters and read back from DB-API rows.

The frozen domain classes stay unmapped; this module maps them explicitly, and fast: the
unit of work sends its statements straight through the driver, so the conversions
SQLAlchemy's types would make (:class:`~qleads.adapters.sql.schema.UtcDateTime`, JSON)
are made here, by the functions of the dialect (:class:`RowCodec`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

import orjson

from qleads.adapters.sql.schema import outbox_table
from qleads.documents import encoded_document, structure_stored_document
from qleads.errors import StorageError
from qleads.escalation import deadline_code, parse_deadline_code
from qleads.instants import require_utc
from qleads.lifecycle import Status
from qleads.model import (
    Channel,
    Deadline,
    DeadlineKind,
    EventKind,
    HistoryEvent,
    Lead,
    LeadDocument,
    LeadSummary,
    Notification,
    NotificationKind,
    ReleaseReason,
)
from qleads.personal_data import AccessRecord

__all__ = [
    "NOTIFICATION_COLUMNS",
    "STATUS_BY_VALUE",
    "Instant",
    "RowCodec",
    "notification_from_row",
]

_UTC = dt.UTC

STATUS_BY_VALUE: Final = {s.value: s for s in Status}
_DEADLINE_KIND: Final = {k.value: k for k in DeadlineKind}


def _deadline(code: str, at: dt.datetime) -> Deadline:
    """A stored deadline: the kind alone, or ``kind@place`` (:func:`deadline_code`)."""
    kind = _DEADLINE_KIND.get(code)
    if kind is not None:
        return Deadline(kind, at)
    parsed, step = parse_deadline_code(code)
    return Deadline(parsed, at, step)


_EVENT_KIND: Final = {k.value: k for k in EventKind}
_CHANNEL: Final = {c.value: c for c in Channel}
_REASON: Final = {r.value: r for r in ReleaseReason}
_NOTIFICATION_KIND: Final = {k.value: k for k in NotificationKind}
_NO_HOLDERS: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=4096)
def _holders(text: str) -> frozenset[str]:
    if text == "[]":
        return _NO_HOLDERS
    return frozenset(json.loads(text))


def _holders_text(holders: frozenset[str]) -> str:
    return json.dumps(sorted(holders), separators=(",", ":")) if holders else "[]"


def _sqlite_in(value: dt.datetime | None) -> str | None:
    """An instant as :class:`~qleads.adapters.sql.schema.UtcDateTime` stores it on
    SQLite (fixed-width UTC text)."""
    if value is None:
        return None
    if value.tzinfo is _UTC:  # the common case
        return _utc_text(value)
    return require_utc("datetime", value).replace(tzinfo=None).isoformat(" ", "microseconds")


@functools.lru_cache(maxsize=1024)
def _utc_text(value: dt.datetime) -> str:
    """A UTC instant without its "+00:00". Cached: a sweep's thousands of notices share
    a few instants (the sweep's now, the deadlines)."""
    return value.isoformat(" ", "microseconds")[:-6]


def _postgres_in(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else require_utc("datetime", value)


def _sqlite_out(value: str | None) -> dt.datetime | None:
    # The stored text has no offset; parsing it with "+00:00" gives the UTC instant
    # directly, five times as fast as ``replace(tzinfo=...)`` after parsing (a tab page
    # converts four instants per row).
    if value is None:
        return None
    return dt.datetime.fromisoformat(value + "+00:00")


def _postgres_out(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is _UTC:
        return value
    if value.tzinfo is None:  # a column written by hand without a zone
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


#: An instant as the driver takes it (SQLite: text) or as it returned it, converted.
Instant: TypeAlias = Callable[[Any], Any]


#: The columns of an outbox row that make its :class:`~qleads.model.Notification`, in
#: the order :func:`notification_from_row` reads them.
NOTIFICATION_COLUMNS: Final = (
    outbox_table.c.key,
    outbox_table.c.kind,
    outbox_table.c.lead_id,
    outbox_table.c.recipient_id,
    outbox_table.c.created_at,
    outbox_table.c.deadline_at,
)


def notification_from_row(row: Sequence[Any]) -> Notification:
    """The notification of an outbox row that starts with :data:`NOTIFICATION_COLUMNS`."""
    return Notification(
        key=row[0],
        kind=_NOTIFICATION_KIND[row[1]],
        lead_id=row[2],
        recipient_id=row[3],
        created_at=row[4],
        deadline_at=row[5],
    )


class RowCodec:
    """The conversions of one dialect: instants in and out (:attr:`instant_in`,
    :attr:`instant_out`), leads and tab rows from rows of the unit of work's statements
    (``qleads.adapters.sql.statements``, ``qleads.adapters.sql.tab_sql``), and the
    parameters of its writes. Thread-safe; one per repository."""

    def __init__(self, *, postgres: bool, document_cache_size: int = 4096) -> None:
        self.instant_in: Instant = _postgres_in if postgres else _sqlite_in
        self.instant_out: Instant = _postgres_out if postgres else _sqlite_out

        # Lead documents are immutable values: parsing and structuring one is the
        # dominant cost of mapping a row, so the result is cached by its exact JSON text,
        # and parsed by orjson (about 2.5 times as fast as json.loads here).
        @functools.lru_cache(maxsize=document_cache_size)
        def document(text: str) -> LeadDocument:
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                raise StorageError(f"stored lead document is not JSON: {e}") from e
            return structure_stored_document(data)

        self._document: Callable[[str], LeadDocument] = document
        self._forget = document.cache_clear

    def forget_documents(self) -> None:
        """Drop every parsed document this codec keeps: after an erasure (R14) no copy
        of an erased person's document stays in this process's memory."""
        self._forget()

    # --- rows → values ---------------------------------------------------------------------

    def lead(self, row: Sequence[Any]) -> Lead:
        """A lead from a DB-API row of the unit of work's lead columns."""
        instant = self.instant_out
        deadline_kind = row[9]
        return Lead(
            row[0],
            self._document(row[1]),
            instant(row[2]),
            row[3],
            STATUS_BY_VALUE[row[4]],
            instant(row[5]),
            row[6],
            instant(row[7]),
            instant(row[8]),
            _deadline(deadline_kind, instant(row[10])) if deadline_kind is not None else None,
            _holders(row[11]),
            row[12],
        )

    def summaries(self, rows: Sequence[Sequence[Any]]) -> tuple[LeadSummary, ...]:
        """Tab rows from DB-API rows of a tab page's row columns: in one loop with its
        names bound once, and no conversion called for an empty column (a page maps
        tens of rows, most of them without a deadline or earlier holders)."""
        instant = self.instant_out
        status = STATUS_BY_VALUE
        return tuple(
            LeadSummary(
                row[0],
                row[1],
                row[2],
                row[3],
                instant(row[4]),
                row[5],
                status[row[6]],
                instant(row[7]),
                row[8],
                None if row[9] is None else instant(row[9]),
                None if row[10] is None else instant(row[10]),
                None if row[11] is None else _deadline(row[11], instant(row[12])),
                _NO_HOLDERS if row[13] == "[]" else _holders(row[13]),
                row[14],
            )
            for row in rows
        )

    def events(self, rows: Sequence[Sequence[Any]]) -> list[HistoryEvent]:
        """History events from DB-API rows of the event columns, in their order."""
        instant = self.instant_out
        return [
            HistoryEvent(
                lead_id=row[0],
                version=row[1],
                kind=_EVENT_KIND[row[2]],
                actor_id=row[3],
                from_status=STATUS_BY_VALUE[row[4]] if row[4] is not None else None,
                to_status=STATUS_BY_VALUE[row[5]],
                effective_at=instant(row[6]),
                recorded_at=instant(row[7]),
                holder_id=row[8],
                channel=_CHANNEL[row[9]] if row[9] is not None else None,
                note=row[10],
                reason=_REASON[row[11]] if row[11] is not None else None,
                due_at=instant(row[12]),
            )
            for row in rows
        ]

    # --- values → parameters ---------------------------------------------------------------

    def state_params(self, lead: Lead) -> list[Any]:
        t = self.instant_in
        deadline = lead.deadline
        return [
            t(lead.received_at),
            lead.territory_id,
            lead.status.value,
            t(lead.status_at),
            lead.holder_id,
            t(lead.hold_until),
            t(lead.due_at),
            deadline_code(deadline) if deadline is not None else None,
            t(deadline.at) if deadline is not None else None,
            _holders_text(lead.previous_holders),
            lead.version,
        ]

    def changes(self, before: Lead, after: Lead) -> tuple[tuple[str, ...], list[Any]]:
        """The state columns that differ between two versions of a lead, with their new
        values. Setting only these keeps SQLite from rewriting the entries of indexes
        whose columns did not change (it rewrites every index a ``SET`` column is in)."""
        t = self.instant_in
        columns: list[str] = []
        params: list[Any] = []
        if after.received_at != before.received_at:
            columns.append("received_at")
            params.append(t(after.received_at))
        if after.territory_id != before.territory_id:
            columns.append("territory_id")
            params.append(after.territory_id)
        if after.status is not before.status:
            columns.append("status")
            params.append(after.status.value)
        if after.status_at != before.status_at:
            columns.append("status_at")
            params.append(t(after.status_at))
        if after.holder_id != before.holder_id:
            columns.append("holder_id")
            params.append(after.holder_id)
        if after.hold_until != before.hold_until:
            columns.append("hold_until")
            params.append(t(after.hold_until))
        if after.due_at != before.due_at:
            columns.append("due_at")
            params.append(t(after.due_at))
        deadline, was = after.deadline, before.deadline
        if deadline != was:
            if (
                deadline is None
                or was is None
                or deadline.kind is not was.kind
                or deadline.step != was.step
            ):
                columns.append("deadline_kind")
                params.append(deadline_code(deadline) if deadline is not None else None)
            if deadline is None or was is None or deadline.at != was.at:
                columns.append("deadline_at")
                params.append(t(deadline.at) if deadline is not None else None)
        if after.previous_holders != before.previous_holders:
            columns.append("previous_holders")
            params.append(_holders_text(after.previous_holders))
        columns.append("version")
        params.append(after.version)
        return tuple(columns), params

    @staticmethod
    def document_params(document: LeadDocument) -> list[Any]:
        contact = document.contact
        encoded = encoded_document(document)
        return [
            # The text SQLAlchemy's JSON type wrote before (json.dumps, default settings).
            encoded.text,
            encoded.fingerprint,
            contact.name,
            contact.postal_code,
            contact.city,
        ]

    def event_rows(self, events: Sequence[HistoryEvent]) -> list[tuple[Any, ...]]:
        """The parameters of the event insert, one tuple per event."""
        t = self.instant_in
        return [
            (
                e.lead_id,
                e.version,
                e.kind.value,
                e.actor_id,
                e.from_status.value if e.from_status is not None else None,
                e.to_status.value,
                t(e.effective_at),
                t(e.recorded_at),
                e.holder_id,
                e.channel.value if e.channel is not None else None,
                e.note,
                e.reason.value if e.reason is not None else None,
                t(e.due_at),
            )
            for e in events
        ]

    def access_rows(self, records: Sequence[AccessRecord]) -> list[tuple[Any, ...]]:
        """The parameters of an access record's insert (``ACCESS_COLUMNS``)."""
        t = self.instant_in
        return [
            (
                t(r.at),
                r.user_id,
                r.role,
                r.lead_id,
                r.kind.value,
                r.territory_id,
                r.holder_id,
                r.client,
            )
            for r in records
        ]

    def notification_rows(self, notifications: Sequence[Notification]) -> list[tuple[Any, ...]]:
        """The parameters of the outbox insert, one tuple per notification (its first
        attempt is due when it is created)."""
        t = self.instant_in
        return [
            (
                n.key,
                n.kind.value,
                n.lead_id,
                n.recipient_id,
                t(n.created_at),
                t(n.deadline_at),
                t(n.created_at),
            )
            for n in notifications
        ]
