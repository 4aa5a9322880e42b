from collections.abc import Callable
from typing import Any

BASE_FORMATTERS: dict[type[Any], Callable[..., Any]]
DETAIL_FORMATTERS: dict[type[Any], Callable[..., Any]]
EXPORT_FORMATTERS: dict[type[Any], Callable[..., Any]]
