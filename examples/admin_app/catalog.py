"""The English catalogue: check it and compile it (``python -m examples.admin_app.catalog``).

``translations/en/LC_MESSAGES/messages.po`` is the source, edited by hand; German is the
message id itself (i18n.py). This tool lists the texts in the code and templates that
the catalogue lacks and rewrites ``messages.mo`` from the ``.po``, so the compiled file
that is checked in never drifts (a test compares the two).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["MO", "PACKAGE", "PO", "compile_mo", "extract_messages", "missing", "read_catalog"]

PACKAGE = Path(__file__).resolve().parent
PO = PACKAGE / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
#: Texts handed to gettext through a variable (Flask-Login's login message).
INDIRECT = frozenset({"Bitte melden Sie sich an."})

_METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
_KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}


def extract_messages() -> set[str]:
    """Every message id used in the portal's Python files and templates."""
    found: set[str] = set(INDIRECT)
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), _METHODS, keywords=_KEYWORDS
    ):
        if isinstance(message, str):
            found.add(message)
    return found


def read_catalog(path: Path = PO) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="en")


def missing(catalog: Catalog | None = None) -> list[str]:
    """Message ids without an English translation, sorted."""
    current = catalog if catalog is not None else read_catalog()
    translated = {m.id for m in current if m.id and m.string}
    return sorted(extract_messages() - translated)


def compile_mo(catalog: Catalog | None = None) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog if catalog is not None else read_catalog())
    return buffer.getvalue()


def main() -> int:
    catalog = read_catalog()
    MO.write_bytes(compile_mo(catalog))
    lacking = missing(catalog)
    for message in lacking:
        print(f"untranslated: {message!r}", file=sys.stderr)
    print(f"wrote {MO} ({len(catalog)} messages, {len(lacking)} untranslated)")
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
