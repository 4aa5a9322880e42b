"""The library's catalogs kept in step with the code (``python -m qleads.texts.catalog``).

``locale/<language>/LC_MESSAGES/qleads.po`` is the source of a language, edited by hand;
the message ids are the German texts marked with :func:`~qleads.texts.N_` in the code.
Run without arguments, this tool rewrites every ``qleads.mo`` from its ``.po`` (the
compiled files are checked in, so that the core install reads them without Babel; a
test compares the two) and lists what a catalog lacks or gets wrong: a message of the
code it does not translate, or a translation whose ``$placeholders`` differ from its
message's. ``init LANGUAGE`` starts the catalog of a new language with every message
of the code and empty translations. Needs Babel (the ``mail`` extra).
"""

from __future__ import annotations

import io
import string
import sys
from collections.abc import Sequence
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from qleads.texts import DOMAIN

__all__ = [
    "LOCALE",
    "SOURCE",
    "compile_mo",
    "extract",
    "init",
    "main",
    "mismatched",
    "missing",
    "po_files",
    "read_catalog",
]

#: The package whose code is searched for messages.
SOURCE = Path(__file__).resolve().parents[1]
#: Where the shipped catalogs live.
LOCALE = Path(__file__).resolve().parent / "locale"

_KEYWORDS = {"_": None, "N_": None}
_COMMENT_TAG = "Translators:"
_HEADER = (
    "# {language} words of qleads. The message ids are the German texts; $name is filled in.\n"
    "# Edit this file, then run `python -m qleads.texts.catalog` to rewrite qleads.mo.\n"
    "#"
)


def extract() -> Catalog:
    """Every message the code marks, with where it is used and what its translator
    comment (``# Translators: …`` above it) says."""
    template = Catalog(domain=DOMAIN, project="qleads", fuzzy=False)
    for filename, line, message, comments, context in extract_from_dir(
        SOURCE, keywords=_KEYWORDS, comment_tags=(_COMMENT_TAG,), strip_comment_tags=True
    ):
        template.add(
            message, None, [(f"qleads/{filename}", line)], auto_comments=comments, context=context
        )
    return template


def po_files() -> list[Path]:
    """The shipped catalogs' sources, one per language, sorted."""
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(po: Path) -> Catalog:
    with po.open("rb") as handle:
        return read_po(handle, locale=po.parents[1].name, domain=DOMAIN)


def missing(catalog: Catalog, template: Catalog | None = None) -> list[str]:
    """The code's messages ``catalog`` does not translate, sorted."""
    wanted = {str(m.id) for m in (template if template is not None else extract()) if m.id}
    translated = {str(m.id) for m in catalog if m.id and m.string}
    return sorted(wanted - translated)


def mismatched(catalog: Catalog) -> list[str]:
    """The messages whose translation names other ``$placeholders`` than the message,
    or has a ``$`` that starts none (write ``$$`` for a dollar sign): the mails would
    show the German message instead."""
    return sorted(
        str(m.id)
        for m in catalog
        if m.id and m.string and _placeholders(str(m.string)) != _placeholders(str(m.id))
    )


def _placeholders(text: str) -> set[str] | None:
    template = string.Template(text)
    return set(template.get_identifiers()) if template.is_valid() else None


def compile_mo(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def init(language: str) -> Path:
    """Writes the new catalog of ``language`` (``fr``, ``pt_BR``) with every message of
    the code untranslated, and returns its path. An existing catalog is left alone."""
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"{language!r} is not a language Babel knows") from exc
    po = LOCALE / str(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if po.exists():
        raise ValueError(f"{po} exists already")
    catalog = Catalog(
        locale=locale,
        domain=DOMAIN,
        header_comment=_HEADER.format(language=locale.english_name),
        project="qleads",
        language_team="qleads",
        fuzzy=False,
    )
    for message in extract():
        if message.id:
            catalog.add(message.id, "", auto_comments=message.auto_comments)
    po.parent.mkdir(parents=True)
    with po.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True)
    return po


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["init"] and len(args) == 2:
        try:
            print(f"wrote {init(args[1])}: translate it, then run this tool again")
        except ValueError as exc:
            print(f"qleads.texts.catalog: {exc}", file=sys.stderr)
            return 2
        return 0
    if args:
        print("usage: python -m qleads.texts.catalog [init LANGUAGE]", file=sys.stderr)
        return 2
    template = extract()
    faults = 0
    for po in po_files():
        catalog = read_catalog(po)
        po.with_suffix(".mo").write_bytes(compile_mo(catalog))
        lacking, wrong = missing(catalog, template), mismatched(catalog)
        for message in lacking:
            print(f"{po.parents[1].name}: untranslated: {message!r}", file=sys.stderr)
        for message in wrong:
            print(f"{po.parents[1].name}: placeholders differ: {message!r}", file=sys.stderr)
        faults += len(lacking) + len(wrong)
        print(f"wrote {po.with_suffix('.mo')} ({len(catalog)} messages)")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
