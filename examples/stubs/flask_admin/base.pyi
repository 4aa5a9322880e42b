from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_babel import LazyString

_F = TypeVar("_F", bound=Callable[..., Any])
#: A menu text: Flask-Admin renders it, so a lazy translation will do.
_Text = str | LazyString

def expose(url: str = "/", methods: Iterable[str] | None = ("GET",)) -> Callable[[_F], _F]: ...

class AdminViewMeta(type):
    def __init__(cls, classname: str, bases: tuple[type, ...], fields: dict[str, Any]) -> None: ...

class BaseView(metaclass=AdminViewMeta):
    def __init__(
        self,
        name: _Text | None = None,
        category: _Text | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        static_folder: str | None = None,
        static_url_path: str | None = None,
        menu_class_name: str | None = None,
        menu_icon_type: str | None = None,
        menu_icon_value: str | None = None,
    ) -> None: ...
    def render(self, template: str, **kwargs: Any) -> str: ...
    def is_accessible(self) -> bool: ...
    def _handle_view(self, name: str, **kwargs: Any) -> ResponseReturnValue | None: ...
    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue: ...
    def get_url(self, endpoint: str, **kwargs: Any) -> str: ...

class AdminIndexView(BaseView):
    def __init__(
        self,
        name: _Text | None = None,
        category: _Text | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        template: str = "admin/index.html",
        menu_class_name: str | None = None,
        menu_icon_type: str | None = None,
        menu_icon_value: str | None = None,
    ) -> None: ...

class Admin:
    def __init__(
        self,
        app: Flask | None = None,
        name: _Text | None = None,
        url: str | None = None,
        subdomain: str | None = None,
        index_view: BaseView | None = None,
        translations_path: str | None = None,
        endpoint: str | None = None,
        static_url_path: str | None = None,
        theme: Any = None,
        category_icon_classes: dict[str, str] | None = None,
        host: str | None = None,
        csp_nonce_generator: Callable[[], Any] | None = None,
    ) -> None: ...
    def add_view(self, view: BaseView) -> None: ...
