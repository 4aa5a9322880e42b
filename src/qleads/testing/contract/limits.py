"""Claim limits and per-territory policy overrides on a repository: part of
:class:`~qleads.testing.contract.RepositoryContract`, so that memory, SQLite and
PostgreSQL count an installer's claims, expiries and pauses alike (``qleads.limits``)
and keep the territories' overrides (``qleads.policies``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from qleads.errors import (
    ClaimCooldown,
    ClaimingPaused,
    ClaimLimitReached,
    DailyClaimLimitReached,
    InvalidInput,
    NotPermitted,
)
from qleads.lifecycle import Status
from qleads.model import NotificationKind, Policy
from qleads.ports import LeadRepository
from qleads.testing.world import LEIPZIG, World

__all__ = ["ClaimLimitsContract"]

_UTC = dt.UTC


def _leads(world: World, n: int, postal_code: str = "04107") -> list[int]:
    return [world.intake(f"limits-{i}", postal_code) for i in range(n)]


class ClaimLimitsContract:
    """The claim limits' share of the repository contract (``repository`` fixture)."""

    class TestClaimLimits:
        def test_open_claims_limit_refuses_until_the_first_hold_runs_out(
            self, repository: LeadRepository
        ) -> None:
            """A claim beyond ``max_open_claims`` is refused with the earliest hold of
            his claims as the date, and stores nothing."""
            world = World(repository, policy=Policy(max_open_claims=1))
            first, second = _leads(world, 2)
            held = world.desk.claim(world.anna, first).lead.hold_until
            with pytest.raises(ClaimLimitReached) as refused:
                world.desk.claim(world.anna, second)
            assert refused.value.until == held
            assert refused.value.code == "claim_limit_open"
            assert world.desk.get(world.admin, second).lead.status is Status.NEW
            assert len(world.desk.history(world.admin, second)) == 1
            # Another installer is not limited by Anna's claims; a recorded status frees one.
            world.desk.claim(world.ben, second)
            world.desk.record(world.anna, first, Status.CONTACT_ATTEMPTED)
            third = world.intake("limits-third")
            assert world.desk.claim(world.anna, third).lead.holder_id == world.anna.id

        def test_daily_limit_counts_his_business_day(self, repository: LeadRepository) -> None:
            """At most ``max_claims_per_day`` claims from 00:00 of his local day; the
            refusal names 00:00 of his next business day."""
            world = World(repository, policy=Policy(max_claims_per_day=2))
            a, b, c = _leads(world, 3)
            world.desk.claim(world.anna, a)
            world.desk.release(world.anna, a)
            world.desk.claim(world.anna, b)
            with pytest.raises(DailyClaimLimitReached) as refused:
                world.desk.claim(world.anna, c)
            # Monday 16 Nov 2026 in Leipzig: Tuesday 00:00 CET is Monday 23:00 UTC.
            assert refused.value.until == dt.datetime(2026, 11, 16, 23, 0, tzinfo=_UTC)
            world.clock.set(dt.datetime(2026, 11, 16, 23, 0, tzinfo=_UTC))
            assert world.desk.claim(world.anna, c).lead.holder_id == world.anna.id

        def test_cooldown_after_a_release_is_his_alone(self, repository: LeadRepository) -> None:
            """A lead he released is his to claim again only ``reclaim_cooldown_days``
            business days later (Wednesday 18 Nov is a holiday in Saxony); others may
            claim it at once."""
            world = World(repository, policy=Policy(reclaim_cooldown_days=1))
            (lead,) = _leads(world, 1)
            world.desk.claim(world.anna, lead)
            world.advance(days=1)  # Tuesday 09:00
            world.desk.release(world.anna, lead)
            with pytest.raises(ClaimCooldown) as refused:
                world.desk.claim(world.anna, lead)
            # Tuesday 09:00 + 1 business day, skipping Buß- und Bettag: Thursday 09:00 CET.
            assert refused.value.until == dt.datetime(2026, 11, 19, 8, 0, tzinfo=_UTC)
            refusal = world.desk.claim_refusal(world.anna, lead)
            assert isinstance(refusal, ClaimCooldown)
            assert refusal.until == refused.value.until
            world.desk.claim(world.ben, lead)
            world.desk.release(world.ben, lead)
            world.clock.set(dt.datetime(2026, 11, 19, 8, 0, tzinfo=_UTC))
            assert world.desk.claim(world.anna, lead).lead.holder_id == world.anna.id

        def test_cooldown_after_an_expiry(self, repository: LeadRepository) -> None:
            """A claim he let expire (R4) starts the cool-down too, from the sweep."""
            world = World(repository, policy=Policy(reclaim_cooldown_days=2))
            (lead,) = _leads(world, 1)
            held = world.desk.claim(world.anna, lead).lead.hold_until
            assert held is not None
            world.clock.set(held)
            assert world.desk.sweep().expired == 1
            refusal = world.desk.claim_refusal(world.anna, lead)
            assert isinstance(refusal, ClaimCooldown)
            assert refusal.until is not None
            assert refusal.until > held
            assert world.desk.claim_refusal(world.ben, lead) is None

        def test_expiries_pause_him_tell_his_rep_and_the_rep_lifts_it(
            self, repository: LeadRepository
        ) -> None:
            """After ``pause_after_expiries`` expiries within the window he is paused
            for ``pause_days`` business days; his rep gets one notice; the rep (not
            another rep) lifts it; the expiries that paused him do not pause him again."""
            policy = Policy(pause_after_expiries=2, pause_window_days=30, pause_days=3)
            world = World(repository, policy=policy)
            a, b, c = _leads(world, 3)
            world.desk.claim(world.anna, a)
            world.advance(hours=1)
            world.desk.claim(world.anna, b)
            world.clock.set(dt.datetime(2026, 11, 23, 12, 0, tzinfo=_UTC))
            assert world.desk.sweep().expired == 2
            paused = world.notices(NotificationKind.CLAIMING_PAUSED)
            assert [(kind, recipient) for kind, _, recipient in paused] == [
                ("claiming_paused", "r-east")
            ]
            with pytest.raises(ClaimingPaused) as refused:
                world.desk.claim(world.anna, c)
            # Monday 23 Nov 13:00 CET + 3 business days: Thursday 26 Nov 13:00 CET.
            assert refused.value.until == dt.datetime(2026, 11, 26, 12, 0, tzinfo=_UTC)
            assert world.desk.claim_allowance(world.anna).left == 0
            pause = world.desk.claim_pause_of(world.anna, world.anna.id)
            assert pause is not None
            assert pause.active(world.clock.now())
            with pytest.raises(NotPermitted):
                world.desk.lift_claim_pause(world.rep_south, world.anna.id)
            with pytest.raises(NotPermitted):
                world.desk.lift_claim_pause(world.anna, world.anna.id)
            lifted = world.desk.lift_claim_pause(world.rep_east, world.anna.id)
            assert lifted.lifted_by == world.rep_east.id
            with pytest.raises(InvalidInput):
                world.desk.lift_claim_pause(world.rep_east, world.anna.id)
            assert world.desk.claim(world.anna, c).lead.holder_id == world.anna.id
            assert world.desk.sweep().total == 0
            assert len(world.notices(NotificationKind.CLAIMING_PAUSED)) == 1

        def test_an_expiry_fired_by_an_assignment_pauses_too(
            self, repository: LeadRepository
        ) -> None:
            """A rep assigning a lead whose claim ran out fires the expiry first (R4, R5);
            that expiry counts towards a pause like one the sweep fires."""
            world = World(repository, policy=Policy(pause_after_expiries=1, pause_days=1))
            first, second = _leads(world, 2)
            held = world.desk.claim(world.anna, first).lead.hold_until
            assert held is not None
            world.clock.set(held)
            world.desk.assign(world.rep_east, first, world.ben)
            assert world.notices(NotificationKind.CLAIMING_PAUSED) == [
                ("claiming_paused", first, "r-east")
            ]
            with pytest.raises(ClaimingPaused):
                world.desk.claim(world.anna, second)

        def test_allowance_counts_what_is_left(self, repository: LeadRepository) -> None:
            """ "noch N Reservierungen frei": the smaller of what the open and the daily
            limits leave."""
            world = World(repository, policy=Policy(max_open_claims=3, max_claims_per_day=2))
            assert world.desk.claim_allowance(world.anna).left == 2
            (lead,) = _leads(world, 1)
            world.desk.claim(world.anna, lead)
            allowance = world.desk.claim_allowance(world.anna)
            assert (allowance.open_left, allowance.today_left, allowance.left) == (2, 1, 1)
            assert World(repository).desk.claim_allowance(world.ben).left is None

    class TestTerritoryPolicies:
        def test_an_override_holds_for_its_territory_only_and_is_stored(
            self, repository: LeadRepository
        ) -> None:
            """A territory's override is merged over the global policy for its leads;
            a desk made afterwards on the same storage reads it."""
            world = World(repository)
            stored = world.desk.set_territory_policy(
                world.admin, LEIPZIG.id, {"claim_hold_days": 4, "max_open_claims": 1}
            )
            assert stored == {"claim_hold_days": 4, "max_open_claims": 1}
            leipzig = world.intake("policy-1", "04107")
            dresden = world.intake("policy-2", "01067")
            # Monday 09:00 + 4 business days in Saxony (Wednesday a holiday): Mon 23 Nov.
            held = world.desk.claim(world.anna, leipzig).lead.hold_until
            assert held == dt.datetime(2026, 11, 23, 8, 0, tzinfo=_UTC)
            assert world.desk.claim(world.anna, dresden).lead.hold_until == dt.datetime(
                2026, 11, 19, 8, 0, tzinfo=_UTC
            )
            fresh = World(repository, enrol=False, directory=world.directory)
            assert fresh.desk.policy_for(LEIPZIG.id).claim_hold_days == 4
            assert fresh.desk.policy_for("t-dresden").claim_hold_days == 2
            assert fresh.desk.territory_policy(fresh.admin, LEIPZIG.id) == stored
            world.desk.set_territory_policy(world.admin, LEIPZIG.id, {})
            fresh.desk.reload_territory_policies()
            assert fresh.desk.policy_for(LEIPZIG.id) == Policy()

        def test_bad_overrides_are_refused_and_nothing_is_stored(
            self, repository: LeadRepository
        ) -> None:
            world = World(repository)
            for settings, field in (
                ({"claim_hold_days": 0}, "claim_hold_days"),
                ({"no_such_setting": 1}, "no_such_setting"),
                ({"contact_before_claim": "sometimes"}, "contact_before_claim"),
            ):
                with pytest.raises(InvalidInput) as refused:
                    world.desk.set_territory_policy(world.admin, LEIPZIG.id, settings)
                assert refused.value.field == field
            with pytest.raises(InvalidInput):
                world.desk.set_territory_policy(world.admin, "t-nowhere", {"claim_hold_days": 3})
            with pytest.raises(NotPermitted):
                world.desk.set_territory_policy(world.rep_east, LEIPZIG.id, {"claim_hold_days": 3})
            world.desk.reload_territory_policies()
            assert world.desk.territory_policies_of(world.admin) == {}
