"""The lead state machine's table (R3–R7, R11, R12, R15)."""

from __future__ import annotations

import itertools

import pytest

from qleads.errors import InvalidTransition, QleadsError
from qleads.lifecycle import (
    HELD_STATUSES,
    OPEN_WORK_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    WORK_STATUSES,
    Action,
    Status,
    check,
)

S = Status


WORKABLE = {S.CLAIMED, S.ASSIGNED, S.CONTACT_ATTEMPTED, S.FIRST_CONTACT, S.OFFER_SENT, S.FOLLOW_UP}

#: The rulebook, written out by hand: every action and the statuses it may start from.
ALLOWED: dict[Action, set[Status]] = {
    Action.CLAIM: {S.NEW},  # R3
    Action.ASSIGN: {S.NEW},  # R5
    Action.REASSIGN: WORKABLE,  # R5
    Action.RECORD: WORKABLE,  # R6
    Action.RELEASE: WORKABLE,  # R7
    Action.REOPEN: {S.ORDER_PLACED, S.UNSUCCESSFUL},  # R12
    Action.EXPIRE: {S.CLAIMED},  # R4
    Action.REMIND: {S.ASSIGNED},  # R5
    Action.ESCALATE: {S.ASSIGNED},  # R5
    Action.FOLLOW_UP_DUE: {S.FOLLOW_UP},  # R6
}


class TestTransitionTable:
    def test_every_action_has_a_transition(self) -> None:
        """R3–R7: the table names every action, no more, no less."""
        assert set(TRANSITIONS) == set(Action)
        assert all(TRANSITIONS[action].action is action for action in Action)

    def test_table_matches_the_rulebook(self) -> None:
        """R3–R7: each action starts from exactly the statuses the rules allow."""
        assert {action: set(t.sources) for action, t in TRANSITIONS.items()} == ALLOWED

    @pytest.mark.parametrize(
        ("status", "action"),
        list(itertools.product(Status, Action)),
        ids=lambda value: value.value,
    )
    def test_every_pair_is_allowed_or_refused_with_its_details(
        self, status: Status, action: Action
    ) -> None:
        """R15: every (status, action) pair either passes or raises InvalidTransition
        carrying the lead id, the status and the action."""
        if status in ALLOWED[action]:
            check(42, status, action)
            return
        with pytest.raises(InvalidTransition) as raised:
            check(42, status, action)
        error = raised.value
        assert error.lead_id == 42
        assert error.status == status.value
        assert error.action == action.value
        assert error.code == "invalid_transition"
        assert isinstance(error, QleadsError)

    @pytest.mark.parametrize("status", [s for s in Status if s in TERMINAL_STATUSES])
    def test_terminal_statuses_accept_nothing_but_reopen(self, status: Status) -> None:
        """R6/R12: a closed lead accepts nothing more; only an admin's reopen."""
        for action in Action:
            if action is Action.REOPEN:
                check(1, status, action)
            else:
                with pytest.raises(InvalidTransition):
                    check(1, status, action)

    def test_targets(self) -> None:
        """R3–R7: where each action leads; a record leads to the work status chosen."""
        targets = {action: set(t.targets) for action, t in TRANSITIONS.items()}
        assert targets == {
            Action.CLAIM: {S.CLAIMED},
            Action.ASSIGN: {S.ASSIGNED},
            Action.REASSIGN: {S.ASSIGNED},
            Action.RECORD: set(WORK_STATUSES),
            Action.RELEASE: {S.NEW},
            Action.REOPEN: {S.NEW},
            Action.EXPIRE: {S.NEW},
            Action.REMIND: {S.ASSIGNED},
            Action.ESCALATE: {S.ASSIGNED},
            Action.FOLLOW_UP_DUE: {S.FOLLOW_UP},
        }

    @pytest.mark.parametrize("target", [S.NEW, S.CLAIMED, S.ASSIGNED])
    def test_record_refuses_a_status_that_is_no_work_status(self, target: Status) -> None:
        """R6: only work statuses can be recorded."""
        with pytest.raises(InvalidTransition) as raised:
            check(7, S.CLAIMED, Action.RECORD, target)
        assert raised.value.action == f"record to {target.value}"

    @pytest.mark.parametrize("target", [s for s in Status if s in WORK_STATUSES])
    def test_record_accepts_every_work_status(self, target: Status) -> None:
        """R6: every work status may be recorded from a held lead."""
        check(7, S.ASSIGNED, Action.RECORD, target)


class TestStatuses:
    def test_values_are_stable(self) -> None:
        """R13: status values are stored and sent over the wire; they never change."""
        assert [s.value for s in Status] == [
            "new",
            "claimed",
            "assigned",
            "contact_attempted",
            "first_contact",
            "offer_sent",
            "follow_up",
            "order_placed",
            "unsuccessful",
        ]

    def test_german_labels_are_the_manuals(self) -> None:
        """Anlage 3: the labels an installer reads."""
        assert {s: s.label() for s in Status} == {
            S.NEW: "Neu",
            S.CLAIMED: "Lead beansprucht",
            S.ASSIGNED: "Lead zugeteilt",
            S.CONTACT_ATTEMPTED: "Kontaktversuch erfolgt",
            S.FIRST_CONTACT: "Erstkontakt erfolgt",
            S.OFFER_SENT: "Angebot gesendet",
            S.FOLLOW_UP: "Wiedervorlage",
            S.ORDER_PLACED: "Bestellung aufgegeben",
            S.UNSUCCESSFUL: "Nicht erfolgreich",
        }

    def test_english_labels_exist(self) -> None:
        """R10: English is available for every status."""
        assert all(s.label("en") == s.label_en != s.label_de for s in Status)

    def test_groups(self) -> None:
        """R6: the statuses a holder records, two of them terminal; everything but new
        is held."""
        assert {s for s in Status if s.is_terminal} == {S.ORDER_PLACED, S.UNSUCCESSFUL}
        assert {s for s in Status if s.is_work} == set(WORK_STATUSES)
        assert set(WORK_STATUSES) == {
            S.CONTACT_ATTEMPTED,
            S.FIRST_CONTACT,
            S.OFFER_SENT,
            S.FOLLOW_UP,
            S.ORDER_PLACED,
            S.UNSUCCESSFUL,
        }
        assert {S.CONTACT_ATTEMPTED, S.FIRST_CONTACT, S.OFFER_SENT, S.FOLLOW_UP} == set(
            OPEN_WORK_STATUSES
        )
        assert set(TERMINAL_STATUSES) == {S.ORDER_PLACED, S.UNSUCCESSFUL}
        assert {
            S.CLAIMED,
            S.ASSIGNED,
            S.CONTACT_ATTEMPTED,
            S.FIRST_CONTACT,
            S.OFFER_SENT,
            S.FOLLOW_UP,
            S.ORDER_PLACED,
            S.UNSUCCESSFUL,
        } == set(HELD_STATUSES)
