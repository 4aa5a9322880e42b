"""Test support shipped with qleads, for its own suites and for adapter authors: the
contract suites (``contract``), one world builder (``world``), the Hypothesis strategies
(``strategies``), the desk's state machine (``stateful``) and the Hypothesis profiles
they run under (``profiles``)."""
