"""The escalation ladder as data (qleads.ladder, qleads.escalation): business hours on a
person's calendar, the ladder's rules, and the proof that the default ladder is exactly
the deadlines of earlier versions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qleads.calendar import Calendar
from qleads.errors import InvalidCalendar, InvalidInput
from qleads.escalation import (
    deadline_code,
    effective_ladder,
    first_deadline,
    hold_until,
    next_deadline,
    parse_deadline_code,
    step_index,
)
from qleads.ladder import MAX_STEPS, Ladder, LadderAction, Situation, Step, Unit, situation_of
from qleads.lifecycle import Status
from qleads.model import Deadline, DeadlineKind, EventKind, NotificationKind, Policy
from qleads.testing.world import World, make_document

BERLIN = ZoneInfo("Europe/Berlin")
SAXONY = Calendar("DE", "SN")
BAVARIA = Calendar("DE", "BY")
A = LadderAction


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(dt.UTC)  # type: ignore[misc]


class TestBusinessHours:
    @pytest.mark.parametrize(
        ("start", "hours", "calendar", "result"),
        [
            # Friday 16:00 + 4 business hours: two on Friday, two on Monday.
            (berlin(2026, 11, 13, 16), 4, SAXONY, berlin(2026, 11, 16, 10)),
            # Tuesday 16:00 + 4: Wednesday is Buß- und Bettag in Saxony, not in Bavaria.
            (berlin(2026, 11, 17, 16), 4, SAXONY, berlin(2026, 11, 19, 10)),
            (berlin(2026, 11, 17, 16), 4, BAVARIA, berlin(2026, 11, 18, 10)),
            # Before opening: counting starts at 08:00.
            (berlin(2026, 11, 16, 6, 30), 3, SAXONY, berlin(2026, 11, 16, 11)),
            # After closing and on a Saturday: the next business day's opening.
            (berlin(2026, 11, 16, 19), 1, SAXONY, berlin(2026, 11, 17, 9)),
            (berlin(2026, 11, 14, 11), 10, SAXONY, berlin(2026, 11, 16, 18)),
            # A whole working day and a bit: Friday 17:00 + 12 → Tuesday 09:00.
            (berlin(2026, 11, 13, 17), 12, SAXONY, berlin(2026, 11, 17, 9)),
            # Good Friday and Easter Monday count no hours.
            (berlin(2026, 4, 2, 17), 2, SAXONY, berlin(2026, 4, 7, 9)),
            # Across the change to summer time (Sunday 29 March 2026).
            (berlin(2026, 3, 27, 17), 2, SAXONY, berlin(2026, 3, 30, 9)),
        ],
    )
    def test_worked_examples(
        self, start: dt.datetime, hours: int, calendar: Calendar, result: dt.datetime
    ) -> None:
        assert calendar.add_business_hours(start, hours) == result

    def test_zero_hours_is_the_instant_itself(self) -> None:
        saturday = berlin(2026, 11, 14, 11)
        assert SAXONY.add_business_hours(saturday, 0) == saturday

    def test_working_hours_are_part_of_the_calendar(self) -> None:
        early = Calendar("DE", "SN", work_start=dt.time(7), work_end=dt.time(12, 30))
        assert early.add_business_hours(berlin(2026, 11, 13, 11), 3) == berlin(2026, 11, 16, 8, 30)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"work_start": dt.time(18), "work_end": dt.time(8)}, "work_end"),
            ({"work_start": dt.time(9), "work_end": dt.time(9)}, "work_end"),
            ({"work_end": "18:00"}, "work_end"),
        ],
    )
    def test_bad_working_hours_are_refused(self, changes: dict[str, object], field: str) -> None:
        with pytest.raises(InvalidCalendar) as raised:
            Calendar("DE", "SN", **changes)  # type: ignore[arg-type]
        assert raised.value.to_dict()["code"] == "invalid_calendar"
        assert field in str(raised.value)

    def test_negative_hours_and_naive_instants_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="n"):
            SAXONY.add_business_hours(berlin(2026, 11, 16, 9), -1)
        with pytest.raises(InvalidInput):
            SAXONY.add_business_hours(dt.datetime(2026, 11, 16, 9), 1)

    @given(
        start=st.datetimes(
            min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 1)
        ).map(lambda d: d.replace(tzinfo=dt.UTC)),
        hours=st.integers(min_value=1, max_value=60),
    )
    def test_the_result_lies_in_working_hours_of_a_business_day(
        self, start: dt.datetime, hours: int
    ) -> None:
        result = SAXONY.add_business_hours(start, hours).astimezone(BERLIN)
        assert SAXONY.is_business_day(result.date())
        assert dt.time(8) < result.time() <= dt.time(18)
        assert result > start


class TestTheLadder:
    def test_a_step_that_ends_the_situation_must_be_last(self) -> None:
        with pytest.raises(InvalidInput, match="assigned") as raised:
            Ladder(
                assigned=(
                    Step.days(1, A.REASSIGN_TO_REP),
                    Step.days(1, A.NOTIFY_REP),
                )
            )
        assert "last step" in str(raised.value)

    def test_too_many_steps_and_bad_delays_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="claimed"):
            Ladder(claimed=tuple(Step.hours(1, A.REMIND_HOLDER) for _ in range(MAX_STEPS + 1)))
        for after in (-1, 1001, True, 1.5):
            with pytest.raises(InvalidInput, match="after"):
                Step(after, Unit.BUSINESS_DAYS, A.REMIND_HOLDER)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="offer_sent"):
            Ladder(offer_sent=[Step.days(1, A.REMIND_HOLDER)])  # type: ignore[arg-type]

    def test_situations_follow_the_status(self) -> None:
        assert {s: situation_of(s) for s in Status if situation_of(s)} == {
            Status.CLAIMED: Situation.CLAIMED,
            Status.ASSIGNED: Situation.ASSIGNED,
            Status.FOLLOW_UP: Situation.FOLLOW_UP,
            Status.OFFER_SENT: Situation.OFFER_SENT,
        }

    def test_labels_read_in_both_languages(self) -> None:
        for member in (*Situation, *LadderAction, *Unit):
            assert member.label() != member.label("en") != ""
        assert A.REMIND_HOLDER.label() == "Bearbeiter erinnern"

    def test_a_deadlines_place_is_stored_only_where_it_is_not_the_default(self) -> None:
        at = berlin(2026, 11, 16, 9)
        assert deadline_code(Deadline(DeadlineKind.ESCALATION, at)) == "escalation"
        assert deadline_code(Deadline(DeadlineKind.HOLDER_REMINDER, at, 2)) == "holder_reminder@2"
        for code in ("escalation", "holder_reminder@2", "claim_expiry@1"):
            kind, step = parse_deadline_code(code)
            assert deadline_code(Deadline(kind, at, step)) == code
        assert step_index(Deadline(DeadlineKind.ESCALATION, at)) == 1
        assert step_index(Deadline(DeadlineKind.ASSIGNMENT_REMINDER, at)) == 0


policies = st.builds(
    Policy,
    claim_hold_days=st.integers(1, 10),
    assignment_reminder_days=st.integers(1, 10),
    escalation_days=st.none() | st.integers(0, 10),
)
calendars = st.sampled_from(
    [SAXONY, BAVARIA, Calendar("DE", "SN", workdays=frozenset(range(6))), Calendar("AT")]
)
instants = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 1)).map(
    lambda d: d.replace(tzinfo=dt.UTC)
)


class TestTheDefaultLadderIsTheRulesOfBefore:
    """The ladder a policy without one describes gives every deadline exactly as the
    claim hold (R4), the assignment reminder and escalation (R5) and the follow-up
    reminder (R6) were computed before the ladder existed."""

    @given(policy=policies, calendar=calendars, start=instants)
    def test_the_claim_hold(self, policy: Policy, calendar: Calendar, start: dt.datetime) -> None:
        ladder = effective_ladder(policy)
        hold = calendar.add_business_days(start, policy.claim_hold_days)
        assert first_deadline(ladder, Status.CLAIMED, calendar, start) == Deadline(
            DeadlineKind.CLAIM_EXPIRY, hold
        )
        assert hold_until(ladder, calendar, start) == hold

    @given(policy=policies, calendar=calendars, start=instants)
    def test_the_assignment_reminder_and_escalation(
        self, policy: Policy, calendar: Calendar, start: dt.datetime
    ) -> None:
        ladder = effective_ladder(policy)
        remind_at = calendar.add_business_days(start, policy.assignment_reminder_days)
        reminder = first_deadline(ladder, Status.ASSIGNED, calendar, start)
        assert reminder == Deadline(DeadlineKind.ASSIGNMENT_REMINDER, remind_at)
        escalation = next_deadline(ladder, Status.ASSIGNED, calendar, reminder)
        if policy.escalation_days is None:
            assert escalation is None
        else:
            escalate_at = calendar.add_business_days(remind_at, policy.escalation_days)
            assert escalation == Deadline(DeadlineKind.ESCALATION, escalate_at)
            assert next_deadline(ladder, Status.ASSIGNED, calendar, escalation) is None

    @given(policy=policies, calendar=calendars, due=instants)
    def test_the_follow_up_and_the_offer(
        self, policy: Policy, calendar: Calendar, due: dt.datetime
    ) -> None:
        ladder = effective_ladder(policy)
        reminder = first_deadline(ladder, Status.FOLLOW_UP, calendar, due)
        assert reminder == Deadline(DeadlineKind.FOLLOW_UP_DUE, due)
        assert next_deadline(ladder, Status.FOLLOW_UP, calendar, reminder) is None
        assert first_deadline(ladder, Status.OFFER_SENT, calendar, due) is None
        for status in (Status.NEW, Status.CONTACT_ATTEMPTED, Status.ORDER_PLACED):
            assert first_deadline(ladder, status, calendar, due) is None

    def test_the_default_ladder_written_out_behaves_the_same(self) -> None:
        """A policy that names the default ladder explicitly stores, writes and mails
        exactly what the policy without one does."""
        runs = []
        for policy in (
            Policy(escalation_days=1),
            Policy(escalation_days=1, ladder=effective_ladder(Policy(escalation_days=1))),
        ):
            world = World(policy=policy)
            desk = world.desk
            claimed = world.intake("eq-1")
            assigned = world.intake("eq-2")
            followed = world.intake("eq-3")
            desk.claim(world.anna, claimed)
            desk.assign(world.rep_east, assigned, world.ben)
            desk.claim(world.anna, followed)
            desk.record(
                world.anna, followed, Status.FOLLOW_UP, due_at=world.clock.now() + dt.timedelta(1)
            )
            reports = []
            for _ in range(8):
                world.advance(hours=13)
                reports.append(desk.sweep())
            leads = [desk.get(world.admin, i).lead for i in (claimed, assigned, followed)]
            history = [
                [attrs.astuple(e) for e in desk.history(world.admin, i)]
                for i in (claimed, assigned, followed)
            ]
            runs.append((reports, leads, history, world.notices()))
        assert runs[0] == runs[1]
        reports = runs[0][0]
        assert sum(r.expired for r in reports) == 1
        assert sum(r.reminded for r in reports) == 1
        assert sum(r.escalated for r in reports) == 1
        assert sum(r.follow_ups_due for r in reports) == 1


class TestLadderSteps:
    def test_each_action_does_what_it_says_once(self) -> None:
        """Remind, notify the rep, release to the territory: each fires once, in order,
        with its event and its mail."""
        ladder = Ladder(
            offer_sent=(
                Step.days(2, A.REMIND_HOLDER),
                Step.hours(4, A.NOTIFY_REP),
                Step.days(1, A.RELEASE_TO_TERRITORY),
            )
        )
        world = World(policy=Policy(ladder=ladder))
        desk = world.desk
        lead_id = world.intake("offer")
        desk.claim(world.anna, lead_id)
        desk.record(world.anna, lead_id, Status.OFFER_SENT)
        # Monday 09:00 + 2 business days (Wednesday is Buß- und Bettag) + 4 hours + 1 day.
        for _ in range(20):
            world.advance(hours=7)
            desk.sweep()
            assert desk.sweep().total == 0
        kinds = [e.kind for e in desk.history(world.admin, lead_id)]
        assert kinds[-3:] == [EventKind.REMINDED, EventKind.ESCALATED, EventKind.WITHDRAWN]
        assert kinds.count(EventKind.REMINDED) == 1
        lead = desk.get(world.admin, lead_id).lead
        assert (lead.status, lead.holder_id, lead.deadline) == (Status.NEW, None, None)
        mails = {(kind, who) for kind, lead, who in world.notices() if lead == lead_id}
        assert ("holder_reminder", "i-anna") in mails
        assert ("escalation", "r-east") in mails
        assert ("withdrawn", "i-anna") in mails
        assert ("new_lead", "i-ben") in mails
        assert NotificationKind.WITHDRAWN.value == "withdrawn"

    def test_marking_unserviceable_sends_the_lead_to_the_rep(self) -> None:
        ladder = Ladder(assigned=(Step.hours(8, A.MARK_UNSERVICEABLE),))
        world = World(policy=Policy(ladder=ladder))
        lead_id = world.intake("unserviceable")
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.advance(days=2)
        assert world.desk.sweep().unserviceable == 1
        lead = world.desk.get(world.rep_east, lead_id).lead
        assert lead.holder_id == "@r-east"
        assert world.desk.history(world.admin, lead_id)[-1].kind is EventKind.UNSERVICEABLE
        assert ("rep_queue", lead_id, "r-east") in world.notices()

    def test_a_record_after_a_step_took_the_lead_is_refused(self) -> None:
        ladder = Ladder(assigned=(Step.days(1, A.RELEASE_TO_TERRITORY),))
        world = World(policy=Policy(ladder=ladder))
        lead_id = world.intake("late")
        world.desk.assign(world.rep_east, lead_id, world.anna)
        world.advance(days=3)
        with pytest.raises(Exception, match="cannot record"):
            world.desk.record(world.anna, lead_id, Status.CONTACT_ATTEMPTED)
        assert world.desk.get(world.admin, lead_id).lead.status is Status.ASSIGNED


def test_make_document_is_the_manual_example() -> None:
    assert make_document("x").contact.email == "erika@example.org"
