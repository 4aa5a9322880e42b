"""The LeadDesk state machine with a policy of its own: an escalation ladder with every
action, decline reasons that send leads to the rep after two releases, and duplicate
detection (qleads.testing.stateful_policy.POLICY_WITH_A_LADDER), in memory."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from qleads.adapters.memory import InMemoryLeadRepository
from qleads.testing.profiles import examples
from qleads.testing.stateful import make_machine
from qleads.testing.stateful_policy import POLICY_WITH_A_LADDER

TestDeskWithALadderKeepsEveryInvariant = make_machine(
    InMemoryLeadRepository, policy=POLICY_WITH_A_LADDER
).TestCase
TestDeskWithALadderKeepsEveryInvariant.settings = settings(
    max_examples=examples(1),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDeskWithALadderKeepsEveryInvariant.__doc__ = """Each ladder step fires at most once and
as the ladder says (business hours and days on the holder's calendar); decline reasons
take effect; a lead in the rep's queue waits for him; an installer never claims a lead he
declined; a duplicate is never distributed."""
