"""The escalation ladder, decline and duplicate settings of a stored policy, as JSON
(``models.load_policy`` / ``save_policy``): the ladder as a list of steps per situation,
the release limit and the duplicate window. A policy stored before these settings
existed reads as the defaults, which change nothing.
"""

from __future__ import annotations

from typing import Any

from qleads.errors import QleadsError
from qleads.ladder import Ladder, LadderAction, Situation, Step, Unit
from qleads.model import Policy

__all__ = ["ladder_from_json", "ladder_to_json", "settings_from_json", "settings_to_json"]


def ladder_to_json(ladder: Ladder | None) -> dict[str, list[dict[str, Any]]] | None:
    if ladder is None:
        return None
    return {
        situation.value: [
            {"after": step.after, "unit": step.unit.value, "action": step.action.value}
            for step in ladder.steps(situation)
        ]
        for situation in Situation
    }


def ladder_from_json(data: object) -> Ladder | None:
    """The stored ladder; ``None`` (the default ladder) for none or a broken one."""
    if not isinstance(data, dict):
        return None
    try:
        return Ladder(
            **{
                situation.value: tuple(
                    Step(int(step["after"]), Unit(step["unit"]), LadderAction(step["action"]))
                    for step in data.get(situation.value, [])
                )
                for situation in Situation
            }
        )
    except (QleadsError, KeyError, TypeError, ValueError):
        return None


def settings_to_json(policy: Policy) -> dict[str, Any]:
    return {
        "ladder": ladder_to_json(policy.ladder),
        "unserviceable_after_releases": policy.unserviceable_after_releases,
        "duplicate_detection": policy.duplicate_detection,
        "duplicate_window_days": policy.duplicate_window_days,
    }


def settings_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~qleads.model.Policy` from the stored JSON."""
    limit = data.get("unserviceable_after_releases")
    window = data.get("duplicate_window_days")
    return {
        "ladder": ladder_from_json(data.get("ladder")),
        "unserviceable_after_releases": int(limit)
        if isinstance(limit, int) and limit >= 1
        else None,
        "duplicate_detection": data.get("duplicate_detection") is True,
        "duplicate_window_days": int(window) if isinstance(window, int) and window >= 1 else 90,
    }
