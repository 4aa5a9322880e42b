"""A lead's personal data (R14): the access log, the export (Art. 15), the erasure
(Art. 17) and the retention periods (Art. 5(1)(e)).

The rules are :mod:`qleads.personal_data`; the storage is the repository's
:class:`~qleads.personal_data_ports.KeepsPersonalData` side. Every use case elsewhere that
returns a lead ends with :func:`shown_to`, which records the access when the view shows
the contact; ``tab`` records its named rows through :func:`log_access`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import attrs

from qleads.desk.base import DeskBase, current_time, offers, scope_of
from qleads.documents import unstructure_document
from qleads.errors import ConfigurationError, InvalidInput, LeadNotFound, NotPermitted
from qleads.instants import require_utc
from qleads.model import (
    Actor,
    Admin,
    HistoryEvent,
    Installer,
    Lead,
    LeadSummary,
    Policy,
    SalesRep,
)
from qleads.personal_data import (
    RETENTION_REASON,
    AccessKind,
    AccessQuery,
    AccessRecord,
    ErasureRecord,
    ErasureRequest,
    anonymised,
    check_reason,
    client_address,
    person_values,
    retention_cutoffs,
    role_of,
    scrubbed,
    unique_leads,
)
from qleads.personal_data_ports import (
    AppendsAccessInUnit,
    KeepsPersonalData,
    RecordsAccessInUnit,
)
from qleads.ports import LeadRepository, UnitOfWork
from qleads.tabs import Scope
from qleads.visibility import LeadView, contact_hidden, mask, view

__all__ = [
    "RETENTION_ACTOR",
    "ErasureResult",
    "PersonalDataDesk",
    "RetentionReport",
    "Shown",
    "deliver",
    "log_access",
    "one_answer",
    "retain",
    "shown_in",
    "shown_to",
]

#: How many leads one retention batch anonymises (one transaction each).
_RETENTION_BATCH = 200
#: The actor id of erasures by the retention periods.
RETENTION_ACTOR = "system:retention"


@attrs.frozen
class ErasureResult:
    """What an erasure did: the leads it anonymised now, and those that were already
    (running it twice is harmless; an unknown address finds nothing)."""

    erased: tuple[int, ...] = ()
    already_erased: tuple[int, ...] = ()


@attrs.frozen
class RetentionReport:
    """What the retention periods took (or, in a dry run, would take)."""

    anonymised: int = 0
    access_records_purged: int = 0
    dry_run: bool = False


#: Whether a repository class keeps R14's storage: every read of contact data asks, and
#: a runtime protocol check walks the protocol's members each time.
_KEEPS: dict[type, bool] = {}


def _keeper(repository: LeadRepository) -> KeepsPersonalData | None:
    kind = type(repository)
    keeps = _KEEPS.get(kind)
    if keeps is None:
        keeps = _KEEPS[kind] = isinstance(repository, KeepsPersonalData)
    return cast(KeepsPersonalData, repository) if keeps else None


def _require_keeper(repository: LeadRepository) -> KeepsPersonalData:
    keeper = _keeper(repository)
    if keeper is None:
        raise ConfigurationError(
            "the repository keeps no access log and no personal-data store (R14); "
            "use qleads' memory or SQL adapter or implement KeepsPersonalData"
        )
    return keeper


class _Answer:
    """The answer being made (:func:`one_answer`): to whom it goes and what it has
    recorded so far."""

    __slots__ = ("client", "written")

    def __init__(self, client: str) -> None:
        self.client = client
        self.written: set[tuple[object, ...]] = set()


_ANSWER: ContextVar[_Answer | None] = ContextVar("qleads_answer", default=None)


@contextmanager
def one_answer(client: str = "") -> Iterator[None]:
    """Everything done inside is one answer to one person at ``client`` (a portal's
    web request): a lead shown to him more than once in it is recorded once (R14).

    A request that changes a lead reads it first to decide and then gets it back from
    the change (a status record), or reads one lead from several places of one page:
    each such return would otherwise append its own record, alike but for a few
    milliseconds, each in a transaction of its own. Inside the block a record is
    written only when none alike in everything but its time — the same user, role,
    lead, kind of access, territory, holder and client — was written in it before;
    the first is still written before the data goes out, so every return is covered.
    A record made inside without a client address of its own (what a claim or a status
    record returns) gets ``client``. Outside a block every return is recorded by
    itself, as before."""
    token = _ANSWER.set(_Answer(client))
    try:
        yield
    finally:
        _ANSWER.reset(token)


def _record_key(record: AccessRecord) -> tuple[object, ...]:
    return (
        record.user_id,
        record.role,
        record.lead_id,
        record.kind,
        record.territory_id,
        record.holder_id,
        record.client,
    )


def log_access(
    repository: LeadRepository,
    actor: Actor,
    leads: Iterable[Lead | LeadSummary],
    kind: AccessKind,
    at: dt.datetime,
    client: str = "",
    *,
    uow: UnitOfWork | None = None,
) -> None:
    """Append one access record per lead (R14) before the data goes out: if the log
    cannot be written, the read fails rather than go unlogged. A repository without an
    access log (an embedder's own) logs nothing.

    ``uow``: the unit that read ``leads``, still open and without changes of its own.
    Where it can (:class:`~qleads.personal_data_ports.AppendsAccessInUnit`), it appends
    the records on its own connection, so a page and its records take one connection,
    not two. Otherwise they are appended on their own."""
    keeper = _keeper(repository)
    if keeper is None:
        return
    records = _records(actor, leads, kind, at, client)
    if not records:
        return
    if uow is not None and offers(uow, "append_access"):
        cast(AppendsAccessInUnit, uow).append_access(records)
    else:
        keeper.access_log.append(records)
    _written(records)


def _records(
    actor: Actor,
    leads: Iterable[Lead | LeadSummary],
    kind: AccessKind,
    at: dt.datetime,
    client: str,
) -> list[AccessRecord]:
    """The records a return of ``leads`` needs: those the current answer
    (:func:`one_answer`) has not written yet."""
    answer = _ANSWER.get()
    where = client_address(client or (answer.client if answer is not None else ""))
    user, role = actor.id, role_of(actor)
    records = [
        AccessRecord(user, role, lead.id, kind, at, lead.territory_id, lead.holder_id, where)
        for lead in leads
    ]
    if answer is not None:
        records = [r for r in records if _record_key(r) not in answer.written]
    return records


def _written(records: Sequence[AccessRecord]) -> None:
    answer = _ANSWER.get()
    if answer is not None:
        answer.written.update(_record_key(r) for r in records)


@attrs.frozen
class Shown:
    """A change's result on its way to its actor (:func:`shown_in`): the lead, whom it
    goes to, and the access records still to be marked (``held``: written by the unit)
    or written (``later``) once the unit has committed (:func:`deliver`)."""

    lead: Lead
    scope: Scope
    policy: Policy
    held: Sequence[AccessRecord] = ()
    later: Sequence[AccessRecord] = ()
    #: Whether the contact is withheld although the rules would show it (``contact=False``).
    withheld: bool = False


def shown_in(
    desk: DeskBase,
    uow: UnitOfWork | None,
    actor: Actor,
    lead: Lead,
    *,
    access: AccessKind = AccessKind.VIEW,
    client: str = "",
    policy: Policy | None = None,
    scope: Scope | None = None,
    contact: bool = True,
) -> Shown:
    """What :func:`shown_to` does for a use case that changed ``lead`` in ``uow``, called
    before the unit commits: where the unit can hold them
    (:class:`~qleads.personal_data_ports.RecordsAccessInUnit`), the access records
    (R14) are written with the change, one commit for both, and the change cannot be
    stored without them. Only what the records need is worked out here, the view itself
    after the commit (:func:`deliver`): on SQLite the unit holds the write lock.
    ``scope`` is ``actor``'s, if the caller has it already; ``contact=False`` as for
    :func:`shown_to`: the view withholds the contact and nothing is recorded. Without a
    unit (a read, :func:`shown_to`) the records are all written by :func:`deliver`."""
    seen_by = scope if scope is not None else scope_of(desk.directory, actor)
    rules = policy or desk.policy
    if not contact:
        return Shown(lead, seen_by, rules, withheld=True)
    if contact_hidden(seen_by, lead, rules) or _keeper(desk.repository) is None:
        return Shown(lead, seen_by, rules)
    records = _records(actor, [lead], access, current_time(desk.clock), client)
    if records and uow is not None and offers(uow, "record_access"):
        cast(RecordsAccessInUnit, uow).record_access(records)
        return Shown(lead, seen_by, rules, held=records)
    return Shown(lead, seen_by, rules, later=records)


def deliver(desk: DeskBase, shown: Shown) -> LeadView:
    """The view of :func:`shown_in`, once its unit has committed: the records the unit
    could not hold are appended now, before the view goes out."""
    if shown.later:
        _require_keeper(desk.repository).access_log.append(shown.later)
    _written([*shown.held, *shown.later])
    seen = view(shown.scope, shown.lead, shown.policy)
    return _without_contact(seen) if shown.withheld else seen


def _without_contact(seen: LeadView) -> LeadView:
    """``seen`` with its contact withheld, as R16 withholds it."""
    if seen.contact_hidden:
        return seen
    document = attrs.evolve(seen.lead.document, contact=mask(seen.lead.document.contact))
    return attrs.evolve(seen, lead=attrs.evolve(seen.lead, document=document), contact_hidden=True)


def shown_to(
    desk: DeskBase,
    actor: Actor,
    lead: Lead,
    *,
    access: AccessKind = AccessKind.VIEW,
    client: str = "",
    policy: Policy | None = None,
    contact: bool = True,
) -> LeadView:
    """``lead`` as ``actor`` receives it (R2, R16), its access recorded first when the
    view shows the contact (R14): what every use case that returns a lead ends with.
    ``policy`` is the one for the lead's territory (the desk's if not given).

    ``contact=False``: the caller shows no contact (it decides on the lead's state, or
    redirects after a change), so the view withholds it as R16 would, and with no
    personal data going out there is nothing to record."""
    return deliver(
        desk,
        shown_in(
            desk, None, actor, lead, access=access, client=client, policy=policy, contact=contact
        ),
    )


def _event_json(event: HistoryEvent) -> dict[str, Any]:
    return {
        "version": event.version,
        "kind": event.kind.value,
        "actor_id": event.actor_id,
        "from_status": None if event.from_status is None else event.from_status.value,
        "to_status": event.to_status.value,
        "effective_at": event.effective_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "holder_id": event.holder_id,
        "channel": None if event.channel is None else event.channel.value,
        "note": event.note,
        "reason": None if event.reason is None else event.reason.value,
        "due_at": None if event.due_at is None else event.due_at.isoformat(),
    }


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _lead_json(lead: Lead, history: Sequence[HistoryEvent]) -> dict[str, Any]:
    return {
        "id": lead.id,
        "source_id": lead.source_id,
        "received_at": lead.received_at.isoformat(),
        "territory_id": lead.territory_id,
        "status": lead.status.value,
        "status_at": lead.status_at.isoformat(),
        "holder_id": lead.holder_id,
        "hold_until": _instant(lead.hold_until),
        "due_at": _instant(lead.due_at),
        "deadline": None
        if lead.deadline is None
        else {"kind": lead.deadline.kind.value, "at": lead.deadline.at.isoformat()},
        "document": unstructure_document(lead.document),
        "history": [_event_json(event) for event in history],
    }


def _access_json(record: AccessRecord) -> dict[str, Any]:
    return {
        "lead_id": record.lead_id,
        "user_id": record.user_id,
        "role": record.role,
        "kind": record.kind.value,
        "at": record.at.isoformat(),
        "client": record.client,
    }


class PersonalDataDesk(DeskBase):
    """:meth:`access_log`, :meth:`record_access`, :meth:`export_personal_data`,
    :meth:`erase_personal_data` and :meth:`apply_retention` (R14)."""

    def access_log(
        self,
        actor: Actor,
        *,
        lead_id: int | None = None,
        user_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 1000,
    ) -> list[AccessRecord]:
        """The access records ``actor`` may read, newest first (R12, R14): an admin
        all, a rep those of his territories' leads, an installer those of the leads he
        held at the time. A lead source none."""
        if not 1 <= limit <= 100_000:
            raise InvalidInput("limit", "must be between 1 and 100000")
        keeper = _require_keeper(self.repository)
        query = AccessQuery(
            lead_id=lead_id,
            user_id=user_id,
            since=None if since is None else require_utc("since", since),
            until=None if until is None else require_utc("until", until),
            limit=limit,
        )
        if isinstance(actor, SalesRep):
            query = attrs.evolve(query, territory_ids=self.directory.territory_ids_of(actor.id))
        elif isinstance(actor, Installer):
            query = attrs.evolve(query, holder_id=actor.id)
        elif not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "read the access log")
        return keeper.access_log.records(query)

    def record_access(
        self,
        actor: Actor,
        lead_ids: Iterable[int],
        *,
        kind: AccessKind,
        client: str = "",
    ) -> int:
        """Write the access records of a read the desk did not serve (R14): a portal
        that shows leads from its own read model (an admin table, a copy of a sent mail)
        records through this what it showed ``actor``. Leads that do not exist are
        skipped; returns how many records were written. Not for a lead source (R12)."""
        if not isinstance(actor, Admin | SalesRep | Installer):
            raise NotPermitted(actor.id, "read personal data")
        wanted = sorted(set(lead_ids))
        if not wanted:
            return 0
        found: list[Lead] = []
        with self.repository.unit_of_work() as uow:
            for lead_id in wanted:
                try:
                    found.append(uow.get(lead_id))
                except LeadNotFound:
                    continue
        log_access(self.repository, actor, found, kind, current_time(self.clock), client)
        return len(found)

    def export_personal_data(self, actor: Actor, *, email: str, client: str = "") -> dict[str, Any]:
        """Everything qleads holds about the person with this e-mail (Art. 15), as one
        JSON-serialisable document: every lead with that contact e-mail (all fields,
        statuses, deadlines, history with notes), the mails sent about them, their
        consent records, their erasure records and the access log about them. Admins
        only (R12). The export itself is logged (R14)."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "export personal data")
        address = _address(email)
        keeper = _require_keeper(self.repository)
        now = current_time(self.clock)
        leads = keeper.personal_data.leads_with_email(address)
        ids = [lead.id for lead in leads]
        with self.repository.unit_of_work() as uow:
            histories = {lead.id: uow.history(lead.id) for lead in leads}
        log_access(self.repository, actor, leads, AccessKind.EXPORT, now, client)
        accesses = [
            record
            for lead_id in ids
            for record in keeper.access_log.records(AccessQuery(lead_id=lead_id, limit=100_000))
        ]
        return {
            "email": address,
            "exported_at": now.isoformat(),
            "leads": [_lead_json(lead, histories[lead.id]) for lead in leads],
            "consents": [
                {
                    "lead_id": lead.id,
                    "text_version": lead.document.consent.text_version,
                    "given_at": lead.document.consent.given_at.isoformat(),
                    "source_page": lead.document.consent.source_page,
                }
                for lead in leads
                if lead.document.consent is not None
            ],
            "mails": [
                {
                    "lead_id": mail.lead_id,
                    "kind": mail.kind.value,
                    "recipient_id": mail.recipient_id,
                    "created_at": mail.created_at.isoformat(),
                }
                for mail in keeper.personal_data.mails(ids)
            ],
            "erasures": [
                {"lead_id": r.lead_id, "actor_id": r.actor_id, "at": r.at.isoformat()}
                for r in keeper.personal_data.erasures(ids)
            ],
            "access_log": [_access_json(record) for record in accesses],
        }

    def erase_personal_data(
        self,
        actor: Actor,
        *,
        reason: str,
        email: str | None = None,
        lead_id: int | None = None,
        client: str = "",
    ) -> ErasureResult:
        """Erase a person (Art. 17): every lead with this contact e-mail, or the one
        lead ``lead_id``, is anonymised everywhere qleads keeps it — the contact and free
        texts of the document, history notes, mails, the embedder's hooked records —
        and its pending mails are cancelled (R14). Statuses, dates, the postcode area,
        counts and the consent (as proof) stay. Each lead gets an erasure record with
        ``actor``, the time and ``reason``. Admins only (R12). Running it twice is
        harmless; an unknown address erases nothing and is no error."""
        if not isinstance(actor, Admin):
            raise NotPermitted(actor.id, "erase personal data")
        if (email is None) == (lead_id is None):
            raise InvalidInput("email", "give either an e-mail address or a lead id")
        text = check_reason(reason)
        keeper = _require_keeper(self.repository)
        now = current_time(self.clock)
        if email is not None:
            leads = keeper.personal_data.leads_with_email(_address(email))
        else:
            assert lead_id is not None
            with self.repository.unit_of_work() as uow:
                leads = [uow.get(lead_id)]
        return _erase(
            self.repository, keeper, actor.id, leads, text, now, actor=actor, client=client
        )

    def apply_retention(
        self, now: dt.datetime | None = None, *, dry_run: bool = False
    ) -> RetentionReport:
        """The retention periods of the policy (R14): anonymise every lead they take,
        exactly as an erasure does (reason ``"retention"``), and purge the access
        records older than their period. ``dry_run`` counts without changing anything.
        The sweep runs this too; so does ``qleads gdpr retention``."""
        at = current_time(self.clock) if now is None else require_utc("now", now)
        _require_keeper(self.repository)
        report = retain(self, at, dry_run=dry_run)
        assert report is not None  # the repository keeps personal data
        return report


def _erase(
    repository: LeadRepository,
    keeper: KeepsPersonalData,
    actor_id: str,
    leads: Sequence[Lead],
    reason: str,
    now: dt.datetime,
    *,
    actor: Actor | None = None,
    client: str = "",
) -> ErasureResult:
    chosen = unique_leads(leads)
    done = {record.lead_id for record in keeper.personal_data.erasures([c.id for c in chosen])}
    todo = tuple(lead for lead in chosen if lead.id not in done)
    if not todo:
        return ErasureResult(already_erased=tuple(sorted(done)))
    values = tuple(
        sorted(
            {value for lead in todo for value in person_values(lead.document)},
            key=lambda value: (-len(value), value),
        )
    )
    request = ErasureRequest(
        leads=todo,
        anonymised=tuple(attrs.evolve(lead, document=anonymised(lead.document)) for lead in todo),
        values=values,
        records=tuple(
            ErasureRecord(lead.id, actor_id, now, scrubbed(reason, values)) for lead in todo
        ),
    )
    if actor is not None:
        log_access(repository, actor, todo, AccessKind.ERASURE, now, client)
    keeper.personal_data.erase(request)
    return ErasureResult(erased=tuple(lead.id for lead in todo), already_erased=tuple(sorted(done)))


def retain(desk: DeskBase, at: dt.datetime, *, dry_run: bool = False) -> RetentionReport | None:
    """:meth:`PersonalDataDesk.apply_retention` at ``at``; ``None`` when the desk's
    repository keeps no personal-data store (an embedder's own), which the sweep
    (R11) then skips."""
    keeper = _keeper(desk.repository)
    if keeper is None:
        return None
    policy = desk.policy
    cutoffs = retention_cutoffs(
        at,
        policy.retention_closed_months,
        policy.retention_unclaimed_months,
        policy.retention_access_log_months,
    )
    store = keeper.personal_data
    if dry_run:
        due = store.retention_due(cutoffs.closed_before, cutoffs.unclaimed_before, 10**9)
        return RetentionReport(
            anonymised=len(due),
            access_records_purged=keeper.access_log.count_before(cutoffs.access_before),
            dry_run=True,
        )
    anonymised_count = 0
    while True:
        due = store.retention_due(cutoffs.closed_before, cutoffs.unclaimed_before, _RETENTION_BATCH)
        if not due:
            break
        result = _erase(desk.repository, keeper, RETENTION_ACTOR, due, RETENTION_REASON, at)
        anonymised_count += len(result.erased)
        if not result.erased:
            break
    purged = keeper.access_log.purge(cutoffs.access_before)
    return RetentionReport(anonymised=anonymised_count, access_records_purged=purged)


def _address(email: str) -> str:
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        raise InvalidInput("email", "is not an e-mail address")
    return email.strip()
