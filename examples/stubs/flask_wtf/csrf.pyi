"""The part of Flask-WTF's CSRF protection the portal uses."""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask

_V = TypeVar("_V", bound=Blueprint | Callable[..., Any] | str)

class CSRFProtect:
    def __init__(self, app: Flask | None = None) -> None: ...
    def init_app(self, app: Flask) -> None: ...
    def exempt(self, view: _V) -> _V: ...
