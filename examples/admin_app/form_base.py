"""The base of the portal's forms: a Flask-WTF form whose own messages ("Not a valid
choice." …, WTForms' catalogue) come in the page's language from a catalogue loaded once
per process and language. Flask-WTF loads that catalogue afresh on every request that
builds a form, which a claim or a status record pays for although it shows no message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from babel.support import NullTranslations, Translations
from flask import current_app
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

from .i18n import shown_language

__all__ = ["PortalForm"]


@lru_cache(maxsize=8)
def _catalogue(language: str) -> NullTranslations:
    """WTForms' messages in ``language``, as Flask-WTF loads them (never changed)."""
    return Translations.load(messages_path(), [language], domain="wtforms")


#: Flask-WTF's form options, to extend (read from the class: the portal's stubs leave the
#: nested class out, since stubtest cannot inspect it outside a request).
_FlaskMeta: Any = vars(FlaskForm)["Meta"]


class PortalForm(FlaskForm):
    """A :class:`~flask_wtf.FlaskForm` with WTForms' messages cached per language."""

    class Meta(_FlaskMeta):  # type: ignore[misc]
        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _catalogue(shown_language())
