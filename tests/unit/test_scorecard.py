"""The partner scorecard's arithmetic: business hours on the calendar (R9), quantiles,
sorting by each column."""

from __future__ import annotations

import datetime as dt

import pytest

from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.model import EventKind, Policy, ReleaseReason
from qleads.scorecard import (
    COLUMNS,
    EventCount,
    Holding,
    Scorecard,
    business_hours,
    column_label,
    percentile,
    scorecard,
    sorted_cards,
)
from qleads.testing.world import SAXONY

_UTC = dt.UTC
_START = dt.datetime(2026, 11, 1, tzinfo=_UTC)
_END = dt.datetime(2026, 12, 1, tzinfo=_UTC)


class TestBusinessHours:
    def test_a_weekend_does_not_count(self) -> None:
        """Friday 16:00 to Monday 10:00 (CET) is 8 hours of Friday and 10 of Monday."""
        friday = dt.datetime(2026, 11, 13, 15, 0, tzinfo=_UTC)
        monday = dt.datetime(2026, 11, 16, 9, 0, tzinfo=_UTC)
        assert business_hours(SAXONY, friday, monday) == pytest.approx(18.0)

    def test_a_holiday_does_not_count(self) -> None:
        """Buß- und Bettag (Wednesday 18 Nov 2026) is no business day in Saxony."""
        tuesday = dt.datetime(2026, 11, 17, 11, 0, tzinfo=_UTC)
        thursday = dt.datetime(2026, 11, 19, 11, 0, tzinfo=_UTC)
        assert business_hours(SAXONY, tuesday, thursday) == pytest.approx(24.0)

    def test_the_weekend_of_the_clock_change_counts_friday_only(self) -> None:
        """Monday 30 March 2026 follows the switch; Friday 27 to Monday 30 00:00 local
        count Friday's 24 hours only."""
        friday = dt.datetime(2026, 3, 26, 23, 0, tzinfo=_UTC)
        monday = dt.datetime(2026, 3, 29, 22, 0, tzinfo=_UTC)
        assert business_hours(SAXONY, friday, monday) == pytest.approx(24.0)

    def test_backwards_is_zero(self) -> None:
        at = dt.datetime(2026, 11, 16, 9, 0, tzinfo=_UTC)
        assert business_hours(SAXONY, at, at - dt.timedelta(hours=1)) == 0.0


class TestPercentile:
    def test_median_and_p90_interpolate(self) -> None:
        assert percentile([2.0, 24.0], 0.5) == pytest.approx(13.0)
        assert percentile([2.0, 24.0], 0.9) == pytest.approx(21.8)
        assert percentile([5.0], 0.9) == 5.0
        assert percentile([], 0.5) is None


class TestScorecard:
    def test_counts_only_his_rows(self) -> None:
        counts = [
            EventCount("i-anna", EventKind.CLAIMED, Status.CLAIMED, None, 2),
            EventCount("i-anna", EventKind.RELEASED, Status.NEW, ReleaseReason.OTHER, 1),
            EventCount("i-anna", EventKind.RELEASED, Status.NEW, None, 1),
            EventCount("i-ben", EventKind.CLAIMED, Status.CLAIMED, None, 7),
        ]
        start = dt.datetime(2026, 11, 16, 8, 0, tzinfo=_UTC)
        holdings = [
            Holding("i-anna", 1, EventKind.CLAIMED, start, start + dt.timedelta(days=4)),
            Holding("i-ben", 2, EventKind.CLAIMED, start, start),
        ]
        card = scorecard(
            "i-anna", "Anna", SAXONY, Policy(), _START, _END,
            received=3, counts=counts, holdings=holdings,
        )  # fmt: skip
        assert card.claimed == 2
        assert card.releases == {"none": 1, "other": 1}
        assert card.released == 2
        # Monday 09:00 + 4 days is Friday 09:00: after the claim hold (Thursday 09:00).
        assert card.contacted_in_time == 0.0
        assert card.first_contact_median_hours == pytest.approx(72.0)


class TestSorting:
    def _cards(self) -> list[Scorecard]:
        return [
            Scorecard("b", "Ben", _START, _END, claimed=3, first_contact_median_hours=5.0),
            Scorecard("a", "Anna", _START, _END, claimed=3),
            Scorecard("c", "Carl", _START, _END, claimed=1, first_contact_median_hours=2.0),
        ]

    @pytest.mark.parametrize("column", COLUMNS)
    def test_every_column_sorts_and_has_a_label_in_both_languages(self, column: str) -> None:
        assert len(sorted_cards(self._cards(), column)) == 3
        assert column_label(column, "de") != column_label(column, "en") or column == "name"

    def test_descending_ties_by_id_and_missing_values_last(self) -> None:
        by_claims = sorted_cards(self._cards(), "claimed", descending=True)
        assert [c.installer_id for c in by_claims] == ["a", "b", "c"]
        by_contact = sorted_cards(self._cards(), "first_contact_median_hours")
        assert [c.installer_id for c in by_contact] == ["c", "b", "a"]
        by_contact = sorted_cards(self._cards(), "first_contact_median_hours", descending=True)
        assert [c.installer_id for c in by_contact] == ["b", "c", "a"]

    def test_an_unknown_column_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            sorted_cards(self._cards(), "id; drop table")
