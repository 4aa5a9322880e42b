"""Routing explained in memory: the reasons only the in-memory directory makes easy to
set up (a deactivated installer, a paused one), and the words in both languages."""

from __future__ import annotations

import datetime as dt

import attrs

from qleads.adapters.memory import InMemoryDirectory, InMemoryLeadRepository
from qleads.explain import RoutingReason, explanation_lines
from qleads.limits import ClaimPause
from qleads.model import Policy
from qleads.testing.world import BEN, World


def _world(policy: Policy | None = None) -> tuple[World, InMemoryDirectory]:
    directory = InMemoryDirectory()
    return World(InMemoryLeadRepository(), directory=directory, policy=policy), directory


class TestReasons:
    def test_a_deactivated_installer_would_not_see_it(self) -> None:
        """R2, R10: an inactive account is told of nothing and sees nothing new."""
        world, directory = _world()
        directory.update_installer(attrs.evolve(BEN, active=False))
        explained = world.desk.explain_routing(world.admin, postal_code="04107")
        sides = {row.installer_id: row for row in explained.installers}
        assert sides["i-ben"].reason is RoutingReason.DEACTIVATED
        assert not sides["i-ben"].sees
        assert explained.notified == ("i-anna",)

    def test_a_paused_installer_sees_it_but_could_not_claim_until_the_pause_ends(self) -> None:
        world, _ = _world(Policy(pause_after_expiries=3))
        now = world.clock.now()
        until = now + dt.timedelta(days=2)
        with world.repository.unit_of_work(writing=True) as uow:
            uow.save_claim_pause(ClaimPause("i-anna", now, until))
            uow.commit()
        explained = world.desk.explain_routing(world.rep_east, postal_code="04107")
        anna = next(row for row in explained.installers if row.installer_id == "i-anna")
        assert (anna.reason, anna.until, anna.sees, anna.can_claim) == (
            RoutingReason.PAUSED,
            until,
            True,
            False,
        )
        german = "\n".join(explanation_lines(explained))
        assert "vom Reservieren pausiert (bis 18.11.2026 09:00)" in german
        english = "\n".join(explanation_lines(explained, "en"))
        assert "paused from claiming (until 2026-11-18 09:00)" in english

    def test_unrouted_in_both_languages(self) -> None:
        world, _ = _world()
        explained = world.desk.explain_routing(world.admin, postal_code="20095")
        assert "Kein Gebiet" in "\n".join(explanation_lines(explained))
        assert "No territory" in "\n".join(explanation_lines(explained, "en"))
