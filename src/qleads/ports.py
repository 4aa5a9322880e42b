"""The ports qleads needs from the world: storage, the people, the time.

Each is a ``typing.Protocol``; a portal plugs in its own implementations. The contract
suite in ``qleads.testing.contract`` states what a storage adapter must do, and every
adapter shipped here runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import attrs

from qleads.limits import ClaimPause, ClaimStanding
from qleads.model import (
    Admin,
    HistoryEvent,
    Installer,
    Lead,
    LeadSource,
    LeadSummary,
    Notification,
    ReleaseReason,
    SalesRep,
    Territory,
)
from qleads.scorecard import EventCount, Holding
from qleads.tabs import LeadQuery, Scope, Tab

__all__ = [
    "Clock",
    "Directory",
    "DirectoryBatchReads",
    "FindsCounted",
    "FindsTab",
    "LeadRepository",
    "Page",
    "UnitOfWork",
]


class Clock(Protocol):
    """Where "now" comes from; the domain never asks the system directly."""

    def now(self) -> dt.datetime:
        """An aware UTC datetime."""
        ...


@attrs.frozen
class Page:
    """One page of a query: its rows in order and the total across all pages.

    Rows are :class:`~qleads.model.LeadSummary` values: a page is what a list shows, so
    an adapter need not read or rebuild any document for it."""

    leads: tuple[LeadSummary, ...]
    total: int


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``with`` block without :meth:`commit` rolls back,
    so an exception anywhere stores nothing — lead, history and outbox alike (R10).

    Writes are conditional: :meth:`update` changes a lead only if its stored version is
    still ``expected_version`` and raises :class:`~qleads.errors.StaleUpdate` otherwise.
    That single rule is what makes claims (R3) and sweeps (R11) safe under concurrency.
    """

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def add(self, draft: Lead) -> Lead:
        """Store a new lead; the returned copy carries its assigned ``id`` (the ``id``
        of the draft is ignored). A known ``source_id`` raises
        :class:`~qleads.errors.IntakeConflict`."""
        ...

    def get(self, lead_id: int) -> Lead:
        """Raises :class:`~qleads.errors.LeadNotFound`."""
        ...

    def get_by_source(self, source_id: str) -> Lead | None: ...

    def update(self, lead: Lead, *, expected_version: int) -> None:
        """Replace the stored lead if its version is ``expected_version``; the new
        lead's version must be ``expected_version + 1``. Otherwise
        :class:`~qleads.errors.StaleUpdate` is raised, here or, where a backend holds the
        update back (PostgreSQL, for a lead the unit read), by the unit's next statement
        or its commit; either way nothing of the unit is stored."""
        ...

    def append(self, events: Sequence[HistoryEvent]) -> None:
        """Add history events. A backend may hold the write back until the unit reads
        the history or commits (PostgreSQL sends it with the ``COMMIT``); a refusal
        (:class:`~qleads.errors.StaleUpdate` for a version that has its event,
        :class:`~qleads.errors.LeadNotFound`) is then raised there."""
        ...

    def history(self, lead_id: int) -> list[HistoryEvent]:
        """Oldest first."""
        ...

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        """Write outbox records; a record whose ``key`` exists already is ignored. Like
        :meth:`append`, the write may be held back until the commit."""
        ...

    def find(self, query: LeadQuery) -> Page:
        """One page of ``query``, as summaries (R8), with the total."""
        ...

    def counts(self, queries: Sequence[LeadQuery]) -> list[int]:
        """The total of each query (offset and limit ignored), in one round trip
        where the backend allows."""
        ...

    def due(self, now: dt.datetime, limit: int) -> list[Lead]:
        """Up to ``limit`` leads whose ``deadline.at <= now``, earliest first. A backend
        with row locks locks them and skips rows another transaction holds, so that
        parallel sweeps share the work instead of queueing (R11)."""
        ...

    # --- claim limits and per-territory policy (qleads.limits, qleads.policies) --------

    def claim_standing(
        self, installer_id: str, *, claims_since: dt.datetime, expiries_since: dt.datetime
    ) -> ClaimStanding:
        """His open claims (leads ``claimed`` by him) and the first of their holds to run
        out, his claims recorded at or after ``claims_since`` and his expired claims
        recorded after ``expiries_since``, this unit's own writes included; ``pause`` is
        left ``None`` (:meth:`claim_pause`). A backend whose transactions run side by
        side serialises one installer's units here until they end (PostgreSQL: an
        advisory lock), so that a limit checked is a limit kept."""
        ...

    def claim_pause(self, installer_id: str) -> ClaimPause | None:
        """His latest pause, lifted or not."""
        ...

    def save_claim_pause(self, pause: ClaimPause) -> None:
        """Store ``pause`` as his latest, replacing the one before."""
        ...

    def territory_policies(self) -> dict[str, dict[str, object]]:
        """Every territory's policy override: the settings it sets, as stored (JSON
        values, :func:`qleads.policies.decode`)."""
        ...

    def save_territory_policy(self, territory_id: str, settings: dict[str, object] | None) -> None:
        """Store a territory's override (JSON values), or remove it with ``None``."""
        ...

    # --- the partner scorecard (qleads.scorecard) ---------------------------------------

    def scorecard_counts(
        self, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[EventCount]:
        """The events of the kinds :data:`qleads.scorecard.COUNTED_KINDS` held by each
        of ``installer_ids`` and recorded in ``[start, end)``, counted by installer,
        kind, status reached and release reason."""
        ...

    def holdings(
        self, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[Holding]:
        """Each claim, assignment and reassignment to one of ``installer_ids`` recorded in
        ``[start, end)``, with the earliest effective date of a later record by him on
        that lead (``None`` if none)."""
        ...

    def received_count(
        self, territory_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> int:
        """How many leads of ``territory_ids`` were received in ``[start, end)``."""
        ...

    # --- duplicates and decline reasons (qleads.duplicates, qleads.decline) ------------

    def add_match_keys(self, lead_id: int, keys: Sequence[str], received_at: dt.datetime) -> None:
        """Store the match keys of a lead (digests, ``qleads.duplicates.match_keys``)."""
        ...

    def matching(self, keys: Sequence[str], since: dt.datetime) -> list[int]:
        """The ids of the leads with any of ``keys`` received at or after ``since``,
        ascending; an index lookup per key, never a scan of the leads."""
        ...

    def clear_match_keys(self, lead_id: int) -> None:
        """Forget a lead's match keys (they derive from personal data, R14)."""
        ...

    def link_duplicate(self, lead_id: int, original_id: int) -> None:
        """Record ``lead_id`` as a duplicate of ``original_id`` (replacing a link)."""
        ...

    def unlink_duplicate(self, lead_id: int) -> None:
        """Remove the duplicate link of ``lead_id``, if it has one."""
        ...

    def duplicate_of(self, lead_id: int) -> int | None:
        """The original ``lead_id`` is linked to as a duplicate, if any."""
        ...

    def duplicates_of(self, original_id: int) -> list[int]:
        """The leads linked to ``original_id`` as its duplicates, ascending."""
        ...

    def release_reason_counts(
        self, territory_ids: frozenset[str] | None, since: dt.datetime | None
    ) -> dict[ReleaseReason | None, int]:
        """How often each reason was given in releases by installers of the leads in
        ``territory_ids`` (``None``: every lead) recorded at or after ``since``
        (``None``: ever); a release without a reason counts under ``None``."""
        ...


class LeadRepository(Protocol):
    """The storage of leads, their history and the notification outbox."""

    def unit_of_work(self, *, writing: bool = False) -> UnitOfWork:
        """A new unit of work. ``writing=True`` says it will write: a backend with one
        writer at a time (SQLite) then takes the write lock before the first read, so
        that the read and the write are one transaction instead of two."""
        ...


class Directory(Protocol):
    """The people and territories. A portal plugs in its own user store here."""

    def installer(self, installer_id: str) -> Installer | None: ...

    def rep(self, rep_id: str) -> SalesRep | None: ...

    def admin(self, admin_id: str) -> Admin | None: ...

    def source(self, source_id: str) -> LeadSource | None: ...

    def installers_of(self, rep_id: str) -> Sequence[Installer]: ...

    def territory(self, territory_id: str) -> Territory | None: ...

    def territories(self) -> Sequence[Territory]: ...

    def territory_ids_of(self, rep_id: str) -> frozenset[str]:
        """The ids of the territories ``rep_id`` owns: asked on every use case to work
        out what an installer or rep may see (R2), so keep it cheap (an indexed lookup)."""
        ...


@runtime_checkable
class FindsCounted(Protocol):
    """Optional beside :class:`UnitOfWork`: a page and the tab bar's totals read
    together. A tab page (R8) always shows every tab's count; a unit that offers this
    reads both in one statement instead of two, and one without it is asked
    :meth:`UnitOfWork.find` and :meth:`UnitOfWork.counts`."""

    def find_counted(
        self, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]:
        """``(find(query), counts(counted))``, as one read where the backend allows."""
        ...


@runtime_checkable
class FindsTab(Protocol):
    """Optional beside :class:`UnitOfWork`: a tab page and its tab bar asked by the
    scope and the tabs rather than by their queries. The queries of two people differ
    only in their territory and holder ids; a unit that offers this may prepare its
    reads once per shape of scope (an installer of a rep with two territories …), where
    it would otherwise prepare them for each person's first page."""

    def find_tab(
        self, scope: Scope, tab: Tab, tabs: Sequence[Tab], *, offset: int, limit: int
    ) -> tuple[Page, list[int]]:
        """``find_counted(query_for(scope, tab, offset=offset, limit=limit),
        [query_for(scope, t) for t in tabs])``, exactly."""
        ...


@runtime_checkable
class DirectoryBatchReads(Protocol):
    """Optional beside :class:`Directory`: people read many at a time. A sweep batch
    (R11) names hundreds of holders and the teams of dozens of territories; a directory
    that offers these answers them in one query each instead of one per person, and one
    without them is read person by person."""

    def installers_among(self, installer_ids: Collection[str]) -> Mapping[str, Installer]:
        """The installers of ``installer_ids`` that exist, by id."""
        ...

    def teams_of(self, rep_ids: Collection[str]) -> Mapping[str, Sequence[Installer]]:
        """Every rep of ``rep_ids`` with his installers, ordered by id as
        :meth:`Directory.installers_of` orders them (a rep without any: empty)."""
        ...
