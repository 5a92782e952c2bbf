"""Translations: gettext catalogs compiled by Babel. Japanese is the source language.

Every text an applicant or operator reads is a msgid written in Japanese and marked with
`_()` (Python) or `{% trans %}`/`_()` (templates); an English catalog can be added under
app/locale/en without touching templates or code.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from babel.messages.pofile import read_po, write_po
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


def fill_source_locale(po_path: str) -> int:
    """Japanese is the source language: its catalog translates each msgid to itself."""
    with open(po_path, "rb") as handle:
        catalog = read_po(handle, locale=DEFAULT_LOCALE)
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
    with open(po_path, "wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fill-source":
        sys.exit(fill_source_locale(sys.argv[2]))
    print("usage: python -m app.i18n fill-source PO_FILE", file=sys.stderr)
    sys.exit(2)
