"""Decline reasons with consequences and the rep's queue (R7, R12; :mod:`qleads.decline`,
:mod:`qleads.rep_queue`): where a released lead goes, and what a rep does with the leads
that come back to him — send one to the pool, confirm it as spam, unlink a duplicate —
and how he reads the reasons, per lead and in aggregate.
"""

from __future__ import annotations

import datetime as dt

import attrs

from qleads.decline import (
    DECLINE_REASONS,
    SPAM_REPORTS_TO_CLOSE,
    Decline,
    Effect,
    declines,
    effect_of,
    releasers,
    spam_reporters,
)
from qleads.desk.base import DeskBase, clean_note, current_time, scope_of, write
from qleads.desk.changes import Change, People, history_event, new_lead_notices, to_pool
from qleads.desk.ladder_steps import SYSTEM_ACTOR, rep_of, to_rep_queue
from qleads.desk.personal_data import log_access, shown_to
from qleads.duplicates import changes
from qleads.errors import InvalidInput, InvalidTransition, LeadNotFound, NotPermitted
from qleads.instants import require_utc
from qleads.lifecycle import Status
from qleads.model import (
    Actor,
    Admin,
    EventKind,
    HistoryEvent,
    Lead,
    Notification,
    NotificationKind,
    Policy,
    ReleaseReason,
    SalesRep,
)
from qleads.personal_data import AccessKind
from qleads.ports import UnitOfWork
from qleads.rep_queue import is_queued, queue_holder
from qleads.tabs import Clause, LeadQuery
from qleads.visibility import LeadView, RowView, can_see, view_row

__all__ = ["DeclineDesk", "Repetition", "release_changes"]


@attrs.frozen
class Repetition:
    """A later request of the same customer, held back as a duplicate of a lead."""

    lead_id: int
    received_at: dt.datetime
    changes: tuple[str, ...]


def release_changes(
    uow: UnitOfWork,
    lead: Lead,
    actor_id: str,
    now: dt.datetime,
    policy: Policy,
    people: People,
    *,
    reason: ReleaseReason | None,
    note: str,
    duplicate_of: int | None,
) -> list[Change]:
    """R7 with the decline taxonomy: the changes a release of ``lead`` (as the unit read
    it, its due deadlines fired) makes, by the effect of ``reason``; a duplicate's link
    is written into ``uow`` here. Raises :class:`~qleads.errors.InvalidInput` naming
    ``duplicate_of`` when a *Dublette* names no other existing lead, or another reason
    names one."""
    effect = effect_of(reason)
    if effect is Effect.DUPLICATE:
        if duplicate_of is None or duplicate_of == lead.id:
            raise InvalidInput("duplicate_of", "a duplicate needs the id of another lead")
        try:
            uow.get(duplicate_of)
        except LeadNotFound:
            raise InvalidInput("duplicate_of", f"no lead {duplicate_of}") from None
    elif duplicate_of is not None:
        raise InvalidInput("duplicate_of", "only a release as a duplicate names an original")
    holder = lead.holder_id

    def released(new: Lead) -> HistoryEvent:
        event = history_event(new, EventKind.RELEASED, actor_id, lead.status, now, now)
        return attrs.evolve(event, reason=reason, note=note, holder_id=holder)

    new = to_pool(lead, now)
    release = released(new)
    closing: EventKind | None = None
    if effect is Effect.REP_QUEUE:
        closing = EventKind.RETURNED_TO_REP
    elif effect is Effect.DUPLICATE:
        assert duplicate_of is not None
        uow.link_duplicate(lead.id, duplicate_of)
        closing = EventKind.DUPLICATE
    else:
        history: list[HistoryEvent] = []
        limit = policy.unserviceable_after_releases
        if effect is Effect.SPAM_REPORT or limit is not None:
            history = [*uow.history(lead.id), release]
        if effect is Effect.SPAM_REPORT and len(spam_reporters(history)) >= SPAM_REPORTS_TO_CLOSE:
            closing = EventKind.SPAM
        elif limit is not None and len(releasers(history)) >= limit:
            closing = EventKind.UNSERVICEABLE
    if closing is None:
        return [Change(new, release, new_lead_notices(new, now, people, exclude=holder))]
    # Through the pool into the rep's queue, in one unit of work: the release is in the
    # history as every release is (R13), and nobody is told the lead is available.
    rep = rep_of(lead, people)
    queued = to_rep_queue(new, now, rep)
    event = history_event(queued, closing, SYSTEM_ACTOR, Status.NEW, now, now)
    return [Change(new, release), Change(queued, event, _rep_notice(queued, rep, now))]


def _rep_notice(lead: Lead, rep_id: str | None, now: dt.datetime) -> tuple[Notification, ...]:
    if not rep_id:
        return ()
    return (Notification.for_lead(NotificationKind.REP_QUEUE, lead, rep_id, now),)


class DeclineDesk(DeskBase):
    """What a rep (or an admin) does with declined leads and his queue."""

    def decline_reasons(self, actor: Actor, lead_id: int) -> list[Decline]:
        """Every release of the lead by an installer, with his reason and note, oldest
        first. Reps of its territory and admins only (R12)."""
        scope = scope_of(self.directory, _staff(actor, "read decline reasons", lead_id))
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            return declines(uow.history(lead_id))

    def decline_summary(
        self, actor: Actor, *, since: dt.datetime | None = None
    ) -> dict[ReleaseReason | None, int]:
        """How often each reason was given for the leads of the rep's territories (an
        admin: of all leads), since ``since`` if given; the taxonomy's reasons always
        appear, most frequent first. Counted by the storage, not by reading leads."""
        staff = _staff(actor, "read decline reasons")
        when = require_utc("since", since) if since is not None else None
        scope = scope_of(self.directory, staff)
        with self.repository.unit_of_work() as uow:
            counts = uow.release_reason_counts(scope.territory_ids, when)
        merged: dict[ReleaseReason | None, int] = dict.fromkeys(DECLINE_REASONS, 0)
        merged.update(counts)
        order = {reason: n for n, reason in enumerate((*DECLINE_REASONS, *ReleaseReason, None))}
        return dict(sorted(merged.items(), key=lambda item: (-item[1], order[item[0]])))

    def return_to_pool(self, actor: Actor, lead_id: int, *, note: str = "") -> LeadView:
        """Send a lead of the rep's queue to the pool of its territory, its installers
        told (R10); a duplicate's link is removed with it."""
        return self._out_of_queue(actor, lead_id, note, need_link=False)

    def unlink_duplicate(self, actor: Actor, lead_id: int, *, note: str = "") -> LeadView:
        """The rep decides a held-back duplicate is a lead of its own: unlinked and
        distributed normally (to the pool, its installers told). Raises
        :class:`~qleads.errors.InvalidTransition` for a lead that is no duplicate."""
        return self._out_of_queue(actor, lead_id, note, need_link=True)

    def confirm_spam(self, actor: Actor, lead_id: int, *, note: str = "") -> LeadView:
        """The rep confirms a ``new`` lead as spam or fake: closed for everyone, kept in
        his queue with the history saying so."""
        staff = _staff(actor, "confirm spam", lead_id)
        text = clean_note(note)
        scope = scope_of(self.directory, staff)
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            if lead.status is not Status.NEW:
                raise InvalidTransition(lead.id, lead.status.value, "confirm_spam")
            new = to_rep_queue(lead, now, rep_of(lead, self.directory))
            event = attrs.evolve(
                history_event(new, EventKind.SPAM, staff.id, lead.status, now, now), note=text
            )
            write(uow, lead, Change(new, event))
            uow.commit()
        return shown_to(self, staff, new)

    def queue(
        self,
        actor: Actor,
        *,
        rep_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
        client: str = "",
    ) -> tuple[tuple[RowView, ...], int]:
        """The leads waiting in a rep's queue, newest first, and how many there are: a
        rep reads his own; an admin names the rep (``None``: the queue of unrouted
        leads). Each row that shows a customer's name is an access (R14)."""
        staff = _staff(actor, "read the queue")
        owner = staff.id if isinstance(staff, SalesRep) else rep_id
        query = LeadQuery(
            (Clause(statuses=frozenset({Status.NEW}), holder_id=queue_holder(owner)),),
            offset=offset,
            limit=limit,
        )
        scope = scope_of(self.directory, staff)
        with self.repository.unit_of_work() as uow:
            page = uow.find(query)
            rows = tuple(view_row(scope, row, self.policy) for row in page.leads)
            named = [row.lead for row in rows if not row.contact_hidden]
            now = current_time(self.clock)
            log_access(self.repository, staff, named, AccessKind.LIST, now, client, uow=uow)
        return rows, page.total

    def repetitions(
        self, actor: Actor, lead_id: int, *, seen: LeadView | None = None
    ) -> list[Repetition]:
        """ "Kunde hat erneut angefragt": the duplicates linked to this lead, each with
        what it says differently (``qleads.duplicates.changes``), oldest first — for
        whoever may see the lead, its holder among them (R2).

        ``seen``: what :meth:`get` returned to ``actor`` for this lead in the same
        answer (the page that shows the repetitions shows the lead). The lead is then
        read only when it has repetitions to compare with — most have none — and its
        visibility is checked on that read; without them the answer is empty."""
        if seen is not None and seen.lead.id != lead_id:
            raise InvalidInput("seen", f"shows lead {seen.lead.id}, not {lead_id}")
        scope = scope_of(self.directory, actor)
        with self.repository.unit_of_work() as uow:
            known = uow.duplicates_of(lead_id) if seen is not None else None
            if known is not None and not known:
                return []
            # The lead as stored: ``seen`` may be masked (R16), and the changes compare
            # the whole documents.
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            ids = uow.duplicates_of(lead_id) if known is None else known
            copies = [uow.get(copy) for copy in ids]
        return [
            Repetition(copy.id, copy.received_at, tuple(changes(lead.document, copy.document)))
            for copy in copies
        ]

    def duplicate_of(self, actor: Actor, lead_id: int) -> int | None:
        """The original a lead is held back as a duplicate of, for whoever may see it."""
        scope = scope_of(self.directory, actor)
        with self.repository.unit_of_work() as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            return uow.duplicate_of(lead_id)

    def _out_of_queue(self, actor: Actor, lead_id: int, note: str, *, need_link: bool) -> LeadView:
        staff = _staff(actor, "distribute leads of the queue", lead_id)
        text = clean_note(note)
        scope = scope_of(self.directory, staff)
        now = current_time(self.clock)
        with self.repository.unit_of_work(writing=True) as uow:
            lead = uow.get(lead_id)
            if not can_see(scope, lead):
                raise LeadNotFound(lead_id)
            linked = uow.duplicate_of(lead_id) is not None
            if not is_queued(lead) or (need_link and not linked):
                action = "unlink_duplicate" if need_link else "return_to_pool"
                raise InvalidTransition(lead.id, lead.status.value, action)
            if linked:
                uow.unlink_duplicate(lead_id)
            new = to_pool(lead, now)
            event = attrs.evolve(
                history_event(new, EventKind.RETURNED_TO_POOL, staff.id, lead.status, now, now),
                note=text,
            )
            write(uow, lead, Change(new, event, new_lead_notices(new, now, self.directory)))
            uow.commit()
        return shown_to(self, staff, new)


def _staff(actor: Actor, action: str, lead_id: int | None = None) -> SalesRep | Admin:
    if not isinstance(actor, SalesRep | Admin):
        raise NotPermitted(actor.id, action, lead_id)
    return actor
