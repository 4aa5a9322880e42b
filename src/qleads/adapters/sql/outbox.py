"""The outbox delivery state (R10) and the digest log on the SQL tables.

Rows are the ``qleads_outbox`` rows that
:meth:`~qleads.adapters.sql.unit_of_work.SqlAlchemyUnitOfWork.enqueue` writes in the
same transaction as each change. Leasing is one short transaction:

* on **PostgreSQL** the due rows are selected ``FOR UPDATE SKIP LOCKED``, so parallel
  dispatchers (threads or processes) take disjoint rows without waiting for each other;
* on **SQLite** the transaction starts with ``BEGIN IMMEDIATE``, so leasing dispatchers
  take turns on the database's write lock.

A row is due when it is pending, its ``next_attempt_at`` has come, and it has no lease
or one that ran out, which is how a dead dispatcher's rows are taken over.

An embedder's :class:`~qleads.mail.outbox.OutboxMessage` is a row of the same table
(``kind = 'message'``, migration 0009): :meth:`SqlAlchemyOutbox.enqueue_message` writes it
in a transaction of its own or in the caller's, so that a portal stores a reset token and
the mail carrying it together. Marking a row sent or failed empties its subject and body
columns, and a check constraint keeps any row but a pending message from holding them.
The daily digest's once-per-day record is the table ``qleads_mail_digest``
(:data:`~qleads.adapters.sql.schema.digest_table`, migration ``0002_mail_digest``).

This module needs the ``mail`` extra (it renders nothing, but the outbox's types live
in :mod:`qleads.mail`), so :mod:`qleads.adapters.sql` does not import it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from qleads.adapters.sql.codec import NOTIFICATION_COLUMNS, notification_from_row
from qleads.adapters.sql.engine import prepare_engine, read_connection, write_transaction
from qleads.adapters.sql.errors import storage_errors
from qleads.adapters.sql.repository import SqlAlchemyLeadRepository
from qleads.adapters.sql.schema import digest_table, outbox_table
from qleads.errors import InvalidInput
from qleads.mail.outbox import (
    MESSAGE_KIND,
    DeliveryState,
    OutboxEntry,
    OutboxMessage,
    require_content,
    wiped_message_error,
)
from qleads.mail.render import RenderedMail

__all__ = ["SqlAlchemyOutbox"]

_O = outbox_table.c
_D = digest_table.c
_STATE: Final = {s.value: s for s in DeliveryState}
_COLUMNS: Final = (
    *NOTIFICATION_COLUMNS,
    _O.state,
    _O.attempts,
    _O.next_attempt_at,
    _O.lease_owner,
    _O.lease_until,
    _O.last_error,
    _O.sent_at,
    _O.message_id,
    _O.to_address,
    _O.to_name,
    _O.subject,
    _O.body_text,
    _O.body_html,
    _O.expires_at,
)
#: What marking a row done empties (a message's content; a notification has none).
_WIPED: Final = {"subject": None, "body_text": None, "body_html": None}


def _message(row: Sequence[Any]) -> OutboxMessage:
    content = None
    if row[16] is not None:
        content = RenderedMail(subject=row[16], text=row[17], html=row[18])
    return OutboxMessage(
        key=row[0],
        to_address=row[14],
        content=content,
        created_at=row[4],
        to_name=row[15] or "",
        expires_at=row[19],
    )


def _entry(row: Sequence[Any]) -> OutboxEntry:
    is_message = row[1] == MESSAGE_KIND
    return OutboxEntry(
        notification=None if is_message else notification_from_row(row),
        message=_message(row) if is_message else None,
        state=_STATE[row[6]],
        attempts=row[7],
        next_attempt_at=row[8],
        lease_owner=row[9],
        lease_until=row[10],
        last_error=row[11],
        sent_at=row[12],
        message_id=row[13],
    )


class SqlAlchemyOutbox:
    """Implements :class:`~qleads.mail.outbox.Outbox` and
    :class:`~qleads.mail.ports.DigestLog` on the tables of ``repository`` (the
    :class:`~qleads.adapters.sql.repository.SqlAlchemyLeadRepository` whose units of work
    write the outbox rows), as :class:`~qleads.adapters.memory_outbox.InMemoryOutbox`
    takes its repository; thread-safe, and safe to use from several processes at once.

    Passing the engine itself still works in 0.2 and warns
    (:class:`DeprecationWarning`): it goes in 0.3.
    """

    def __init__(self, repository: SqlAlchemyLeadRepository | Engine) -> None:
        if isinstance(repository, Engine):
            warnings.warn(
                "SqlAlchemyOutbox() takes the SqlAlchemyLeadRepository, as InMemoryOutbox "
                "takes its repository; passing the engine is deprecated and stops working "
                "in qleads 0.3",
                DeprecationWarning,
                stacklevel=2,
            )
            engine = repository
        else:
            engine = repository.engine
        prepare_engine(engine)
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    # --- Outbox -------------------------------------------------------------------------

    def enqueue_message(
        self, message: OutboxMessage, *, connection: Connection | None = None
    ) -> bool:
        """:meth:`~qleads.mail.outbox.Outbox.enqueue_message`; with ``connection`` (one
        of this database's, in a transaction) the row is written in that transaction and
        committed or rolled back with whatever else it holds. On SQLite that transaction
        should be a writing one from the start (the execution option
        :data:`~qleads.adapters.sql.engine.WRITE_OPTION`, as the portal's sessions
        have), or it may fail on a concurrent writer."""
        content = require_content(message)
        values = {
            "key": message.key,
            "kind": MESSAGE_KIND,
            "created_at": message.created_at,
            "next_attempt_at": message.created_at,
            "to_address": message.to_address,
            "to_name": message.to_name,
            "subject": content.subject,
            "body_text": content.text,
            "body_html": content.html,
            "expires_at": message.expires_at,
        }
        if connection is None:
            with write_transaction(self.engine) as conn:
                return self._insert_message(conn, values)
        with storage_errors():
            return self._insert_message(connection, values)

    def _insert_message(self, conn: Connection, values: dict[str, Any]) -> bool:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(outbox_table).on_conflict_do_nothing(index_elements=["key"])
        # RETURNING, not rowcount: psycopg reports -1 for a single-row insert here.
        return conn.execute(insert.returning(_O.id), values).first() is not None

    def lease(
        self, now: dt.datetime, limit: int, owner: str, lease_for: dt.timedelta
    ) -> list[OutboxEntry]:
        if limit <= 0:
            return []
        until = now + lease_for
        due = (
            sa.select(*_COLUMNS, _O.id)
            .where(
                _O.state == "pending",
                _O.next_attempt_at <= now,
                sa.or_(_O.lease_until.is_(None), _O.lease_until < now),
            )
            .order_by(_O.next_attempt_at, _O.id)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        with write_transaction(self.engine) as conn:
            rows = conn.execute(due).all()
            if not rows:
                return []
            conn.execute(
                sa.update(outbox_table)
                .where(_O.id.in_([r[-1] for r in rows]))
                .values(attempts=_O.attempts + 1, lease_owner=owner, lease_until=until)
            )
        leased = []
        for row in rows:
            entry = _entry(row)
            leased.append(
                OutboxEntry(
                    notification=entry.notification,
                    message=entry.message,
                    state=entry.state,
                    attempts=entry.attempts + 1,
                    next_attempt_at=entry.next_attempt_at,
                    lease_owner=owner,
                    lease_until=until,
                    last_error=entry.last_error,
                    taken_over=entry.lease_owner is not None,
                )
            )
        return leased

    def mark_sent(self, key: str, message_id: str, now: dt.datetime) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(outbox_table)
                .where(_O.key == key, _O.state != "sent")
                .values(
                    state="sent",
                    sent_at=now,
                    message_id=message_id,
                    lease_owner=None,
                    lease_until=None,
                    **_WIPED,
                )
            )

    def release(self, keys: Sequence[str], owner: str) -> int:
        if not keys:
            return 0
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                sa.update(outbox_table)
                .where(_O.key.in_(list(keys)), _O.lease_owner == owner, _O.state == "pending")
                .values(
                    attempts=sa.case((_O.attempts > 0, _O.attempts - 1), else_=0),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return int(result.rowcount)

    def mark_retry(self, key: str, error: str, next_attempt_at: dt.datetime) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(outbox_table)
                .where(_O.key == key, _O.state == "pending")
                .values(
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def mark_failed(self, key: str, error: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(outbox_table)
                .where(_O.key == key, _O.state != "sent")
                .values(
                    state="failed",
                    last_error=error,
                    lease_owner=None,
                    lease_until=None,
                    **_WIPED,
                )
            )

    def failed(self) -> list[OutboxEntry]:
        statement = sa.select(*_COLUMNS).where(_O.state == "failed").order_by(_O.id)
        with read_connection(self.engine) as conn:
            return [_entry(r) for r in conn.execute(statement)]

    def retry(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            known = conn.execute(sa.select(_O.state, _O.kind).where(_O.key == key)).first()
            if known is None:
                raise InvalidInput("key", f"no outbox row {key!r}")
            if tuple(known) == ("failed", MESSAGE_KIND):
                raise wiped_message_error(key)
            conn.execute(
                sa.update(outbox_table)
                .where(_O.key == key, _O.state == "failed")
                .values(
                    state="pending",
                    attempts=0,
                    next_attempt_at=_O.created_at,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    def pending_count(self) -> int:
        statement = sa.select(sa.func.count()).where(_O.state == "pending")
        with read_connection(self.engine) as conn:
            return int(conn.execute(statement).scalar_one())

    def entries(self) -> list[OutboxEntry]:
        """Every row with its state, oldest first (for tests and an admin view)."""
        with read_connection(self.engine) as conn:
            return [_entry(r) for r in conn.execute(sa.select(*_COLUMNS).order_by(_O.id))]

    # --- DigestLog ----------------------------------------------------------------------

    def reserve_digest(
        self, installer_id: str, day: dt.date, now: dt.datetime, lease_until: dt.datetime
    ) -> bool:
        values = {
            "installer_id": installer_id,
            "day": day,
            "state": "pending",
            "lease_until": lease_until,
        }
        insert = (
            postgresql.insert(digest_table) if self._postgres else sqlite.insert(digest_table)
        ).on_conflict_do_nothing()
        with write_transaction(self.engine) as conn:
            # RETURNING, not rowcount: psycopg reports -1 for a single-row insert here.
            if conn.execute(insert.returning(_D.installer_id), values).first() is not None:
                return True
            taken = conn.execute(
                sa.update(digest_table)
                .where(
                    _D.installer_id == installer_id,
                    _D.day == day,
                    _D.state == "pending",
                    sa.or_(_D.lease_until.is_(None), _D.lease_until < now),
                )
                .values(lease_until=lease_until)
            )
            return taken.rowcount == 1

    def digest_sent(
        self,
        installer_id: str,
        day: dt.date,
        *,
        message_id: str | None,
        lead_count: int,
        now: dt.datetime,
    ) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(digest_table)
                .where(_D.installer_id == installer_id, _D.day == day)
                .values(
                    state="sent",
                    sent_at=now,
                    message_id=message_id,
                    lead_count=lead_count,
                    lease_until=None,
                )
            )

    def digest_retry(self, installer_id: str, day: dt.date, error: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(digest_table)
                .where(_D.installer_id == installer_id, _D.day == day, _D.state == "pending")
                .values(lease_until=None, last_error=error[:1000])
            )

    def last_digest(self, installer_id: str) -> dt.datetime | None:
        statement = sa.select(sa.func.max(_D.sent_at)).where(_D.installer_id == installer_id)
        with read_connection(self.engine) as conn:
            value: dt.datetime | None = conn.execute(statement).scalar_one_or_none()
        return value
