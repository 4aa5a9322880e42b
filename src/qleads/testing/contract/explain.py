"""Routing explained on a repository: part of
:class:`~qleads.testing.contract.RepositoryContract`, so that every adapter answers what
a lead would do from the same stored claims, pauses and overrides — and stores nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from qleads.errors import InvalidDocument, InvalidInput, NotPermitted
from qleads.explain import RoutingReason, explanation_lines
from qleads.model import Policy
from qleads.ports import LeadRepository
from qleads.tabs import Tab
from qleads.testing.world import LEIPZIG, World, lead_document

__all__ = ["RoutingExplainedContract"]

_UTC = dt.UTC


class RoutingExplainedContract:
    """The routing explanation's share of the repository contract."""

    class TestRoutingExplained:
        def test_postal_code_names_territory_rep_installers_and_dates(
            self, repository: LeadRepository
        ) -> None:
            """R1/R2/R3/R5/R9: 04107 goes to Leipzig and its rep; Anna and Ben would see
            and could claim it, Carl works in another territory; the dates are each one's
            deadlines on his calendar (Wednesday 18 Nov is a holiday in Saxony)."""
            world = World(repository, policy=Policy(escalation_days=1))
            explained = world.desk.explain_routing(world.admin, postal_code="04107")
            assert explained.territory is not None
            assert explained.territory.id == LEIPZIG.id
            assert explained.rep is not None
            assert explained.rep.id == world.rep_east.id
            sides = {row.installer_id: row for row in explained.installers}
            assert sides["i-anna"].can_claim
            assert sides["i-ben"].can_claim
            assert sides["i-carl"].reason is RoutingReason.OTHER_TERRITORY
            assert not sides["i-carl"].sees
            thursday = dt.datetime(2026, 11, 19, 8, 0, tzinfo=_UTC)
            assert sides["i-anna"].hold_until == thursday
            assert sides["i-anna"].reminder_at == thursday
            assert sides["i-anna"].escalation_at == dt.datetime(2026, 11, 20, 8, 0, tzinfo=_UTC)
            assert explained.notified == ("i-anna", "i-ben")
            assert world.desk.tab(world.admin, Tab.ALL).total == 0
            assert list(world.notifications()) == []

        def test_limits_and_overrides_show_who_could_not_claim_and_until_when(
            self, repository: LeadRepository
        ) -> None:
            """An installer at his open-claims limit would see the lead but could not
            claim it, until his hold runs out; the territory's override is named."""
            world = World(repository)
            world.desk.set_territory_policy(world.admin, LEIPZIG.id, {"max_open_claims": 1})
            held = world.desk.claim(world.anna, world.intake("explain-1")).lead.hold_until
            explained = world.desk.explain_routing(world.rep_east, postal_code="04109")
            sides = {row.installer_id: row for row in explained.installers}
            assert sides["i-anna"].reason is RoutingReason.AT_CAPACITY
            assert sides["i-anna"].sees
            assert sides["i-anna"].until == held
            assert sides["i-ben"].can_claim
            assert "i-carl" not in sides  # another rep's installer: not the rep's business
            assert explained.overrides == {"max_open_claims": 1}
            assert explained.policy.max_open_claims == 1
            text = "\n".join(explanation_lines(explained, "en"))
            assert "Höchstzahl" not in text
            assert "open claims" in text

        def test_a_whole_document_and_an_unrouted_code(self, repository: LeadRepository) -> None:
            """A whole document is validated as intake validates it (R1); a code no
            territory covers stays unrouted and no installer would see it."""
            world = World(repository)
            munich = world.desk.explain_routing(world.admin, lead_document("x-1", "80331"))
            assert munich.territory is not None
            assert munich.territory.id == "t-munich"
            assert munich.notified == ("i-carl",)
            nowhere = world.desk.explain_routing(world.admin, postal_code="12345")
            assert nowhere.territory is None
            assert nowhere.notified == ()
            with pytest.raises(InvalidDocument):
                world.desk.explain_routing(world.admin, {"source_id": "x"})
            with pytest.raises(InvalidInput):
                world.desk.explain_routing(world.admin, postal_code="04107'; --")
            with pytest.raises(NotPermitted):
                world.desk.explain_routing(world.anna, postal_code="04107")
