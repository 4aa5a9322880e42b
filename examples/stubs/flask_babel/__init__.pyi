"""The part of Flask-Babel 4 the portal uses."""

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from babel import Locale
from flask import Flask

class LazyString:
    """A translation made when it is turned into text (``str(...)``, templates)."""

    def __init__(self, func: Callable[..., str], *args: Any, **kwargs: Any) -> None: ...
    def __str__(self) -> str: ...
    def __html__(self) -> str: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...

class Babel:
    def __init__(
        self,
        app: Flask | None = None,
        date_formats: dict[str, str] | None = None,
        configure_jinja: bool = True,
        *args: Any,
        default_locale: str = "en",
        default_domain: str = "messages",
        default_translation_directories: str = "translations",
        default_timezone: str = "UTC",
        locale_selector: Callable[[], str | None] | None = None,
        timezone_selector: Callable[[], str | None] | None = None,
    ) -> None: ...

def gettext(string: str, **variables: Any) -> str: ...
def lazy_gettext(string: str, **variables: Any) -> LazyString: ...
def get_locale() -> Locale | None: ...
def force_locale(locale: str) -> AbstractContextManager[None]: ...
def format_date(
    date: dt.date | dt.datetime | None = None, format: str | None = None, rebase: bool = True
) -> str: ...
def format_datetime(
    datetime: dt.datetime | None = None, format: str | None = None, rebase: bool = True
) -> str: ...
def format_decimal(number: float | Decimal | object, format: str | None = None) -> str: ...
def format_percent(number: float | Decimal, format: str | None = None) -> str: ...
def format_currency(
    number: float | Decimal,
    currency: str,
    format: str | None = None,
    currency_digits: bool = True,
    format_type: str = "standard",
) -> str: ...
