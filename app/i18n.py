"""Translations: gettext catalogs compiled by Babel. Japanese is the source language.

Every text an applicant or operator reads is a msgid written in Japanese and marked with
`_()` (Python) or `{% trans %}`/`_()` (templates); an English catalog can be added under
app/locale/en without touching templates or code.
"""

from __future__ import annotations

from functools import lru_cache

from babel.support import NullTranslations, Translations

from app.settings import ROOT

LOCALE_DIR = ROOT / "app" / "locale"
DEFAULT_LOCALE = "ja"
DOMAIN = "messages"


@lru_cache(maxsize=8)
def translations(locale: str = DEFAULT_LOCALE) -> NullTranslations:
    """The compiled catalog for a locale (falls back to the msgids, which are Japanese)."""
    return Translations.load(str(LOCALE_DIR), [locale], domain=DOMAIN)


def gettext(message: str) -> str:
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


_ = gettext
