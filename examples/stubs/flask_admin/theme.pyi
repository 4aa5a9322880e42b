from typing import Any

class BootstrapTheme:
    folder: str
    base_template: str
    swatch: str
    fluid: bool
    def __init__(
        self, folder: str, base_template: str = ..., swatch: str = ..., fluid: bool = ...
    ) -> None: ...

def Bootstrap4Theme(
    base_template: str = ..., swatch: str = ..., fluid: bool = ..., **kwargs: Any
) -> BootstrapTheme: ...
