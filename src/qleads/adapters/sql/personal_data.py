"""Export, erasure and retention (R14) on SQL: the
:class:`~qleads.personal_data_ports.PersonalDataStore` port.

:data:`ERASURE_STEPS` is the one list of everything qleads' tables hold of a person and
how an erasure clears it; a new table of personal or derived data (match keys for
duplicate detection, a cache) adds its step there. What an embedder keeps in tables of
its own it clears with an :data:`ErasureHook`, run in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from qleads.adapters.sql.codec import RowCodec
from qleads.adapters.sql.engine import read_connection, write_transaction
from qleads.adapters.sql.schema import (
    RETENTION_CLOSED,
    RETENTION_UNCLAIMED,
    erasure_table,
    event_table,
    lead_table,
    outbox_table,
)
from qleads.documents import unstructure_document
from qleads.model import Lead, NotificationKind
from qleads.personal_data import (
    ERASED_ADDRESS,
    ERASED_MAIL_ERROR,
    ErasureRecord,
    ErasureRequest,
)
from qleads.personal_data_ports import MailRecord
from qleads.ports import LeadRepository

__all__ = ["ERASURE_STEPS", "ErasureHook", "ErasureStep", "SqlAlchemyPersonalData"]

#: One place of personal data and how to clear it, inside the erasure's transaction.
ErasureStep = Callable[[Connection, ErasureRequest], None]
#: An embedder's own step for its own tables (same signature, same transaction).
ErasureHook = ErasureStep

_KINDS = {kind.value: kind for kind in NotificationKind}
#: The contact e-mail inside the stored document (``#>>`` on PostgreSQL,
#: ``json_extract`` on SQLite).
_EMAIL: Final = lead_table.c.document[("contact", "email")].as_string()
_MESSAGE = "message"


def _anonymise_leads(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_lead``: the document, its denormalised name, city and postal code, and
    the intake fingerprint (a hash of the person's data) of the anonymised document."""
    erased_at = {record.lead_id: record.at for record in request.records}
    for lead in request.anonymised:
        _, fingerprint, name, postal_code, city = RowCodec.document_params(lead.document)
        conn.execute(
            lead_table.update()
            .where(lead_table.c.id == lead.id)
            .values(
                # The JSON type writes it as the unit of work does (json.dumps).
                document=unstructure_document(lead.document),
                fingerprint=fingerprint,
                name=name,
                postal_code=postal_code,
                city=city,
                erased_at=erased_at[lead.id],
            )
        )


def _empty_notes(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_event``: the history's notes (free text that may name the person); the
    events themselves — who, what, when, from which status to which — stay."""
    conn.execute(
        event_table.update()
        .where(event_table.c.lead_id.in_(request.lead_ids), event_table.c.note != "")
        .values(note="")
    )


def _names(column: sa.ColumnElement[str], values: Sequence[str]) -> sa.ColumnElement[bool]:
    lowered = sa.func.lower(column)
    return sa.or_(sa.false(), *(lowered.contains(v.lower(), autoescape=True) for v in values))


def _cancel_mails(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_outbox``: pending notifications of the leads and pending messages that
    name the person are cancelled (failed, their subject and body wiped)."""
    out = outbox_table.c
    message_names = sa.and_(
        out.kind == _MESSAGE,
        sa.or_(
            *(_names(column, request.values) for column in (out.subject, out.body_text)),
            _names(out.body_html, request.values),
            _names(out.to_address, request.values),
            _names(out.to_name, request.values),
        ),
    )
    conn.execute(
        outbox_table.update()
        .where(out.state == "pending", sa.or_(out.lead_id.in_(request.lead_ids), message_names))
        .values(
            state="failed",
            last_error=ERASED_MAIL_ERROR,
            lease_owner=None,
            lease_until=None,
            subject=None,
            body_text=None,
            body_html=None,
        )
    )


def _forget_recipients(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_outbox``: the person's address and name on any message row, and any
    delivery error that quotes them."""
    out = outbox_table.c
    conn.execute(
        outbox_table.update()
        .where(
            out.kind == _MESSAGE,
            sa.or_(_names(out.to_address, request.values), _names(out.to_name, request.values)),
        )
        .values(to_address=ERASED_ADDRESS, to_name="")
    )
    conn.execute(
        outbox_table.update()
        .where(_names(out.last_error, request.values))
        .values(last_error=ERASED_MAIL_ERROR)
    )


#: Everything qleads' own tables hold of a person, in the order an erasure clears it
#: (R14). Add a step here for every new table that keeps personal or derived data.
ERASURE_STEPS: Final[tuple[ErasureStep, ...]] = (
    _anonymise_leads,
    _empty_notes,
    _cancel_mails,
    _forget_recipients,
)


class SqlAlchemyPersonalData:
    """Implements :class:`~qleads.personal_data_ports.PersonalDataStore` on the tables
    of a :class:`~qleads.adapters.sql.repository.SqlAlchemyLeadRepository`.

    ``hooks`` are the embedder's erasure steps for its own tables (a portal's request
    log, its copy of sent mails), run after :data:`ERASURE_STEPS` in the same
    transaction: if one fails, nothing is erased."""

    def __init__(
        self,
        engine: Engine,
        repository: LeadRepository,
        *,
        forget: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._repository = repository
        #: Clears the repository's cache of parsed documents after an erasure.
        self._forget = forget
        self.hooks: list[ErasureHook] = []

    def _leads(self, ids: Sequence[int]) -> list[Lead]:
        with self._repository.unit_of_work() as uow:
            return [uow.get(lead_id) for lead_id in ids]

    def leads_with_email(self, email: str) -> list[Lead]:
        wanted = email.strip().lower()
        if not wanted:
            return []
        statement = (
            sa.select(lead_table.c.id)
            .where(sa.func.lower(_EMAIL) == wanted)
            .order_by(lead_table.c.id)
        )
        with read_connection(self._engine) as conn:
            ids = list(conn.execute(statement).scalars())
        return self._leads(ids)

    def mails(self, lead_ids: Sequence[int]) -> list[MailRecord]:
        if not lead_ids:
            return []
        out = outbox_table.c
        statement = (
            sa.select(out.lead_id, out.kind, out.recipient_id, out.created_at)
            .where(out.lead_id.in_(list(lead_ids)), out.kind != _MESSAGE)
            .order_by(out.created_at, out.id)
        )
        with read_connection(self._engine) as conn:
            return [
                MailRecord(row.lead_id, _KINDS[row.kind], row.recipient_id, row.created_at)
                for row in conn.execute(statement)
            ]

    def erasures(self, lead_ids: Sequence[int]) -> list[ErasureRecord]:
        if not lead_ids:
            return []
        e = erasure_table.c
        statement = (
            sa.select(e.lead_id, e.actor_id, e.at, e.reason)
            .where(e.lead_id.in_(sorted(set(lead_ids))))
            .order_by(e.lead_id)
        )
        with read_connection(self._engine) as conn:
            return [
                ErasureRecord(row.lead_id, row.actor_id, row.at, row.reason)
                for row in conn.execute(statement)
            ]

    def retention_due(
        self, closed_before: dt.datetime, unclaimed_before: dt.datetime, limit: int
    ) -> list[Lead]:
        lead = lead_table.c
        # Each reads one partial index range: the WHERE repeats its predicate as written.
        closed = (
            sa.select(lead.id)
            .where(sa.text(RETENTION_CLOSED), lead.status_at <= closed_before)
            .order_by(lead.status_at, lead.id)
            .limit(limit)
        )
        unclaimed = (
            sa.select(lead.id)
            .where(
                sa.text(RETENTION_UNCLAIMED),
                lead.received_at <= unclaimed_before,
                lead.holder_id.is_(None),
            )
            .order_by(lead.received_at, lead.id)
            .limit(limit)
        )
        with read_connection(self._engine) as conn:
            ids = set(conn.execute(closed).scalars()) | set(conn.execute(unclaimed).scalars())
        return self._leads(sorted(ids)[:limit])

    def erase(self, request: ErasureRequest) -> None:
        with write_transaction(self._engine) as conn:
            done = set(
                conn.execute(
                    sa.select(erasure_table.c.lead_id).where(
                        erasure_table.c.lead_id.in_(request.lead_ids)
                    )
                ).scalars()
            )
            todo = ErasureRequest(
                leads=tuple(lead for lead in request.leads if lead.id not in done),
                anonymised=tuple(lead for lead in request.anonymised if lead.id not in done),
                values=request.values,
                records=tuple(r for r in request.records if r.lead_id not in done),
            )
            if not todo.leads:
                return
            for step in (*ERASURE_STEPS, *self.hooks):
                step(conn, todo)
            conn.execute(
                erasure_table.insert(),
                [
                    {"lead_id": r.lead_id, "actor_id": r.actor_id, "at": r.at, "reason": r.reason}
                    for r in todo.records
                ],
            )
        if self._forget is not None:
            self._forget()
