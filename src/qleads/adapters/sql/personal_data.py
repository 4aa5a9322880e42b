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
    match_key_table,
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
    for chunk in _chunks(request.lead_ids):
        conn.execute(
            event_table.update()
            .where(event_table.c.lead_id.in_(chunk), event_table.c.note != "")
            .values(note="")
        )


#: The most ids one ``IN`` list of an erasure step holds.
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


def _cancel_notifications(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_outbox``: the pending notifications of the erased leads are cancelled
    (failed with a reason): what they would render is the person's data."""
    out = outbox_table.c
    for chunk in _chunks(request.lead_ids):
        conn.execute(
            outbox_table.update()
            .where(out.state == "pending", out.lead_id.in_(chunk))
            .values(
                state="failed",
                last_error=ERASED_MAIL_ERROR,
                lease_owner=None,
                lease_until=None,
            )
        )


def _forget_in_messages(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_outbox``: an embedder's messages that name the person — in the address,
    the name, the subject, the body or a delivery error — are cancelled when pending
    (subject and body wiped) and keep neither his address nor his name. Message rows
    are few (a portal's own mails), so they are read once and matched here, however
    many values the person has."""
    out = outbox_table.c
    values = [value.lower() for value in request.values if value]

    def names(text: str | None) -> bool:
        lowered = (text or "").lower()
        return any(value in lowered for value in values)

    rows = conn.execute(
        sa.select(
            out.id,
            out.state,
            out.to_address,
            out.to_name,
            out.subject,
            out.body_text,
            out.body_html,
            out.last_error,
        ).where(out.kind == _MESSAGE)
    ).all()
    for row in rows:
        changes: dict[str, object] = {}
        if names(row.to_address) or names(row.to_name):
            changes.update(to_address=ERASED_ADDRESS, to_name="")
        content = names(row.subject) or names(row.body_text) or names(row.body_html)
        if row.state == "pending" and (changes or content):
            changes.update(
                state="failed",
                last_error=ERASED_MAIL_ERROR,
                lease_owner=None,
                lease_until=None,
                subject=None,
                body_text=None,
                body_html=None,
            )
        elif names(row.last_error):
            changes.update(last_error=ERASED_MAIL_ERROR)
        if changes:
            conn.execute(outbox_table.update().where(out.id == row.id).values(**changes))


def _forget_match_keys(conn: Connection, request: ErasureRequest) -> None:
    """``qleads_match_key``: the digests of the person's e-mail, phone and address that
    duplicate detection matches on. Derived from personal data, so they go too; a later
    submission of the same person is then a lead of its own."""
    for chunk in _chunks(request.lead_ids):
        conn.execute(match_key_table.delete().where(match_key_table.c.lead_id.in_(chunk)))


#: Everything qleads' own tables hold of a person, in the order an erasure clears it
#: (R14). Add a step here for every new table that keeps personal or derived data.
ERASURE_STEPS: Final[tuple[ErasureStep, ...]] = (
    _anonymise_leads,
    _empty_notes,
    _cancel_notifications,
    _forget_in_messages,
    _forget_match_keys,
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
