from typing import Any

from flask_admin.model import BaseModelView
from flask_babel import LazyString

class ModelView(BaseModelView):
    """A model view over SQLAlchemy rows; ``session`` is the portal's scoped session."""

    model: type[Any]
    session: Any
    def __init__(
        self,
        model: type[Any],
        session: Any,
        name: str | LazyString | None = None,
        category: str | LazyString | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        static_folder: str | None = None,
        menu_class_name: str | None = None,
        menu_icon_type: str | None = None,
        menu_icon_value: str | None = None,
    ) -> None: ...
    def get_query(self) -> Any: ...
    def get_count_query(self) -> Any: ...
