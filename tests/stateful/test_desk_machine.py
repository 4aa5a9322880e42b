"""The LeadDesk state machine (qleads.testing.stateful) on the in-memory repository.

Hypothesis runs each machine as a ``unittest.TestCase`` (its ``.TestCase``). The main
machine gets three times the profile's examples: one example is a whole busy week, cheap
in memory, and ``ci`` then runs the 300 examples CI requires (``HYPOTHESIS_PROFILE``, see
``qleads.testing.profiles``). The machines that add rules to it (no escalation, claim
limits) get fewer: the main machine already drives the steps they share.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.model import Policy
from qleads.testing.profiles import examples
from qleads.testing.stateful import make_machine
from qleads.testing.stateful_limits import make_limited_machine

SETTINGS = settings(
    max_examples=examples(3),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestDeskKeepsEveryInvariant = make_machine(InMemoryLeadRepository).TestCase
TestDeskKeepsEveryInvariant.settings = SETTINGS
TestDeskKeepsEveryInvariant.__doc__ = """R2–R8, R11, R13: any sequence of intake, claims,
assignments, records, releases, reopening, clock advances and sweeps keeps the
invariants (escalation on)."""

TestDeskWithoutEscalationKeepsEveryInvariant = make_machine(
    InMemoryLeadRepository, policy=Policy()
).TestCase
TestDeskWithoutEscalationKeepsEveryInvariant.settings = settings(SETTINGS, max_examples=examples(1))
TestDeskWithoutEscalationKeepsEveryInvariant.__doc__ = """R5: with the manual's policy (no
escalation) a reminder is the last deadline."""

TestDeskKeepsTheClaimLimits = make_limited_machine(InMemoryLeadRepository).TestCase
# The limits machine adds rules to the main one, whose 300 examples cover the rest.
TestDeskKeepsTheClaimLimits.settings = settings(SETTINGS, max_examples=examples(1.5))
TestDeskKeepsTheClaimLimits.__doc__ = """Claim limits: a paused installer never gains a
claim; open claims, claims per day and the cool-down hold whatever the order of claims,
releases, expiries, sweeps and lifted pauses."""
