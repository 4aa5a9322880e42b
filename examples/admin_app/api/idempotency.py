"""The intake API's ``Idempotency-Key``: one lead per key, however many requests race.

A key is *reserved* before the lead document is taken in, by inserting its row in a
transaction of its own; the primary key (source, key) lets exactly one of any number of
concurrent requests do that. The winner takes the lead in and then *completes* the row
with its answer, which later requests with the same key and body get again; the losers
are answered from the row and store nothing: 409 while the first is still at work, the
stored answer for the same body, 422 for another body.

A request whose document is refused by validation (422) *releases* its key, and so does
one that fails (an exception, a database outage): nothing was stored, so the key was
not used up and the client may retry with it. A reservation whose request died without
either (a killed worker) is taken over after :data:`IDEMPOTENCY_LEASE`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from qleads.adapters.sql import WRITE_OPTION
from qleads.errors import StorageError

from ..models import PortalBase

__all__ = [
    "IDEMPOTENCY_LEASE",
    "IDEMPOTENCY_TTL",
    "KEY_MAX_LENGTH",
    "KEY_PATTERN",
    "Answer",
    "KeyInUse",
    "Reserved",
    "complete",
    "idempotency_records",
    "release",
    "reserve",
]

#: The longest ``Idempotency-Key`` (the column's width).
KEY_MAX_LENGTH = 255
#: What a key may be: 1 to :data:`KEY_MAX_LENGTH` visible ASCII characters. The server
#: checks it and the OpenAPI document states it, both from this one pattern.
KEY_PATTERN = rf"^[\x21-\x7e]{{1,{KEY_MAX_LENGTH}}}$"
#: How long an answer is kept for replays; a key older than this counts as new.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)
#: How long a reservation may wait for its answer before another request may take it
#: over: far longer than a request may run, short enough that a killed worker does not
#: block its client's retries for long.
IDEMPOTENCY_LEASE = dt.timedelta(minutes=2)
#: The status of a reserved row whose answer is not known yet.
_PENDING = 0

#: The first answer per (source, Idempotency-Key), replayed for retries.
idempotency_records = sa.Table(
    "portal_api_idempotency",
    PortalBase.metadata,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("idempotency_key", sa.String(KEY_MAX_LENGTH), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


@attrs.frozen
class Answer:
    """A stored answer to a key: what the first request with it got."""

    status: int
    body: str
    location: str | None
    request_hash: str


@attrs.frozen
class Reserved:
    """This request holds the key (reserved at ``at``): it may take the lead in."""

    source_id: str
    key: str
    at: dt.datetime


@attrs.frozen
class KeyInUse:
    """Another request holds the key and has no answer yet."""


def _aware(instant: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


def _key(source_id: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        idempotency_records.c.source_id == source_id,
        idempotency_records.c.idempotency_key == key,
    )


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (on SQLite one that queues for the write lock up front);
    driver failures other than the key's own uniqueness become StorageError (503)."""
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            yield conn
    except sa.exc.IntegrityError:
        raise
    except sa.exc.DBAPIError as exc:
        raise StorageError(f"idempotency record: {type(exc.orig).__name__}") from exc


def _row(engine: Engine, source_id: str, key: str) -> Any:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(idempotency_records).where(_key(source_id, key))).first()
    except sa.exc.DBAPIError as exc:
        raise StorageError(f"idempotency record: {type(exc.orig).__name__}") from exc


def reserve(
    engine: Engine, source_id: str, key: str, request_hash: str, now: dt.datetime
) -> Reserved | KeyInUse | Answer:
    """Take ``key`` for this request, or say who has it.

    :class:`Reserved`: go ahead, and :func:`complete` or :func:`release` it afterwards.
    :class:`KeyInUse`: a concurrent request holds it. :class:`Answer`: the key was
    answered before (the caller compares ``request_hash``). Answers older than
    :data:`IDEMPOTENCY_TTL` are forgotten on the way, so the table stays small.
    """
    row = {
        "source_id": source_id,
        "idempotency_key": key,
        "request_hash": request_hash,
        "status": _PENDING,
        "body": "",
        "location": None,
        "created_at": now,
    }
    for _ in range(3):  # a row that vanishes between the insert and the read: try again
        try:
            with _writing(engine) as conn:
                conn.execute(
                    idempotency_records.delete().where(
                        idempotency_records.c.created_at < now - IDEMPOTENCY_TTL
                    )
                )
                conn.execute(idempotency_records.insert().values(**row))
            return Reserved(source_id, key, now)
        except sa.exc.IntegrityError:
            existing = _row(engine, source_id, key)
        if existing is None:
            continue
        if existing.status != _PENDING:
            return Answer(existing.status, existing.body, existing.location, existing.request_hash)
        if _aware(existing.created_at) >= now - IDEMPOTENCY_LEASE:
            return KeyInUse()
        # The holder died without an answer: take its reservation over (once, whoever
        # deletes it; the insert above then decides among the takers).
        with _writing(engine) as conn:
            conn.execute(
                idempotency_records.delete().where(
                    _key(source_id, key),
                    idempotency_records.c.status == _PENDING,
                    idempotency_records.c.created_at == existing.created_at,
                )
            )
    return KeyInUse()


def _held(reserved: Reserved) -> sa.ColumnElement[bool]:
    """The reservation itself, not one that took it over after the lease."""
    return sa.and_(
        _key(reserved.source_id, reserved.key),
        idempotency_records.c.status == _PENDING,
        idempotency_records.c.created_at == reserved.at,
    )


def complete(
    engine: Engine, reserved: Reserved, status: int, body: str, location: str | None
) -> None:
    """Store the answer of the request that holds the key, for its retries."""
    with _writing(engine) as conn:
        conn.execute(
            idempotency_records.update()
            .where(_held(reserved))
            .values(status=status, body=body, location=location)
        )


def release(engine: Engine, reserved: Reserved) -> None:
    """Give the key back: its request stored nothing, so a retry may use it."""
    with _writing(engine) as conn:
        conn.execute(idempotency_records.delete().where(_held(reserved)))
