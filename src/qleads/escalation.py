"""The deadlines an escalation ladder (:mod:`qleads.ladder`) sets on a lead (R4, R5, R6,
R9, R11): when each step falls due on the holder's calendar, which deadline kind it is
stored as, and the default ladder that the policy's three deadline settings describe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from qleads.calendar import Calendar
from qleads.errors import InvalidTransition
from qleads.ladder import Ladder, LadderAction, Situation, Step, Unit, situation_of
from qleads.lifecycle import Status
from qleads.model import Deadline, DeadlineKind, Policy

__all__ = [
    "action_of",
    "check_situation",
    "deadline_code",
    "effective_ladder",
    "first_deadline",
    "hold_until",
    "kind_of",
    "next_deadline",
    "parse_deadline_code",
    "step_index",
    "step_time",
]


def effective_ladder(policy: Policy) -> Ladder:
    """The policy's ladder, or the one its deadline settings describe (today's rules)."""
    if policy.ladder is not None:
        return policy.ladder
    assigned = [Step.days(policy.assignment_reminder_days, LadderAction.REMIND_HOLDER)]
    if policy.escalation_days is not None:
        assigned.append(Step.days(policy.escalation_days, LadderAction.NOTIFY_REP))
    return Ladder(
        claimed=(Step.days(policy.claim_hold_days, LadderAction.RELEASE_TO_TERRITORY),),
        assigned=tuple(assigned),
        follow_up=(Step.days(0, LadderAction.REMIND_HOLDER),),
    )


#: The kind a default deadline has, by situation and action; other pairs are below.
_LEGACY_KINDS: Mapping[tuple[Situation, LadderAction], DeadlineKind] = MappingProxyType(
    {
        (Situation.CLAIMED, LadderAction.RELEASE_TO_TERRITORY): DeadlineKind.CLAIM_EXPIRY,
        (Situation.ASSIGNED, LadderAction.REMIND_HOLDER): DeadlineKind.ASSIGNMENT_REMINDER,
        (Situation.FOLLOW_UP, LadderAction.REMIND_HOLDER): DeadlineKind.FOLLOW_UP_DUE,
    }
)
_ACTION_KINDS: Mapping[LadderAction, DeadlineKind] = MappingProxyType(
    {
        LadderAction.REMIND_HOLDER: DeadlineKind.HOLDER_REMINDER,
        LadderAction.NOTIFY_REP: DeadlineKind.ESCALATION,
        LadderAction.REASSIGN_TO_REP: DeadlineKind.RETURN_TO_REP,
        LadderAction.RELEASE_TO_TERRITORY: DeadlineKind.WITHDRAWAL,
        LadderAction.MARK_UNSERVICEABLE: DeadlineKind.UNSERVICEABLE,
    }
)
_KIND_ACTIONS: Mapping[DeadlineKind, LadderAction] = MappingProxyType(
    {
        **{kind: action for action, kind in _ACTION_KINDS.items()},
        **{kind: action for (_, action), kind in _LEGACY_KINDS.items()},
    }
)
#: Where each kind sits in the default ladder: a stored deadline without a step is there.
_DEFAULT_PLACE: Mapping[DeadlineKind, int] = MappingProxyType({DeadlineKind.ESCALATION: 1})


def kind_of(situation: Situation, action: LadderAction) -> DeadlineKind:
    """The deadline kind of ``action`` in ``situation``: the kinds of earlier versions
    where the default ladder has the step, a kind of its own elsewhere."""
    return _LEGACY_KINDS.get((situation, action), _ACTION_KINDS[action])


def action_of(kind: DeadlineKind) -> LadderAction:
    return _KIND_ACTIONS[kind]


def step_index(deadline: Deadline) -> int:
    """The deadline's place in its situation's ladder."""
    if deadline.step is not None:
        return deadline.step
    return _DEFAULT_PLACE.get(deadline.kind, 0)


def _deadline(kind: DeadlineKind, at: dt.datetime, index: int) -> Deadline:
    step = None if _DEFAULT_PLACE.get(kind, 0) == index else index
    return Deadline(kind, at, step)


def step_time(calendar: Calendar, start: dt.datetime, step: Step) -> dt.datetime:
    """When ``step`` falls due, counted from ``start`` on ``calendar`` (R9)."""
    if step.after == 0:
        return start
    if step.unit is Unit.BUSINESS_HOURS:
        return calendar.add_business_hours(start, step.after)
    return calendar.add_business_days(start, step.after)


def first_deadline(
    ladder: Ladder, status: Status, calendar: Calendar, start: dt.datetime
) -> Deadline | None:
    """The first step of the situation a lead enters with ``status`` at ``start``."""
    situation = situation_of(status)
    if situation is None:
        return None
    steps = ladder.steps(situation)
    if not steps:
        return None
    return _deadline(kind_of(situation, steps[0].action), step_time(calendar, start, steps[0]), 0)


def next_deadline(
    ladder: Ladder, status: Status, calendar: Calendar, fired: Deadline
) -> Deadline | None:
    """The step after ``fired`` in the ladder of ``status``, counted from when ``fired``
    fell due; ``None`` after the last one."""
    situation = situation_of(status)
    if situation is None:
        return None
    steps = ladder.steps(situation)
    index = step_index(fired) + 1
    if index >= len(steps):
        return None
    step = steps[index]
    return _deadline(kind_of(situation, step.action), step_time(calendar, fired.at, step), index)


def hold_until(ladder: Ladder, calendar: Calendar, start: dt.datetime) -> dt.datetime | None:
    """R4: when a claim made at ``start`` is over — when its ladder releases it to the
    territory; ``None`` when the claimed ladder never does."""
    at = start
    for step in ladder.steps(Situation.CLAIMED):
        at = step_time(calendar, at, step)
        if step.action is LadderAction.RELEASE_TO_TERRITORY:
            return at
    return None


def deadline_code(deadline: Deadline) -> str:
    """How storage writes a deadline's kind and place: the kind's value alone where the
    place is its default one (what earlier versions wrote), else ``kind@place``."""
    if deadline.step is None:
        return deadline.kind.value
    return f"{deadline.kind.value}@{deadline.step}"


def parse_deadline_code(code: str) -> tuple[DeadlineKind, int | None]:
    """The inverse of :func:`deadline_code`."""
    kind, _, place = code.partition("@")
    return DeadlineKind(kind), (int(place) if place else None)


def check_situation(lead_id: int, status: Status, kind: DeadlineKind) -> Situation:
    """The situation a due deadline fires in; a lead out of every situation cannot have
    one (R15)."""
    situation = situation_of(status)
    if situation is None:
        raise InvalidTransition(lead_id, status.value, f"ladder step {kind.value}")
    return situation
