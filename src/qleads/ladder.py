"""The escalation ladder as data (R4, R5, R6, R11): what the clock does to a lead that
nobody works on, step by step.

A lead that waits for its holder is in one of four *situations*, read off its status:
claimed but unworked, assigned but unworked, follow-up overdue, offer sent without an
outcome. For each, a :class:`Ladder` holds an ordered tuple of :class:`Step` s, each
"after N business days or business hours on the holder's calendar, do X". A step's delay
counts from the step before it, the first step's from the moment the situation began
(the claim, the assignment, the follow-up date, the offer's date). ``after=0`` means at
that moment itself.

The lead carries only its next step (``Lead.deadline``): a step fires once, in the
sweep's conditional update, and puts the following step in its place; a change of the
lead's situation (a record, a release) replaces the deadline with the first step of the
new one. That is why each step fires at most once.

The deadlines a ladder sets are worked out by :mod:`qleads.escalation`. The default
ladder (:func:`~qleads.escalation.effective_ladder` of a policy without one) is exactly
what the three deadline settings of :class:`~qleads.model.Policy` described before the
ladder existed: a claim expires after ``claim_hold_days`` (R4), an assignment is reminded
after ``assignment_reminder_days`` and escalated ``escalation_days`` later (R5), a
follow-up is reminded on its date (R6), an offer waits for ever. Its deadlines are stored
with the kinds and places earlier versions stored.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = ["MAX_STEPS", "Ladder", "LadderAction", "Situation", "Step", "Unit", "situation_of"]

#: The most steps one situation's ladder may have.
MAX_STEPS = 10


class Situation(enum.Enum):
    """What a lead is waiting for, by its status."""

    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    FOLLOW_UP = "follow_up"
    OFFER_SENT = "offer_sent"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        return translation(language).gettext(_SITUATION_LABELS[self])


class LadderAction(enum.Enum):
    """What a step does."""

    REMIND_HOLDER = "remind_holder"
    NOTIFY_REP = "notify_rep"
    REASSIGN_TO_REP = "reassign_to_rep"
    RELEASE_TO_TERRITORY = "release_to_territory"
    MARK_UNSERVICEABLE = "mark_unserviceable"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        return translation(language).gettext(_ACTION_LABELS[self])

    @property
    def ends_situation(self) -> bool:
        """Whether the lead leaves its holder with this step (nothing can follow it)."""
        return self not in (LadderAction.REMIND_HOLDER, LadderAction.NOTIFY_REP)


class Unit(enum.Enum):
    """How a step's delay counts, on the holder's calendar (R9)."""

    BUSINESS_DAYS = "business_days"
    BUSINESS_HOURS = "business_hours"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        return translation(language).gettext(_UNIT_LABELS[self])


_SITUATION_LABELS: Mapping[Situation, str] = MappingProxyType(
    {
        Situation.CLAIMED: N_("Beansprucht, nicht bearbeitet"),
        Situation.ASSIGNED: N_("Zugeteilt, nicht bearbeitet"),
        Situation.FOLLOW_UP: N_("Wiedervorlage überfällig"),
        Situation.OFFER_SENT: N_("Angebot gesendet, ohne Ergebnis"),
    }
)
_ACTION_LABELS: Mapping[LadderAction, str] = MappingProxyType(
    {
        LadderAction.REMIND_HOLDER: N_("Bearbeiter erinnern"),
        LadderAction.NOTIFY_REP: N_("Vertriebsmitarbeiter benachrichtigen"),
        LadderAction.REASSIGN_TO_REP: N_("An den Vertriebsmitarbeiter zurückgeben"),
        LadderAction.RELEASE_TO_TERRITORY: N_("Für das Gebiet freigeben"),
        LadderAction.MARK_UNSERVICEABLE: N_("Als nicht vermittelbar markieren"),
    }
)
_UNIT_LABELS: Mapping[Unit, str] = MappingProxyType(
    {Unit.BUSINESS_DAYS: N_("Werktage"), Unit.BUSINESS_HOURS: N_("Arbeitsstunden")}
)

_SITUATIONS: Mapping[Status, Situation] = MappingProxyType(
    {
        Status.CLAIMED: Situation.CLAIMED,
        Status.ASSIGNED: Situation.ASSIGNED,
        Status.FOLLOW_UP: Situation.FOLLOW_UP,
        Status.OFFER_SENT: Situation.OFFER_SENT,
    }
)


def situation_of(status: Status) -> Situation | None:
    """The situation a lead in ``status`` waits in; ``None`` when no ladder applies."""
    return _SITUATIONS.get(status)


def _check_after(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise InvalidInput("after", f"must be a whole number from 0 to 1000, got {value!r}")


@attrs.frozen
class Step:
    """After ``after`` business days or hours (``unit``), do ``action``."""

    after: int = attrs.field(validator=_check_after)
    unit: Unit
    action: LadderAction

    @classmethod
    def days(cls, after: int, action: LadderAction) -> Step:
        return cls(after, Unit.BUSINESS_DAYS, action)

    @classmethod
    def hours(cls, after: int, action: LadderAction) -> Step:
        return cls(after, Unit.BUSINESS_HOURS, action)


def _check_steps(
    instance: object, attribute: attrs.Attribute[tuple[Step, ...]], value: object
) -> None:
    name = attribute.name
    if not isinstance(value, tuple) or not all(isinstance(step, Step) for step in value):
        raise InvalidInput(name, "must be a tuple of ladder steps")
    if len(value) > MAX_STEPS:
        raise InvalidInput(name, f"has {len(value)} steps; at most {MAX_STEPS} are allowed")
    for step in value[:-1]:
        if step.action.ends_situation:
            raise InvalidInput(
                name,
                f"{step.action.value!r} takes the lead from its holder, so it must be the "
                "last step",
            )


@attrs.frozen
class Ladder:
    """The steps of each situation, in order. An empty tuple: the clock leaves such a
    lead alone. A step that takes the lead from its holder (release, return to the rep,
    nicht vermittelbar) must be the last one: nothing after it could fire.

    Raises :class:`~qleads.errors.InvalidInput` naming the situation for a step list
    that breaks this, or holds more than :data:`MAX_STEPS` steps."""

    claimed: tuple[Step, ...] = attrs.field(default=(), validator=_check_steps)
    assigned: tuple[Step, ...] = attrs.field(default=(), validator=_check_steps)
    follow_up: tuple[Step, ...] = attrs.field(default=(), validator=_check_steps)
    offer_sent: tuple[Step, ...] = attrs.field(default=(), validator=_check_steps)

    def steps(self, situation: Situation) -> tuple[Step, ...]:
        steps: tuple[Step, ...] = getattr(self, situation.value)
        return steps
