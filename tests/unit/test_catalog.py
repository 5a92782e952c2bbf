"""The gettext catalogs cover every text marked in code and templates."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("app/**.py", "python"), ("templates/**.jinja2", "jinja2")]
OPTIONS = {"templates/**.jinja2": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def test_japanese_catalog_has_every_marked_text():
    marked = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT), method_map=METHODS, options_map=OPTIONS
        )
    }
    with open(ROOT / "app/locale/ja/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle, locale="ja")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert marked - translated == set(), "run `make i18n`"
    assert all(m.string for m in catalog if m.id), "every Japanese msgstr is filled"
