"""Test support shipped with qleads: contract suite, strategies, state machine."""
