"""The lead state machine (R3–R7, R11): statuses, actions and one typed transition table.

No strings name callbacks and nothing is attached at run time: ``TRANSITIONS`` is a frozen
mapping from action to the statuses it may start from and the status it leads to, checked
for completeness by the tests. The functions in ``qleads.desk`` consult it through
:func:`check`, which raises :class:`~qleads.errors.InvalidTransition` carrying the lead,
its status and the action (R15).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from qleads.errors import InvalidTransition
from qleads.texts import N_, SOURCE_LANGUAGE, translation

__all__ = [
    "HELD_STATUSES",
    "OPEN_WORK_STATUSES",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "WORK_STATUSES",
    "Action",
    "Status",
    "Transition",
    "check",
]


class Status(enum.Enum):
    """Anlage 3. The values are stable: they are stored and sent over the wire."""

    NEW = "new"
    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    CONTACT_ATTEMPTED = "contact_attempted"
    FIRST_CONTACT = "first_contact"
    OFFER_SENT = "offer_sent"
    FOLLOW_UP = "follow_up"
    ORDER_PLACED = "order_placed"
    UNSUCCESSFUL = "unsuccessful"

    def label(self, language: str = SOURCE_LANGUAGE) -> str:
        """The manual's name of the status (Anlage 3) in ``language``, from the catalogs
        of :mod:`qleads.texts` (German where none has the language)."""
        return translation(language).gettext(_LABELS[self])

    @property
    def label_de(self) -> str:
        return self.label("de")

    @property
    def label_en(self) -> str:
        return self.label("en")

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_work(self) -> bool:
        return self in WORK_STATUSES


#: The message ids of the labels: the manual's German words.
_LABELS: Mapping[Status, str] = MappingProxyType(
    {
        Status.NEW: N_("Neu"),
        Status.CLAIMED: N_("Lead beansprucht"),
        Status.ASSIGNED: N_("Lead zugeteilt"),
        Status.CONTACT_ATTEMPTED: N_("Kontaktversuch erfolgt"),
        Status.FIRST_CONTACT: N_("Erstkontakt erfolgt"),
        Status.OFFER_SENT: N_("Angebot gesendet"),
        Status.FOLLOW_UP: N_("Wiedervorlage"),
        Status.ORDER_PLACED: N_("Bestellung aufgegeben"),
        Status.UNSUCCESSFUL: N_("Nicht erfolgreich"),
    }
)

TERMINAL_STATUSES = frozenset({Status.ORDER_PLACED, Status.UNSUCCESSFUL})
#: The statuses a holder records (R6); ``claimed`` and ``assigned`` are set by actions.
WORK_STATUSES = frozenset(
    {
        Status.CONTACT_ATTEMPTED,
        Status.FIRST_CONTACT,
        Status.OFFER_SENT,
        Status.FOLLOW_UP,
        Status.ORDER_PLACED,
        Status.UNSUCCESSFUL,
    }
)
OPEN_WORK_STATUSES = WORK_STATUSES - TERMINAL_STATUSES
#: A lead in one of these has a holder.
HELD_STATUSES = frozenset(Status) - {Status.NEW}


class Action(enum.Enum):
    """Everything that can happen to a lead, by a person or by the sweep."""

    CLAIM = "claim"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    RECORD = "record"
    RELEASE = "release"
    REOPEN = "reopen"
    EXPIRE = "expire"
    REMIND = "remind"
    ESCALATE = "escalate"
    FOLLOW_UP_DUE = "follow_up_due"


@attrs.frozen
class Transition:
    """``targets`` has one status for every action but ``record``, whose target is the
    work status the holder chose."""

    action: Action
    sources: frozenset[Status]
    targets: frozenset[Status]


_WORKABLE = frozenset({Status.CLAIMED, Status.ASSIGNED}) | OPEN_WORK_STATUSES

TRANSITIONS: Mapping[Action, Transition] = MappingProxyType(
    {
        t.action: t
        for t in (
            Transition(Action.CLAIM, frozenset({Status.NEW}), frozenset({Status.CLAIMED})),
            Transition(Action.ASSIGN, frozenset({Status.NEW}), frozenset({Status.ASSIGNED})),
            Transition(Action.REASSIGN, _WORKABLE, frozenset({Status.ASSIGNED})),
            Transition(Action.RECORD, _WORKABLE, WORK_STATUSES),
            Transition(Action.RELEASE, _WORKABLE, frozenset({Status.NEW})),
            Transition(Action.REOPEN, TERMINAL_STATUSES, frozenset({Status.NEW})),
            Transition(Action.EXPIRE, frozenset({Status.CLAIMED}), frozenset({Status.NEW})),
            Transition(Action.REMIND, frozenset({Status.ASSIGNED}), frozenset({Status.ASSIGNED})),
            Transition(Action.ESCALATE, frozenset({Status.ASSIGNED}), frozenset({Status.ASSIGNED})),
            Transition(
                Action.FOLLOW_UP_DUE,
                frozenset({Status.FOLLOW_UP}),
                frozenset({Status.FOLLOW_UP}),
            ),
        )
    }
)


def check(lead_id: int, status: Status, action: Action, target: Status | None = None) -> None:
    """Raise :class:`InvalidTransition` unless ``action`` may move a lead from ``status``
    (to ``target``, where the caller chooses it)."""
    transition = TRANSITIONS[action]
    if status not in transition.sources:
        raise InvalidTransition(lead_id, status.value, action.value)
    if target is not None and target not in transition.targets:
        raise InvalidTransition(lead_id, status.value, f"{action.value} to {target.value}")
