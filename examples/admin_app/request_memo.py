"""What one request reads more than once, read once: the logged-in user's actor, the
people a page names, the tab counts of the tab bar.

A request asks for the same thing from several places (the view, the context
processors, the templates); each answer is kept with that request only (on
``flask.g``, tied to the request object, since a test may keep one app context over
several requests), so nothing outlives it and the next request reads afresh. Outside a
request nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import g, has_request_context, request

__all__ = ["forget", "remembered"]

T = TypeVar("T")

_KEY = "_portal_memo"


def _memo() -> dict[Hashable, Any] | None:
    if not has_request_context():
        return None
    current = request._get_current_object()  # type: ignore[attr-defined]
    held: tuple[object, dict[Hashable, Any]] | None = g.get(_KEY)
    if held is None or held[0] is not current:
        held = (current, {})
        setattr(g, _KEY, held)
    return held[1]


def remembered(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or what it answered earlier in this request for ``key``."""
    memo = _memo()
    if memo is None:
        return read()
    try:
        found: T = memo[key]
    except KeyError:
        found = memo[key] = read()
    return found


def forget(key: Hashable | None = None) -> None:
    """Drop what this request kept for ``key`` (all of it when ``None``): after a change
    that the rest of the request must see."""
    memo = _memo()
    if memo is None:
        return
    if key is None:
        memo.clear()
    else:
        memo.pop(key, None)
