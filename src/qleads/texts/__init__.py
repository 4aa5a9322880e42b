"""The library's words in every language: gettext catalogs, read with the standard library.

Every text a person reads — the names of statuses, tabs, contact channels and release
reasons, and the mails' sentences — is written once in German in the code, marked with
:func:`N_`; the German text is the message id. The other languages are catalogs:
``locale/<language>/LC_MESSAGES/qleads.mo`` inside this package (English ships), or in a
directory named by the ``QLEADS_LOCALE_PATH`` environment variable (several joined by
``os.pathsep``; they come first, and their catalogs fall back to the shipped one of the
same language message by message). A catalog dropped into either place adds its language
without a line of code. Untranslated messages read in German.

Only ``gettext`` is needed here, so the core install (no Babel) has its labels in every
shipped language; :mod:`qleads.texts.catalog` (Babel) checks and compiles the catalogs.
"""

from __future__ import annotations

import functools
import gettext
import itertools
import os
from collections.abc import Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = [
    "DOMAIN",
    "LOCALE_PATH_ENV",
    "N_",
    "SOURCE_LANGUAGE",
    "catalog_language",
    "languages",
    "translation",
]

#: The language of the message ids: the manual's German.
SOURCE_LANGUAGE = "de"
#: The catalogs' file name (``qleads.mo``).
DOMAIN = "qleads"
#: Directories searched for catalogs before the package's own.
LOCALE_PATH_ENV = "QLEADS_LOCALE_PATH"

Catalogs = Mapping[str, tuple[Traversable, ...]]


def N_(message: str) -> str:
    """Marks ``message`` for extraction into the catalogs; it is translated where it is
    shown, through :func:`translation`."""
    return message


def languages() -> tuple[str, ...]:
    """German and every language a catalog is found for, sorted."""
    return _languages(_locale_path())


def catalog_language(tag: str) -> str:
    """The language whose words someone with language ``tag`` reads: the catalog that
    names it (``en``, ``pt_BR``; case, ``-`` or ``_`` do not matter), else the one of
    its primary language (``en-GB`` reads ``en``), else one whose name it starts with
    (``english``), else German."""
    return _resolve(tag, _locale_path())


def translation(tag: str) -> gettext.NullTranslations:
    """The translations someone with language ``tag`` reads (see
    :func:`catalog_language`); for German, the message ids themselves. Labels ask for
    it on every call, so the answer is kept per language tag."""
    return _translation_for(tag, _locale_path())


# --- finding and loading -------------------------------------------------------------------


def _locale_path() -> str:
    return os.environ.get(LOCALE_PATH_ENV, "")


def _roots(locale_path: str) -> Iterator[Traversable]:
    for entry in locale_path.split(os.pathsep):
        if entry.strip():
            yield Path(entry.strip())
    yield resources.files(__name__) / "locale"


@functools.lru_cache(maxsize=8)
def _languages(locale_path: str) -> tuple[str, ...]:
    return tuple(sorted({SOURCE_LANGUAGE, *_catalogs(locale_path)}))


@functools.lru_cache(maxsize=256)
def _resolve(tag: str, locale_path: str) -> str:
    found = {name.lower(): name for name in _languages(locale_path)}
    key = tag.strip().replace("-", "_").split(".")[0].split("@")[0].lower()
    if key in found:
        return found[key]
    primary = key.split("_")[0]
    if primary in found:
        return found[primary]
    for name in sorted(found, key=len, reverse=True):
        if key.startswith(name):
            return found[name]
    return SOURCE_LANGUAGE


@functools.lru_cache(maxsize=256)
def _translation_for(tag: str, locale_path: str) -> gettext.NullTranslations:
    return _translation(_resolve(tag, locale_path), locale_path)


@functools.lru_cache(maxsize=8)
def _catalogs(locale_path: str) -> Catalogs:
    """Every language with a compiled catalog, and the files that hold it, in search
    order."""
    found: dict[str, list[Traversable]] = {}
    for root in _roots(locale_path):
        if not root.is_dir():
            continue
        for language in root.iterdir():
            mo = language / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if mo.is_file():
                found.setdefault(language.name, []).append(mo)
    return {language: tuple(files) for language, files in found.items()}


@functools.lru_cache(maxsize=32)
def _translation(language: str, locale_path: str) -> gettext.NullTranslations:
    files = _catalogs(locale_path).get(language, ())
    if not files:
        return gettext.NullTranslations()
    chain = [_read(mo) for mo in files]
    for first, then in itertools.pairwise(chain):
        first.add_fallback(then)
    return chain[0]


def _read(mo: Traversable) -> gettext.GNUTranslations:
    with mo.open("rb") as handle:
        return gettext.GNUTranslations(handle)
