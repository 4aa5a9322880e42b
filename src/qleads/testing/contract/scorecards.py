"""The partner scorecard on a repository: part of
:class:`~qleads.testing.contract.RepositoryContract`, so that memory, SQLite and
PostgreSQL count the same figures from the same history (``qleads.scorecard``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from qleads.errors import InvalidInput, NotPermitted
from qleads.lifecycle import Status
from qleads.model import ReleaseReason
from qleads.ports import LeadRepository
from qleads.testing.world import World

__all__ = ["ScorecardContract"]

_UTC = dt.UTC
#: The period of every scenario: November 2026 (the leads arrive on 2 November).
START = dt.datetime(2026, 11, 1, tzinfo=_UTC)
END = dt.datetime(2026, 12, 1, tzinfo=_UTC)


def _history(world: World) -> None:
    """Anna: two claims contacted after 2 and 24 business hours (an offer, an order),
    one assignment never worked, one claim released for lack of time. Ben: one claim
    he let expire."""
    desk = world.desk
    leads = [world.intake(f"card-{i}") for i in range(5)]
    desk.claim(world.anna, leads[0])
    desk.claim(world.ben, leads[4])
    world.advance(hours=2)
    desk.record(world.anna, leads[0], Status.CONTACT_ATTEMPTED)
    desk.claim(world.anna, leads[1])
    world.advance(hours=24)
    desk.record(world.anna, leads[1], Status.OFFER_SENT)
    desk.record(world.anna, leads[1], Status.ORDER_PLACED)
    desk.assign(world.rep_east, leads[2], world.anna)
    desk.claim(world.anna, leads[3])
    desk.release(world.anna, leads[3], reason=ReleaseReason.NO_TIME)
    world.clock.set(dt.datetime(2026, 11, 19, 9, 0, tzinfo=_UTC))
    assert desk.sweep().expired == 1


class ScorecardContract:
    """The scorecard's share of the repository contract."""

    class TestScorecard:
        def test_figures_come_from_the_history(self, repository: LeadRepository) -> None:
            """Received, claimed, assigned, first contact in business hours (median,
            p90), contacted within the first deadline, offers, orders, releases by
            reason, expiries."""
            world = World(repository)
            _history(world)
            cards = {c.installer_id: c for c in world.desk.scorecards(world.rep_east, START, END)}
            anna, ben = cards["i-anna"], cards["i-ben"]
            assert (anna.received, anna.claimed, anna.assigned) == (5, 3, 1)
            assert anna.contacted == 2
            assert anna.first_contact_median_hours == pytest.approx(13.0)
            assert anna.first_contact_p90_hours == pytest.approx(21.8)
            assert anna.contacted_in_time == pytest.approx(0.5)
            assert (anna.offers, anna.orders, anna.expiries) == (1, 1, 0)
            assert anna.conversion == pytest.approx(0.25)
            assert anna.releases == {"no_time": 1}
            assert (ben.claimed, ben.expiries, ben.contacted) == (1, 1, 0)
            assert ben.first_contact_median_hours is None
            assert ben.contacted_in_time == 0.0

        def test_each_sees_what_r12_lets_him(self, repository: LeadRepository) -> None:
            world = World(repository)
            _history(world)
            assert [c.installer_id for c in world.desk.scorecards(world.anna, START, END)] == [
                "i-anna"
            ]
            everyone = world.desk.scorecards(world.admin, START, END)
            assert [c.installer_id for c in everyone] == ["i-anna", "i-ben", "i-carl"]
            assert everyone[2].taken == 0
            south = world.desk.scorecards(world.admin, START, END, rep_id="r-south")
            assert [c.installer_id for c in south] == ["i-carl"]
            with pytest.raises(NotPermitted):
                world.desk.scorecards(world.rep_east, START, END, rep_id="r-south")
            with pytest.raises(NotPermitted):
                world.desk.scorecards(world.source, START, END)
            with pytest.raises(InvalidInput):
                world.desk.scorecards(world.admin, END, START)

        def test_the_period_is_half_open(self, repository: LeadRepository) -> None:
            """Events recorded before the period or at its end do not count."""
            world = World(repository)
            _history(world)
            later = dt.datetime(2026, 11, 17, 10, 0, tzinfo=_UTC)
            (anna,) = world.desk.scorecards(world.anna, START, later)
            assert (anna.claimed, anna.orders) == (2, 0)
            (anna,) = world.desk.scorecards(world.anna, later, END)
            assert (anna.claimed, anna.assigned, anna.orders, anna.received) == (1, 1, 1, 0)
