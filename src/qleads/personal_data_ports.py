"""The ports of R14: the append-only access log and the storage side of export,
erasure and retention.

A repository that keeps personal data for :class:`~qleads.desk.LeadDesk` offers both
(:class:`KeepsPersonalData`); the memory and SQL adapters do, and the contract suite
``qleads.testing.contract.personal_data`` states what each must do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from qleads.model import Lead, NotificationKind
from qleads.personal_data import AccessQuery, AccessRecord, ErasureRecord, ErasureRequest

__all__ = [
    "AccessLog",
    "AppendsAccessInUnit",
    "KeepsPersonalData",
    "MailRecord",
    "PersonalDataStore",
    "RecordsAccessInUnit",
]


class AccessLog(Protocol):
    """Append-only (R14): records are added and read, never changed; the only removal
    is :meth:`purge`, of records older than the retention period. The SQL tables refuse
    ``UPDATE`` and ``DELETE`` by trigger, so not even a bug can rewrite the log."""

    def append(self, records: Sequence[AccessRecord]) -> None:
        """Store ``records`` in one transaction (their ``id`` is the log's to assign)."""
        ...

    def records(self, query: AccessQuery) -> list[AccessRecord]:
        """The records matching ``query``, newest first, at most ``query.limit``."""
        ...

    def count_before(self, before: dt.datetime) -> int:
        """How many records :meth:`purge` with ``before`` would remove."""
        ...

    def purge(self, before: dt.datetime) -> int:
        """Remove the records written before ``before``; returns how many."""
        ...


@attrs.frozen
class MailRecord:
    """A mail about a lead as an export lists it (Art. 15): to whom, what, when."""

    lead_id: int
    kind: NotificationKind
    recipient_id: str
    created_at: dt.datetime


class PersonalDataStore(Protocol):
    """What export, erasure and retention need from storage (R14)."""

    def leads_with_email(self, email: str) -> list[Lead]:
        """Every lead whose contact e-mail is ``email`` (compared case-insensitively),
        by id."""
        ...

    def mails(self, lead_ids: Sequence[int]) -> list[MailRecord]:
        """The notifications of those leads, oldest first."""
        ...

    def erasures(self, lead_ids: Sequence[int]) -> list[ErasureRecord]:
        """The erasure records of those leads, by lead."""
        ...

    def retention_due(
        self, closed_before: dt.datetime, unclaimed_before: dt.datetime, limit: int
    ) -> list[Lead]:
        """Up to ``limit`` leads not erased yet that
        :func:`~qleads.personal_data.retention_due` takes at these cutoffs, by id."""
        ...

    def erase(self, request: ErasureRequest) -> None:
        """In one transaction: replace each lead's document by its anonymised one,
        empty its history notes, cancel its pending mails and wipe mail contents naming
        the person, run the embedder's erasure hooks and write the records. A lead
        erased already is left as it is (no second record)."""
        ...


@runtime_checkable
class KeepsPersonalData(Protocol):
    """A repository with R14's storage: ``access_log`` and ``personal_data``."""

    @property
    def access_log(self) -> AccessLog: ...

    @property
    def personal_data(self) -> PersonalDataStore: ...


@runtime_checkable
class RecordsAccessInUnit(Protocol):
    """Optional beside :class:`~qleads.ports.UnitOfWork`: a unit that writes access
    records (R14) with its change, committed together. A claim or a status record
    returns the lead it changed; recorded in the change's own transaction, the record
    costs no commit of its own, and no change goes out without its record."""

    def record_access(self, records: Sequence[AccessRecord]) -> None:
        """Append ``records`` to the access log when the unit commits (nothing if it
        rolls back)."""
        ...


@runtime_checkable
class AppendsAccessInUnit(Protocol):
    """Optional beside :class:`~qleads.ports.UnitOfWork`: a unit that has only read
    appends the access records (R14) of what it read on its own connection, as the
    access log's :meth:`AccessLog.append` would. A tab page's records then cost no
    second connection and no transaction of their own: on SQLite one multi-row
    ``INSERT`` that commits itself costs a third less than the same rows in a
    transaction."""

    def append_access(self, records: Sequence[AccessRecord]) -> None:
        """Append ``records`` now, committed on their own whatever the unit does next
        (the unit must hold no change: it ends its reading first)."""
        ...
