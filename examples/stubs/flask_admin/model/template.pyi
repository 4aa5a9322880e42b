from flask_babel import LazyString

class TemplateLinkRowAction:
    def __init__(self, template_name: str, title: str | LazyString | None = None) -> None: ...
