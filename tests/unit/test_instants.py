"""One UTC guard (R9, R13): every instant that enters qleads — a use case's argument, the
clock's reading, a calendar's start, an outbox message's dates — passes
:func:`qleads.instants.require_utc`, and a bad one is refused with ``InvalidInput``
naming the field it was given for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from qleads.adapters.clock import FrozenClock
from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.calendar import Calendar
from qleads.desk import LeadDesk
from qleads.errors import InvalidInput
from qleads.instants import require_utc
from qleads.lifecycle import Status
from qleads.mail import OutboxMessage, RenderedMail
from qleads.model import Admin

T0 = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC)
NAIVE = dt.datetime(2026, 11, 16, 8, 0)


class _NoOffset(dt.tzinfo):
    """A time zone that knows no offset: its datetimes are naive in all but name."""

    def utcoffset(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None

    def dst(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None


class TestRequireUtc:
    def test_an_instant_in_utc_comes_back_as_it_is(self) -> None:
        assert require_utc("at", T0) is T0

    def test_an_instant_in_another_offset_comes_back_as_the_same_instant_in_utc(self) -> None:
        berlin = T0.astimezone(dt.timezone(dt.timedelta(hours=1)))
        back = require_utc("at", berlin)
        assert back == T0
        assert back.tzinfo is dt.UTC

    @pytest.mark.parametrize(
        "value", [NAIVE, NAIVE.replace(tzinfo=_NoOffset())], ids=["naive", "no offset"]
    )
    def test_a_datetime_without_an_offset_is_refused_naming_the_field(
        self, value: dt.datetime
    ) -> None:
        """R9: a naive datetime names no instant; nothing is guessed."""
        with pytest.raises(InvalidInput, match="timezone-aware") as caught:
            require_utc("due_at", value)
        assert caught.value.field == "due_at"
        assert isinstance(caught.value, ValueError)

    @pytest.mark.parametrize("value", [dt.date(2026, 11, 16), "2026-11-16T08:00:00Z", 0])
    def test_what_is_no_datetime_is_refused_naming_the_field(self, value: object) -> None:
        with pytest.raises(InvalidInput, match="needs a datetime") as caught:
            require_utc("effective_at", value)  # type: ignore[arg-type]
        assert caught.value.field == "effective_at"


class _NaiveClock:
    def now(self) -> dt.datetime:
        return NAIVE


def _desk(clock: object = None) -> LeadDesk:
    return LeadDesk(
        InMemoryLeadRepository(),
        InMemoryDirectory(),
        FrozenClock(T0) if clock is None else clock,  # type: ignore[arg-type]
    )


ADMIN = Admin("admin", "Root")
ENTRIES: dict[str, tuple[str, Callable[[], object]]] = {
    "FrozenClock()": ("now", lambda: FrozenClock(NAIVE)),
    "FrozenClock.set": ("now", lambda: FrozenClock(T0).set(NAIVE)),
    "Calendar.add_business_days": ("instant", lambda: Calendar().add_business_days(NAIVE, 1)),
    "LeadDesk.sweep": ("now", lambda: _desk().sweep(NAIVE)),
    "LeadDesk.record effective_at": (
        "effective_at",
        lambda: _desk().record(ADMIN, 1, Status.FIRST_CONTACT, effective_at=NAIVE),
    ),
    "LeadDesk.record due_at": (
        "due_at",
        lambda: _desk().record(ADMIN, 1, Status.FOLLOW_UP, due_at=NAIVE),
    ),
    "a clock that answers a naive time": ("clock.now()", lambda: _desk(_NaiveClock()).sweep()),
    "OutboxMessage.created_at": (
        "created_at",
        lambda: OutboxMessage("m-1", "a@example.org", RenderedMail("Hi", "Text"), NAIVE),
    ),
    "OutboxMessage.expires_at": (
        "expires_at",
        lambda: OutboxMessage(
            "m-1", "a@example.org", RenderedMail("Hi", "Text"), T0, expires_at=NAIVE
        ),
    ),
}


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_every_entry_refuses_a_naive_instant_naming_its_field(entry: str) -> None:
    """R9: wherever an instant enters, the same guard refuses a naive one, and the error
    says which argument it was."""
    field, enter = ENTRIES[entry]
    with pytest.raises(InvalidInput, match="timezone-aware") as caught:
        enter()
    assert caught.value.field == field
