"""The part of Flask-WTF 1.2 the portal uses.

``FlaskForm`` is a ``wtforms.Form``; WTForms is imported untyped (its stubs lag behind
WTForms 3.3), so the fields a form declares are ``Any`` to the type checker.
"""

from collections.abc import Mapping
from typing import Any

class FlaskForm:
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def errors(self) -> dict[str, Any]: ...
    def __init__(
        self,
        formdata: Any = ...,
        *,
        obj: Any = None,
        prefix: str = "",
        data: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None: ...
    def is_submitted(self) -> bool: ...
    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool: ...
    def validate_on_submit(self, extra_validators: Mapping[str, Any] | None = None) -> bool: ...
    def hidden_tag(self, *fields: Any) -> Any: ...
