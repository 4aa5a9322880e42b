"""The policy part of the desk's state machine (:mod:`qleads.testing.stateful`): the
escalation ladder, decline reasons with their effects, the rep's queue and duplicates.

:class:`PolicyRules` is a base of :class:`~qleads.testing.stateful.LeadDeskMachine`
(over :class:`~qleads.testing.stateful_views.ViewInvariants`);
it holds the rules and the model steps these features add, and its invariants:

* a lead in a rep's queue is ``new``, held by the queue, has no deadline, and no
  installer sees it in his pool (R2);
* a duplicate linked to its original is never distributed: it stays in the queue
  until the rep sends it on, and no "new lead" notice names it (``qleads.duplicates``);
* an installer never claims a lead he declined as lost or spam (``qleads.decline``).

The model follows the rules as the documentation states them. Where the policy has a
ladder of its own, its step times come from :mod:`qleads.escalation`, the pure rule
that worked them out, as the claim hold comes from the calendar (R9).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from qleads.calendar import Calendar
from qleads.desk import LeadDesk
from qleads.duplicates import match_values
from qleads.errors import InvalidTransition, LeadNotFound, NotPermitted, QleadsError
from qleads.escalation import action_of, effective_ladder, first_deadline, next_deadline
from qleads.intake import parse_document
from qleads.ladder import Ladder, LadderAction, Step
from qleads.lifecycle import Status
from qleads.model import (
    Actor,
    Admin,
    Deadline,
    NotificationKind,
    Policy,
    ReleaseReason,
    SalesRep,
)
from qleads.ports import LeadRepository
from qleads.rep_queue import QUEUE_MARK, queue_holder
from qleads.testing.lead_model import ExpectedLead
from qleads.testing.stateful_views import ViewInvariants
from qleads.testing.world import ADMIN, ANNA, REP_EAST, REP_SOUTH, SOURCE

__all__ = ["POLICY_WITH_A_LADDER", "PolicyRules"]

_A = LadderAction
#: A policy that uses every feature: a ladder with every action and both units, two
#: releases making a lead *nicht vermittelbar*, and duplicate detection.
POLICY_WITH_A_LADDER = Policy(
    ladder=Ladder(
        claimed=(Step.hours(4, _A.REMIND_HOLDER), Step.days(1, _A.RELEASE_TO_TERRITORY)),
        assigned=(
            Step.hours(6, _A.REMIND_HOLDER),
            Step.hours(3, _A.NOTIFY_REP),
            Step.days(1, _A.MARK_UNSERVICEABLE),
        ),
        follow_up=(
            Step.days(0, _A.REMIND_HOLDER),
            Step.hours(2, _A.NOTIFY_REP),
            Step.days(1, _A.RELEASE_TO_TERRITORY),
        ),
        offer_sent=(Step.days(2, _A.REMIND_HOLDER), Step.days(2, _A.REASSIGN_TO_REP)),
    ),
    unserviceable_after_releases=2,
    duplicate_detection=True,
)

_CLOSING = frozenset({ReleaseReason.NOT_INTERESTED, ReleaseReason.SPAM})


class PolicyRules(ViewInvariants):
    """Rules, model steps and invariants of the policy features (see the module)."""

    policy: ClassVar[Policy]
    desk: LeadDesk
    repository: LeadRepository
    expected: dict[int, ExpectedLead]
    by_source: dict[str, int]

    if TYPE_CHECKING:  # what the machine these rules are mixed into provides

        @property
        def now(self) -> dt.datetime: ...

        def _draw_lead(
            self, data: st.DataObject, prefer: Callable[[ExpectedLead], bool]
        ) -> ExpectedLead: ...

        def _expect_error(
            self, error: type[QleadsError], action: Callable[[], object], what: str
        ) -> None: ...

    # --- the model's steps --------------------------------------------------------------

    def queue_of(self, territory_id: str | None) -> str:
        """The holder id of the queue of the territory's rep."""
        if territory_id is None:
            return queue_holder(None)
        return queue_holder(self.cast.territory(territory_id).rep_id)

    @staticmethod
    def queued(expected: ExpectedLead) -> bool:
        return expected.holder_id is not None and expected.holder_id.startswith(QUEUE_MARK)

    def to_queue(self, expected: ExpectedLead) -> None:
        expected.to_pool()
        expected.holder_id = self.queue_of(expected.territory_id)

    def calendar_of(self, expected: ExpectedLead) -> Calendar:
        holder = expected.holder_id
        if holder is None or holder.startswith(QUEUE_MARK):
            return Calendar()
        return self.cast.installer(holder).calendar

    def ladder_first(self, expected: ExpectedLead, start: dt.datetime) -> None:
        """The first step of the situation the lead entered, by the policy's ladder."""
        expected.deadline = first_deadline(
            effective_ladder(self.policy), expected.status, self.calendar_of(expected), start
        )

    def ladder_fire(self, expected: ExpectedLead, deadline: Deadline) -> None:
        """A step of the policy's own ladder fires (the default ladder's are modelled
        by hand in the machine)."""
        action = action_of(deadline.kind)
        if action is LadderAction.RELEASE_TO_TERRITORY:
            expected.to_pool()
        elif action in (LadderAction.REASSIGN_TO_REP, LadderAction.MARK_UNSERVICEABLE):
            self.to_queue(expected)
        else:
            expected.deadline = next_deadline(
                effective_ladder(self.policy), expected.status, self.calendar_of(expected), deadline
            )

    def release_effect(
        self, expected: ExpectedLead, reason: ReleaseReason | None, original: int | None
    ) -> None:
        """Where a release for ``reason`` puts the (caught-up) lead (``qleads.decline``)."""
        holder = expected.holder_id
        assert holder is not None
        expected.to_pool()
        expected.releasers = expected.releasers | {holder}
        if reason in _CLOSING:
            expected.closed_for = expected.closed_for | {holder}
        if reason is ReleaseReason.SPAM:
            expected.spam = expected.spam | {holder}
        limit = self.policy.unserviceable_after_releases
        if reason is ReleaseReason.DUPLICATE:
            expected.linked_to = original
            expected.offered_before_link = True
            self.to_queue(expected)
        elif (
            reason is ReleaseReason.OUT_OF_SCOPE
            or (reason is ReleaseReason.SPAM and len(expected.spam) >= 2)
            or (limit is not None and len(expected.releasers) >= limit)
        ):
            self.to_queue(expected)

    def original_of(self, raw: dict[str, Any], received: dt.datetime) -> int | None:
        """The lead a submission repeats, by the rule of ``qleads.duplicates``. An erased
        lead has no match keys any more (R14): nobody's submission repeats it."""
        if not self.policy.duplicate_detection:
            return None
        mine = _values(raw)
        since = received - dt.timedelta(days=self.policy.duplicate_window_days)
        found = [
            i
            for i, e in self.expected.items()
            if e.received_at >= since and not self._erased(i) and mine & _values(e.raw)
        ]
        if not found:
            return None
        original = max(found)
        while self.expected[original].linked_to is not None:
            linked = self.expected[original].linked_to
            assert linked is not None
            original = linked
        return original

    # --- rules: the rep's queue ---------------------------------------------------------

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), actor=st.sampled_from((REP_EAST, REP_SOUTH, ADMIN, ANNA)))
    def return_to_pool(self, data: st.DataObject, actor: Actor) -> None:
        expected = self._draw_lead(data, self.queued)
        lead_id = expected.lead_id
        note(f"{actor.id} sends lead {lead_id} from the queue to the pool")
        error = self._staff_error(actor, expected)
        if error is None and not self.queued(expected):
            error = InvalidTransition
        if error is not None:
            self._expect_error(error, lambda: self.desk.return_to_pool(actor, lead_id), "return")
            return
        self.desk.return_to_pool(actor, lead_id)
        expected.to_pool()
        expected.linked_to = None

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), actor=st.sampled_from((REP_EAST, REP_SOUTH, ADMIN)))
    def unlink_duplicate(self, data: st.DataObject, actor: Actor) -> None:
        expected = self._draw_lead(data, lambda e: e.linked_to is not None)
        lead_id = expected.lead_id
        note(f"{actor.id} unlinks lead {lead_id} (linked to {expected.linked_to})")
        error = self._staff_error(actor, expected)
        if error is None and (not self.queued(expected) or expected.linked_to is None):
            error = InvalidTransition
        if error is not None:
            self._expect_error(error, lambda: self.desk.unlink_duplicate(actor, lead_id), "unlink")
            return
        self.desk.unlink_duplicate(actor, lead_id)
        expected.to_pool()
        expected.linked_to = None

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), actor=st.sampled_from((REP_EAST, REP_SOUTH, ADMIN, ANNA)))
    def confirm_spam(self, data: st.DataObject, actor: Actor) -> None:
        expected = self._draw_lead(data, lambda e: e.status is Status.NEW and bool(e.spam))
        lead_id = expected.lead_id
        note(f"{actor.id} confirms lead {lead_id} as spam")
        error = self._staff_error(actor, expected)
        if error is None and expected.status is not Status.NEW:
            error = InvalidTransition
        if error is not None:
            self._expect_error(error, lambda: self.desk.confirm_spam(actor, lead_id), "spam")
            return
        self.desk.confirm_spam(actor, lead_id)
        self.to_queue(expected)

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), kwh=st.integers(min_value=1000, max_value=9000))
    def intake_same_person(self, data: st.DataObject, kwh: int) -> None:
        """The same person asks again under a new source id (``qleads.duplicates``)."""
        before = self._draw_lead(data, lambda e: True)
        raw = copy.deepcopy(before.raw)
        raw["source_id"] = f"{before.source_id[:40]}-again-{len(self.by_source)}"
        if raw["source_id"] in self.by_source:
            return
        raw["consumption"]["annual_kwh"] = kwh
        raw["received_at"] = None
        original = self.original_of(raw, self.now)
        note(f"intake {raw['source_id']!r}, the person of lead {before.lead_id}: {original}")
        result = self.desk.intake(SOURCE, raw)
        assert result.created
        assert result.duplicate_of == original, (result.duplicate_of, original)
        expected = ExpectedLead(
            lead_id=result.lead.id,
            source_id=raw["source_id"],
            fingerprint=before.fingerprint,
            raw=raw,
            territory_id=before.territory_id,
            received_at=self.now,
        )
        if original is not None:
            expected.linked_to = original
            expected.offered_before_link = False
            expected.holder_id = self.queue_of(before.territory_id)
        self.expected[result.lead.id] = expected
        self.by_source[raw["source_id"]] = result.lead.id

    def _staff_error(self, actor: Actor, expected: ExpectedLead) -> type[QleadsError] | None:
        if not isinstance(actor, SalesRep | Admin):
            return NotPermitted
        if isinstance(actor, SalesRep) and expected.territory_id not in self.cast.territory_ids_of(
            actor.id
        ):
            return LeadNotFound
        return None

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def queued_leads_wait_for_their_rep(self) -> None:
        for lead_id, expected in self.expected.items():
            lead = self.desk.get(ADMIN, lead_id).lead
            if self.queued(expected):
                assert lead.status is Status.NEW, lead
                assert lead.deadline is None, lead
            assert self.desk.duplicate_of(ADMIN, lead_id) == expected.linked_to, lead_id

    @invariant()
    def duplicates_are_never_distributed(self) -> None:
        linked = {i for i, e in self.expected.items() if e.linked_to is not None}
        if not linked:
            return
        for lead_id in linked:
            assert self.queued(self.expected[lead_id]), lead_id
        offered = {
            n.lead_id
            for n in _notifications(self.repository)
            if n.kind is NotificationKind.NEW_LEAD and n.lead_id in linked
        }
        # A lead linked at intake is never offered; one linked by a release was offered
        # before it was declined, and never after.
        for lead_id in offered:
            assert self.expected[lead_id].offered_before_link, lead_id


def _values(raw: dict[str, Any]) -> set[tuple[str, str]]:
    values = match_values(parse_document(copy.deepcopy(raw)).contact)
    return {(kind, value) for kind, value in attrs.asdict(values).items() if value}


def _notifications(repository: LeadRepository) -> Sequence[Any]:
    notifications: Callable[[], Sequence[Any]] | None = getattr(repository, "notifications", None)
    return notifications() if notifications is not None else ()
