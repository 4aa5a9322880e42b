"""The LeadDesk state machine (qleads.testing.stateful) on the in-memory repository.

QLEADS_STATEFUL_EXAMPLES sets the number of examples (300 by default, as CI requires).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.model import Policy
from qleads.testing.stateful import make_machine

SETTINGS = settings(
    max_examples=int(os.environ.get("QLEADS_STATEFUL_EXAMPLES", "300")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_desk_keeps_every_invariant() -> None:
    """R2–R8, R11, R13: any sequence of intake, claims, assignments, records, releases,
    reopening, clock advances and sweeps keeps the invariants (escalation on)."""
    run_state_machine_as_test(make_machine(InMemoryLeadRepository), settings=SETTINGS)


def test_desk_keeps_every_invariant_without_escalation() -> None:
    """R5: with the manual's policy (no escalation) a reminder is the last deadline."""
    machine = make_machine(InMemoryLeadRepository, policy=Policy())
    run_state_machine_as_test(
        machine, settings=settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 3))
    )
