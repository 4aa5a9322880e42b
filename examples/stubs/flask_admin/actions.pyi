from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import LazyString

_F = TypeVar("_F", bound=Callable[..., Any])

def action(
    name: str, text: str | LazyString, confirmation: str | LazyString | None = None
) -> Callable[[_F], _F]: ...
