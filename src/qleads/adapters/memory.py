"""In-memory adapters: real implementations of the ports, for tests and for embedding.

The repository is serialisable in the strictest sense: a unit of work holds the store's
lock from ``__enter__`` to ``__exit__``, buffers its writes and applies them only on
commit. Its writes are conditional exactly like the SQL adapter's, and it raises the same
errors (``StaleUpdate``, ``IntakeConflict``, ``LeadNotFound``), so code tested against it
behaves the same on a database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from types import TracebackType
from typing import Self, TypeVar

import attrs

from qleads.adapters.memory_access_log import InMemoryAccessLog
from qleads.documents import document_fingerprint
from qleads.errors import IntakeConflict, InvalidInput, LeadNotFound, StaleUpdate
from qleads.lifecycle import Status
from qleads.limits import ClaimPause, ClaimStanding
from qleads.model import (
    Admin,
    EventKind,
    HistoryEvent,
    Installer,
    Lead,
    LeadSource,
    Notification,
    ReleaseReason,
    SalesRep,
    Territory,
)
from qleads.personal_data import (
    AccessRecord,
    ErasureRecord,
    ErasureRequest,
    RetentionCutoffs,
    retention_due,
)
from qleads.personal_data_ports import MailRecord
from qleads.ports import Page
from qleads.rep_queue import check_installer_id
from qleads.scorecard import COUNTED_KINDS, EventCount, Holding
from qleads.tabs import LeadQuery, Scope, Tab, matches, queries_for, query_for, sort_key

__all__ = [
    "InMemoryDirectory",
    "InMemoryLeadRepository",
    "InMemoryPersonalData",
    "InMemoryUnitOfWork",
]


class InMemoryLeadRepository:
    """Leads, history and outbox in dictionaries behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._leads: dict[int, Lead] = {}
        self._by_source: dict[str, int] = {}
        self._events: dict[int, list[HistoryEvent]] = {}
        self._outbox: dict[str, Notification] = {}
        self._pauses: dict[str, ClaimPause] = {}
        self._territory_policies: dict[str, dict[str, object]] = {}
        #: Match key → {lead id: arrival} (``qleads.duplicates``).
        self._match_keys: dict[str, dict[int, dt.datetime]] = {}
        self._duplicates: dict[int, int] = {}
        #: R14: the access log and the storage side of export, erasure and retention.
        self.access_log = InMemoryAccessLog()
        self.personal_data = InMemoryPersonalData(self)

    def unit_of_work(self, *, writing: bool = False) -> InMemoryUnitOfWork:
        """``writing`` changes nothing here: every unit works on a private copy."""
        return InMemoryUnitOfWork(self)

    def notifications(self) -> list[Notification]:
        """Every committed outbox record, oldest first (what a dispatcher delivers)."""
        with self._lock:
            return list(self._outbox.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._leads)


#: What an erasure also clears beyond the repository (R14): each hook gets the request
#: while the repository's lock is held (the memory outbox registers one).
ErasureHook = Callable[[ErasureRequest], None]


class InMemoryPersonalData:
    """Implements :class:`~qleads.personal_data_ports.PersonalDataStore` over an
    :class:`InMemoryLeadRepository`, behind its lock. What an erasure clears is
    :meth:`erase`'s list; ``hooks`` add what other in-memory stores hold."""

    def __init__(self, store: InMemoryLeadRepository) -> None:
        self._store = store
        self._erasures: dict[int, ErasureRecord] = {}
        self.hooks: list[ErasureHook] = []

    def leads_with_email(self, email: str) -> list[Lead]:
        wanted = email.strip().lower()
        with self._store._lock:
            found = [
                lead
                for lead in self._store._leads.values()
                if wanted and lead.document.contact.email.lower() == wanted
            ]
        return sorted(found, key=lambda lead: lead.id)

    def mails(self, lead_ids: Sequence[int]) -> list[MailRecord]:
        wanted = set(lead_ids)
        return [
            MailRecord(n.lead_id, n.kind, n.recipient_id, n.created_at)
            for n in self._store.notifications()
            if n.lead_id in wanted
        ]

    def erasures(self, lead_ids: Sequence[int]) -> list[ErasureRecord]:
        with self._store._lock:
            return [self._erasures[i] for i in sorted(set(lead_ids)) if i in self._erasures]

    def retention_due(
        self, closed_before: dt.datetime, unclaimed_before: dt.datetime, limit: int
    ) -> list[Lead]:
        cutoffs = RetentionCutoffs(closed_before, unclaimed_before, closed_before)
        with self._store._lock:
            due = [
                lead
                for lead in self._store._leads.values()
                if lead.id not in self._erasures and retention_due(lead, cutoffs)
            ]
        return sorted(due, key=lambda lead: lead.id)[:limit]

    def erase(self, request: ErasureRequest) -> None:
        """Everything the repository keeps of the person (R14), in one step under the
        lock: the document (and the intake fingerprint derived from it), the history
        notes, then the hooks; a lead erased already is skipped."""
        store = self._store
        with store._lock:
            todo = [lead for lead in request.anonymised if lead.id not in self._erasures]
            ids = {lead.id for lead in todo}
            for erased in todo:
                current = store._leads.get(erased.id)
                if current is None:
                    raise LeadNotFound(erased.id)
                store._leads[erased.id] = attrs.evolve(current, document=erased.document)
                store._events[erased.id] = [
                    attrs.evolve(event, note="") for event in store._events.get(erased.id, [])
                ]
                # The match keys of duplicate detection derive from his data (R14).
                for owners in store._match_keys.values():
                    owners.pop(erased.id, None)
            for hook in self.hooks:
                hook(request)
            for record in request.records:
                if record.lead_id in ids:
                    self._erasures[record.lead_id] = record

    def fingerprint(self, lead_id: int) -> str:
        """The intake fingerprint of a lead's stored document (R1), as the SQL adapter
        keeps it: after an erasure, that of the anonymised document."""
        with self._store._lock:
            return document_fingerprint(self._store._leads[lead_id].document)


class InMemoryUnitOfWork:
    """One transaction over an :class:`InMemoryLeadRepository`; rolls back unless
    committed."""

    def __init__(self, store: InMemoryLeadRepository) -> None:
        self._store = store
        self._open = False
        self._reset()

    def _reset(self) -> None:
        self._leads: dict[int, Lead] = {}
        self._events: list[HistoryEvent] = []
        self._outbox: dict[str, Notification] = {}
        self._pauses: dict[str, ClaimPause] = {}
        self._policies: dict[str, dict[str, object] | None] = {}
        self._match_keys: dict[str, dict[int, dt.datetime]] = {}
        self._cleared: set[int] = set()
        self._links: dict[int, int | None] = {}
        self._access: list[AccessRecord] = []

    def __enter__(self) -> Self:
        self._store._lock.acquire()
        self._open = True
        self._reset()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._open = False
            self._store._lock.release()

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError("use the unit of work inside a 'with' block")

    def commit(self) -> None:
        self._require_open()
        store = self._store
        for lead in self._leads.values():
            store._leads[lead.id] = lead
            store._by_source.setdefault(lead.source_id, lead.id)
        for event in self._events:
            store._events.setdefault(event.lead_id, []).append(event)
        for key, notification in self._outbox.items():
            store._outbox.setdefault(key, notification)
        store._pauses.update(self._pauses)
        for territory_id, settings in self._policies.items():
            if settings is None:
                store._territory_policies.pop(territory_id, None)
            else:
                store._territory_policies[territory_id] = settings
        for lead_id in self._cleared:
            for owners in store._match_keys.values():
                owners.pop(lead_id, None)
        for key, owners in self._match_keys.items():
            store._match_keys.setdefault(key, {}).update(owners)
        for lead_id, original in self._links.items():
            if original is None:
                store._duplicates.pop(lead_id, None)
            else:
                store._duplicates[lead_id] = original
        if self._access:
            store.access_log.append(self._access)
        self._reset()

    def record_access(self, records: Sequence[AccessRecord]) -> None:
        self._require_open()
        self._access.extend(records)

    def append_access(self, records: Sequence[AccessRecord]) -> None:
        self._require_open()
        self._store.access_log.append(records)

    def rollback(self) -> None:
        self._reset()

    # --- reads see committed state plus this unit's own writes --------------------------

    def _lead(self, lead_id: int) -> Lead | None:
        return self._leads.get(lead_id) or self._store._leads.get(lead_id)

    def _all(self) -> Iterable[Lead]:
        merged = dict(self._store._leads)
        merged.update(self._leads)
        return merged.values()

    def add(self, draft: Lead) -> Lead:
        self._require_open()
        known = self.get_by_source(draft.source_id)
        if known is not None:
            raise IntakeConflict(draft.source_id, known.id)
        lead = attrs.evolve(draft, id=next(self._store._ids))
        self._leads[lead.id] = lead
        return lead

    def get(self, lead_id: int) -> Lead:
        self._require_open()
        lead = self._lead(lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        return lead

    def get_by_source(self, source_id: str) -> Lead | None:
        self._require_open()
        lead_id = self._store._by_source.get(source_id)
        if lead_id is not None:
            return self._lead(lead_id)
        for lead in self._leads.values():
            if lead.source_id == source_id:
                return lead
        return None

    def update(self, lead: Lead, *, expected_version: int) -> None:
        self._require_open()
        current = self._lead(lead.id)
        if current is None:
            raise LeadNotFound(lead.id)
        if current.version != expected_version or lead.version != expected_version + 1:
            raise StaleUpdate(lead.id, expected_version)
        self._leads[lead.id] = lead

    def append(self, events: Sequence[HistoryEvent]) -> None:
        self._require_open()
        self._events.extend(events)

    def history(self, lead_id: int) -> list[HistoryEvent]:
        self._require_open()
        stored = self._store._events.get(lead_id, [])
        return [*stored, *(e for e in self._events if e.lead_id == lead_id)]

    def enqueue(self, notifications: Sequence[Notification]) -> None:
        self._require_open()
        for notification in notifications:
            if notification.key not in self._store._outbox:
                self._outbox.setdefault(notification.key, notification)

    def find(self, query: LeadQuery) -> Page:
        self._require_open()
        selected = sorted(
            (lead for lead in self._all() if matches(query, lead)),
            key=lambda lead: sort_key(query.order, lead),
        )
        window = selected[query.offset : query.offset + query.limit]
        return Page(leads=tuple(lead.summary() for lead in window), total=len(selected))

    def find_counted(
        self, query: LeadQuery, counted: Sequence[LeadQuery]
    ) -> tuple[Page, list[int]]:
        return self.find(query), self.counts(counted)

    def find_tab(
        self, scope: Scope, tab: Tab, tabs: Sequence[Tab], *, offset: int, limit: int
    ) -> tuple[Page, list[int]]:
        return self.find_counted(
            query_for(scope, tab, offset=offset, limit=limit), queries_for(scope, tuple(tabs))
        )

    def counts(self, queries: Sequence[LeadQuery]) -> list[int]:
        self._require_open()
        leads = list(self._all())
        return [sum(1 for lead in leads if matches(q, lead)) for q in queries]

    def due(self, now: dt.datetime, limit: int) -> list[Lead]:
        self._require_open()
        due = [
            lead for lead in self._all() if lead.deadline is not None and lead.deadline.at <= now
        ]
        due.sort(key=lambda lead: (lead.deadline.at if lead.deadline else now, lead.id))
        return due[:limit]

    # --- claim limits and per-territory policy ------------------------------------------

    def _all_events(self) -> Iterable[HistoryEvent]:
        for events in self._store._events.values():
            yield from events
        yield from self._events

    def claim_standing(
        self, installer_id: str, *, claims_since: dt.datetime, expiries_since: dt.datetime
    ) -> ClaimStanding:
        self._require_open()
        holds = [
            lead.hold_until
            for lead in self._all()
            if lead.holder_id == installer_id and lead.status is Status.CLAIMED
        ]
        claims = expiries = 0
        for event in self._all_events():
            if event.holder_id != installer_id:
                continue
            if event.kind is EventKind.CLAIMED and event.recorded_at >= claims_since:
                claims += 1
            elif event.kind is EventKind.EXPIRED and event.recorded_at > expiries_since:
                expiries += 1
        known = [hold for hold in holds if hold is not None]
        return ClaimStanding(
            open_claims=len(holds),
            earliest_hold=min(known) if known else None,
            claims_today=claims,
            expiries=expiries,
        )

    def claim_pause(self, installer_id: str) -> ClaimPause | None:
        self._require_open()
        return self._pauses.get(installer_id) or self._store._pauses.get(installer_id)

    def save_claim_pause(self, pause: ClaimPause) -> None:
        self._require_open()
        self._pauses[pause.installer_id] = pause

    def territory_policies(self) -> dict[str, dict[str, object]]:
        self._require_open()
        merged = {key: dict(value) for key, value in self._store._territory_policies.items()}
        for territory_id, settings in self._policies.items():
            if settings is None:
                merged.pop(territory_id, None)
            else:
                merged[territory_id] = dict(settings)
        return merged

    def save_territory_policy(self, territory_id: str, settings: dict[str, object] | None) -> None:
        self._require_open()
        self._policies[territory_id] = None if settings is None else dict(settings)

    # --- the partner scorecard ------------------------------------------------------------

    def scorecard_counts(
        self, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[EventCount]:
        self._require_open()
        wanted = set(installer_ids)
        groups: dict[tuple[str, EventKind, Status, ReleaseReason | None], int] = {}
        for event in self._all_events():
            if (
                event.holder_id in wanted
                and event.kind in COUNTED_KINDS
                and start <= event.recorded_at < end
            ):
                key = (event.holder_id, event.kind, event.to_status, event.reason)
                groups[key] = groups.get(key, 0) + 1
        return [
            EventCount(installer_id, kind, status, reason, n)
            for (installer_id, kind, status, reason), n in groups.items()
        ]

    def holdings(
        self, installer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> list[Holding]:
        self._require_open()
        wanted = set(installer_ids)
        taking = (EventKind.CLAIMED, EventKind.ASSIGNED, EventKind.REASSIGNED)
        records: dict[int, list[HistoryEvent]] = {}
        started: list[HistoryEvent] = []
        for event in self._all_events():
            if event.kind is EventKind.RECORDED and event.holder_id in wanted:
                records.setdefault(event.lead_id, []).append(event)
            elif (
                event.kind in taking
                and event.holder_id in wanted
                and start <= event.recorded_at < end
            ):
                started.append(event)
        found: list[Holding] = []
        for event in started:
            later = [
                e.effective_at
                for e in records.get(event.lead_id, ())
                if e.version > event.version and e.holder_id == event.holder_id
            ]
            assert event.holder_id is not None
            found.append(
                Holding(
                    event.holder_id,
                    event.lead_id,
                    event.kind,
                    event.recorded_at,
                    min(later) if later else None,
                )
            )
        return found

    def received_count(
        self, territory_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> int:
        self._require_open()
        wanted = set(territory_ids)
        return sum(
            1
            for lead in self._all()
            if lead.territory_id in wanted and start <= lead.received_at < end
        )

    # --- duplicates and decline reasons -------------------------------------------------

    def add_match_keys(self, lead_id: int, keys: Sequence[str], received_at: dt.datetime) -> None:
        self._require_open()
        if self._lead(lead_id) is None:
            raise LeadNotFound(lead_id)
        for key in keys:
            self._match_keys.setdefault(key, {})[lead_id] = received_at

    def matching(self, keys: Sequence[str], since: dt.datetime) -> list[int]:
        self._require_open()
        found: set[int] = set()
        for key in keys:
            for store in (self._store._match_keys, self._match_keys):
                for lead_id, received in store.get(key, {}).items():
                    if received >= since and lead_id not in self._cleared:
                        found.add(lead_id)
        return sorted(found)

    def clear_match_keys(self, lead_id: int) -> None:
        self._require_open()
        self._cleared.add(lead_id)
        for owners in self._match_keys.values():
            owners.pop(lead_id, None)

    def link_duplicate(self, lead_id: int, original_id: int) -> None:
        self._require_open()
        for wanted in (lead_id, original_id):
            if self._lead(wanted) is None:
                raise LeadNotFound(wanted)
        self._links[lead_id] = original_id

    def unlink_duplicate(self, lead_id: int) -> None:
        self._require_open()
        self._links[lead_id] = None

    def duplicate_of(self, lead_id: int) -> int | None:
        self._require_open()
        if lead_id in self._links:
            return self._links[lead_id]
        return self._store._duplicates.get(lead_id)

    def duplicates_of(self, original_id: int) -> list[int]:
        self._require_open()
        links = {**self._store._duplicates, **self._links}
        return sorted(lead_id for lead_id, original in links.items() if original == original_id)

    def release_reason_counts(
        self, territory_ids: frozenset[str] | None, since: dt.datetime | None
    ) -> dict[ReleaseReason | None, int]:
        self._require_open()
        reasons: dict[ReleaseReason | None, int] = {}
        for lead in self._all():
            if territory_ids is not None and lead.territory_id not in territory_ids:
                continue
            for event in self.history(lead.id):
                if (
                    event.kind is EventKind.RELEASED
                    and event.holder_id is not None
                    and (since is None or event.recorded_at >= since)
                ):
                    reasons[event.reason] = reasons.get(event.reason, 0) + 1
        return reasons


class InMemoryDirectory:
    """People and territories in dictionaries; what an embedding portal starts with.

    Its writes check what the SQL directory's tables enforce, with the same errors
    (:class:`~qleads.errors.InvalidInput`): ``add_*`` refuses an id it knows,
    ``update_*`` one it does not, and both a reference to an unknown sales rep. Lists
    come in the order of their ids, as from the database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._installers: dict[str, Installer] = {}
        self._reps: dict[str, SalesRep] = {}
        self._admins: dict[str, Admin] = {}
        self._sources: dict[str, LeadSource] = {}
        self._territories: dict[str, Territory] = {}

    # --- writes (lock held while checking and storing) ----------------------------------

    @staticmethod
    def _add(records: dict[str, _Record], record: _Record, what: str) -> _Record:
        if record.id in records:
            raise InvalidInput("id", f"{what} {record.id!r} exists already")
        records[record.id] = record
        return record

    @staticmethod
    def _update(records: dict[str, _Record], record: _Record, what: str) -> _Record:
        if record.id not in records:
            raise InvalidInput("id", f"no {what} {record.id!r}")
        records[record.id] = record
        return record

    def _known_rep(self, rep_id: str, what: str, ident: str) -> None:
        if rep_id not in self._reps:
            raise InvalidInput("rep_id", f"{what} {ident!r} names an unknown sales rep")

    def add_installer(self, installer: Installer) -> Installer:
        check_installer_id(installer.id)
        with self._lock:
            if installer.id not in self._installers:
                self._known_rep(installer.rep_id, "installer", installer.id)
            return self._add(self._installers, installer, "installer")

    def update_installer(self, installer: Installer) -> Installer:
        """Replace an installer's record (deactivate with ``active=False``: leads keep
        their holder ids, so installers are never deleted)."""
        with self._lock:
            if installer.id in self._installers:
                self._known_rep(installer.rep_id, "installer", installer.id)
            return self._update(self._installers, installer, "installer")

    def add_rep(self, rep: SalesRep) -> SalesRep:
        with self._lock:
            return self._add(self._reps, rep, "sales rep")

    def update_rep(self, rep: SalesRep) -> SalesRep:
        with self._lock:
            return self._update(self._reps, rep, "sales rep")

    def add_admin(self, admin: Admin) -> Admin:
        with self._lock:
            return self._add(self._admins, admin, "admin")

    def update_admin(self, admin: Admin) -> Admin:
        with self._lock:
            return self._update(self._admins, admin, "admin")

    def add_source(self, source: LeadSource) -> LeadSource:
        with self._lock:
            return self._add(self._sources, source, "lead source")

    def update_source(self, source: LeadSource) -> LeadSource:
        with self._lock:
            return self._update(self._sources, source, "lead source")

    def add_territory(self, territory: Territory) -> Territory:
        if not territory.id:
            # The SQL adapter's counters file unrouted leads (R1) under the empty id.
            raise InvalidInput("id", "a territory needs a non-empty id")
        with self._lock:
            if territory.id not in self._territories:
                self._known_rep(territory.rep_id, "territory", territory.id)
            return self._add(self._territories, territory, "territory")

    def update_territory(self, territory: Territory) -> Territory:
        """Replace a territory, prefixes included (new leads route by them, R1)."""
        with self._lock:
            if territory.id in self._territories:
                self._known_rep(territory.rep_id, "territory", territory.id)
            return self._update(self._territories, territory, "territory")

    # --- reads (the port) ---------------------------------------------------------------

    def installer(self, installer_id: str) -> Installer | None:
        return self._installers.get(installer_id)

    def rep(self, rep_id: str) -> SalesRep | None:
        return self._reps.get(rep_id)

    def admin(self, admin_id: str) -> Admin | None:
        return self._admins.get(admin_id)

    def source(self, source_id: str) -> LeadSource | None:
        return self._sources.get(source_id)

    def installers_of(self, rep_id: str) -> Sequence[Installer]:
        with self._lock:
            return _sorted(i for i in self._installers.values() if i.rep_id == rep_id)

    def installers_among(self, installer_ids: Collection[str]) -> dict[str, Installer]:
        with self._lock:
            return {i: self._installers[i] for i in installer_ids if i in self._installers}

    def teams_of(self, rep_ids: Collection[str]) -> dict[str, Sequence[Installer]]:
        with self._lock:
            members = _sorted(i for i in self._installers.values() if i.rep_id in rep_ids)
        return {rep_id: [i for i in members if i.rep_id == rep_id] for rep_id in rep_ids}

    def territory(self, territory_id: str) -> Territory | None:
        return self._territories.get(territory_id)

    def territories(self) -> Sequence[Territory]:
        with self._lock:
            return _sorted(self._territories.values())

    def territory_ids_of(self, rep_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(t.id for t in self._territories.values() if t.rep_id == rep_id)

    # --- more reads for a portal ---------------------------------------------------------

    def installers(self) -> list[Installer]:
        with self._lock:
            return _sorted(self._installers.values())

    def reps(self) -> list[SalesRep]:
        with self._lock:
            return _sorted(self._reps.values())

    def admins(self) -> list[Admin]:
        with self._lock:
            return _sorted(self._admins.values())

    def sources(self) -> list[LeadSource]:
        with self._lock:
            return _sorted(self._sources.values())


_Record = TypeVar("_Record", Installer, SalesRep, Admin, LeadSource, Territory)


def _sorted(records: Iterable[_Record]) -> list[_Record]:
    return sorted(records, key=lambda record: record.id)
