from typing import Literal

class Theme:
    folder: str
    base_template: str
    def __init__(self, folder: str, base_template: str) -> None: ...

class BootstrapTheme(Theme):
    folder: Literal["bootstrap4"]
    base_template: str
    swatch: str
    fluid: bool
    def __init__(
        self,
        folder: Literal["bootstrap4"],
        base_template: str = "admin/base.html",
        swatch: str = "default",
        fluid: bool = False,
    ) -> None: ...
