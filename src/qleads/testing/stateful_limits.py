"""The LeadDesk state machine with claim limits on (``qleads.limits``).

:class:`LimitedLeadDeskMachine` is :class:`~qleads.testing.stateful.LeadDeskMachine`
under a policy with every limit set as low as it goes, so that a few claims reach them:
one open claim, two claims a day, a cool-down of one business day, and a pause of one
business day after one expiry; claims are drawn twice as often as in the plain machine.
Before each claim it asks the desk why the claim would
be refused (:meth:`LeadDesk.claim_refusal`); a refused claim must raise exactly that
error and change nothing, any other claim goes on as in the plain machine. What makes
this a test and not a tautology are the invariants, which check every claim that
succeeded against the stored history and pauses alone:

* a paused installer never gains a claim;
* nobody holds more open claims than the limit;
* nobody claims more leads on one local day than the limit;
* nobody claims a lead within the cool-down after he released it or let it expire.

A rule lifts pauses now and then (his rep or an admin), so claims resume.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from qleads.errors import InvalidInput
from qleads.lifecycle import Status
from qleads.limits import day_start
from qleads.model import EventKind, Installer, Policy
from qleads.ports import LeadRepository
from qleads.testing.stateful import CAST, INSTALLERS, LeadDeskMachine
from qleads.testing.world import ADMIN

__all__ = ["LIMITS_POLICY", "LimitedLeadDeskMachine", "make_limited_machine"]

LIMITS_POLICY = Policy(
    escalation_days=1,
    max_open_claims=1,
    max_claims_per_day=2,
    reclaim_cooldown_days=1,
    pause_after_expiries=1,
    pause_window_days=30,
    pause_days=1,
)


class LimitedLeadDeskMachine(LeadDeskMachine):
    """See the module docstring."""

    policy = LIMITS_POLICY

    def __init__(self) -> None:
        super().__init__()
        #: Every claim that succeeded: (installer, lead, when), and whether a pause of
        #: his was active then (must never be).
        self.claims: list[tuple[str, int, dt.datetime]] = []
        self.claimed_while_paused: list[tuple[str, int]] = []

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), installer=st.sampled_from(INSTALLERS))
    def claim(self, data: st.DataObject, installer: Installer) -> None:
        territories = CAST.territory_ids_of(installer.rep_id)
        expected = self._draw_lead(
            data, lambda e: e.status is Status.NEW and e.territory_id in territories
        )
        lead_id = expected.lead_id
        if (
            expected.status is Status.NEW
            and expected.territory_id in territories
            and expected.holder_id is None
        ):
            # Only a lead of his pool meets the limits: one he holds, one held by
            # another or waiting in the rep's queue is refused before them.
            refusal = self.desk.claim_refusal(installer, lead_id)
            if refusal is not None:
                note(f"{installer.id} claims lead {lead_id}: refused ({refusal.code})")
                before = self._lead(lead_id)
                self._expect_error(
                    type(refusal), lambda: self.desk.claim(installer, lead_id), "limited claim"
                )
                assert self._lead(lead_id) == before, "a refused claim changed the lead"
                return
        pause = self.desk.claim_pause_of(ADMIN, installer.id)
        paused = pause is not None and pause.active(self.now)
        was_new = expected.status is Status.NEW
        self._claim(installer, expected)
        if was_new and expected.holder_id == installer.id:
            self.claims.append((installer.id, lead_id, self.now))
            if paused:
                self.claimed_while_paused.append((installer.id, lead_id))

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), installer=st.sampled_from(INSTALLERS))
    def claim_more(self, data: st.DataObject, installer: Installer) -> None:
        """The same as :meth:`claim`: a second rule, so that limits are reached."""
        self.claim(data, installer)

    @rule(installer=st.sampled_from(INSTALLERS), by_admin=st.booleans())
    def lift_pause(self, installer: Installer, by_admin: bool) -> None:
        """His rep or an admin lifts his pause; refused when he is not paused."""
        actor = ADMIN if by_admin else CAST.rep(installer.rep_id)
        pause = self.desk.claim_pause_of(ADMIN, installer.id)
        note(f"{actor.id} lifts the pause of {installer.id}: {pause}")
        if pause is None or not pause.active(self.now):
            self._expect_error(
                InvalidInput, lambda: self.desk.lift_claim_pause(actor, installer.id), "lift"
            )
            return
        lifted = self.desk.lift_claim_pause(actor, installer.id)
        assert lifted.lifted_at == self.now
        assert not lifted.active(self.now)

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def a_paused_installer_never_gains_a_claim(self) -> None:
        assert not self.claimed_while_paused, self.claimed_while_paused

    @invariant()
    def nobody_holds_more_open_claims_than_the_limit(self) -> None:
        limit = self.policy.max_open_claims
        assert limit is not None
        for installer in INSTALLERS:
            held = [
                e.lead_id
                for e in self.expected.values()
                if e.holder_id == installer.id and e.status is Status.CLAIMED
            ]
            assert len(held) <= limit, (installer.id, held)

    @invariant()
    def nobody_claims_more_in_a_day_than_the_limit(self) -> None:
        limit = self.policy.max_claims_per_day
        assert limit is not None
        for installer in INSTALLERS:
            mine = [at for who, _, at in self.claims if who == installer.id]
            for at in mine:
                start = day_start(installer.calendar, at)
                same_day = [t for t in mine if start <= t <= at]
                assert len(same_day) <= limit, (installer.id, at, same_day)

    @invariant()
    def nobody_reclaims_within_the_cooldown(self) -> None:
        days = self.policy.reclaim_cooldown_days
        assert days is not None
        for who, lead_id, at in self.claims:
            calendar = CAST.installer(who).calendar
            for event in self.desk.history(ADMIN, lead_id):
                if event.recorded_at >= at:
                    break
                if event.kind in (EventKind.RELEASED, EventKind.EXPIRED) and (
                    event.holder_id == who
                ):
                    free = calendar.add_business_days(event.recorded_at, days)
                    assert at >= free, (who, lead_id, at, event)


def make_limited_machine(
    repository_factory: Callable[[], LeadRepository],
    *,
    dispose: Callable[[LeadRepository], None] | None = None,
) -> type[LimitedLeadDeskMachine]:
    """A :class:`LimitedLeadDeskMachine` class on ``repository_factory()`` (as
    :func:`qleads.testing.stateful.make_machine`)."""

    class Machine(LimitedLeadDeskMachine):
        def make_repository(self) -> LeadRepository:
            return repository_factory()

        def dispose_repository(self, repository: LeadRepository) -> None:
            if dispose is not None:
                dispose(repository)

    Machine.__name__ = Machine.__qualname__ = "LimitedLeadDeskMachine"
    return Machine
