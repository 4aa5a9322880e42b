"""The Hypothesis profiles the suites run under: how many examples a property gets.

Three profiles, chosen with ``HYPOTHESIS_PROFILE`` or pytest's ``--hypothesis-profile``:

``dev``
    a quick inner loop while writing code (a tenth of ``ci``);
``ci``
    what CI and a plain ``tox`` run, the default;
``thorough``
    ten times ``ci``: before a release, after a change to a rule or an adapter's SQL,
    or to hunt a failure that shows once in a while.

A property whose examples cost about what an ordinary one does takes the profile's
``max_examples`` as it is. One whose examples are much dearer (each a round of database
units of work) or much cheaper (pure arithmetic, where more examples are nearly free)
says so with :func:`examples`, as a share of the profile: its budget then grows and
shrinks with the profile like every other one, and no test carries a number of its own.

The suites in ``qleads.testing`` ask for their shares at import time, so load the
profile first: ``tests/conftest.py`` calls :func:`register_profiles` and
:func:`load_profile` before any test module is imported.
"""

from __future__ import annotations

import os
from typing import Final

from hypothesis import settings

__all__ = ["DEFAULT_PROFILE", "PROFILES", "examples", "load_profile", "register_profiles"]

#: Examples per ordinary property in each profile.
PROFILES: Final = {"dev": 10, "ci": 100, "thorough": 1000}

#: The profile when ``HYPOTHESIS_PROFILE`` is not set: what CI runs.
DEFAULT_PROFILE: Final = "ci"


def register_profiles() -> None:
    """Register :data:`PROFILES` with Hypothesis (again, harmlessly, if called twice).
    ``ci`` prints the blob that reproduces a failure, since CI's database of examples
    is gone with the run."""
    for name, count in PROFILES.items():
        settings.register_profile(name, max_examples=count, print_blob=name == "ci")


def load_profile(name: str | None = None) -> str:
    """Make ``name`` (else ``HYPOTHESIS_PROFILE``, else :data:`DEFAULT_PROFILE`) the
    current profile and return its name. An unknown name raises Hypothesis's
    ``InvalidArgument``, which lists the registered ones."""
    chosen = name or os.environ.get("HYPOTHESIS_PROFILE") or DEFAULT_PROFILE
    settings.load_profile(chosen)
    return chosen


def examples(share: float) -> int:
    """``share`` of the current profile's ``max_examples``, at least one: the budget of
    a property whose examples cost more (``share < 1``) or less (``share > 1``) than an
    ordinary one."""
    if share <= 0:
        raise ValueError(f"a share of examples must be positive, got {share}")
    return max(1, round(settings().max_examples * share))
