"""The typed answers' rule, table-driven: required, then a maximum length, then the allowed
characters, with the cleaning before it. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.i18n import _
from app.registration.form import clean_text

NAME_MAX = 20
KANA_MAX = 30
ROMAN_MAX = 30
ORG_MAX = 64
AGENT_NAME_MAX = 40

_ROMAN = re.compile(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*")
_KATAKANA = re.compile(r"[ァ-ヺー・ヽヾ ]+")
_ORG_EN = re.compile(r"[A-Za-z0-9 &'(),\-./:]+")
_FORBIDDEN_IN_NAMES = set('<>"&;{}[]\\|`$#%@!?=+*^~0123456789')


def to_katakana(text: str) -> str:
    """Hiragana typed by habit becomes katakana; half-width kana is widened by NFKC."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def romanise_case(text: str) -> str:
    """'yamada' or 'YAMADA' -> 'Yamada'; mixed case ('McDonald') is kept as typed."""
    if text.islower() or text.isupper():
        return "".join(part.capitalize() for part in re.split(r"([ '\-])", text))
    return text


def squash(raw: str | None) -> str:
    return " ".join(clean_text(raw).split())


@dataclass(frozen=True)
class TextRule:
    """A typed answer's rule: required, then at most `maximum` characters, then only the
    characters `allowed` accepts (`refused` says so, with {label}). `prepare` cleans what
    was typed; `settle` finishes a value that passed (romaji's case)."""

    maximum: int
    allowed: Callable[[str], bool]
    refused: Callable[[], str]
    prepare: Callable[[str | None], str] = squash
    settle: Callable[[str], str] = str


def _name_characters(value: str) -> bool:
    return not any(c in _FORBIDDEN_IN_NAMES or unicodedata.category(c)[0] == "C" for c in value)


def _plain_characters(value: str) -> bool:
    return not any(unicodedata.category(c)[0] == "C" or c in "<>" for c in value)


def _full_match(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


NAME = TextRule(
    NAME_MAX,
    _name_characters,
    lambda: _("{label}に使用できない文字（数字や記号）が含まれています。"),
)
KANA = TextRule(
    KANA_MAX,
    _full_match(_KATAKANA),
    lambda: _("{label}は全角カタカナで入力してください。"),
    prepare=lambda raw: to_katakana(squash(raw)),
)
ROMAN = TextRule(
    ROMAN_MAX,
    _full_match(_ROMAN),
    lambda: _(
        "{label}は半角英字で入力してください（使用できる記号は空白、ハイフン、"
        "アポストロフィのみ。例: Yamada）。"
    ),
    settle=romanise_case,
)
ORG = TextRule(ORG_MAX, _plain_characters, lambda: _("{label}に使用できない文字が含まれています。"))
ORG_EN = TextRule(
    ORG_MAX,
    _full_match(_ORG_EN),
    lambda: _("組織名（英語表記）は半角英数字と記号（& ' ( ) , - . / :）で入力してください。"),
)
TEXT_RULES = {
    "family_name": NAME,
    "given_name": NAME,
    "family_name_kana": KANA,
    "given_name_kana": KANA,
    "family_name_roman": ROMAN,
    "given_name_roman": ROMAN,
    "org_name": ORG,
    "org_name_en": ORG_EN,
    "agent_name": replace(NAME, maximum=AGENT_NAME_MAX),
    "agent_org": ORG,
}


def check_text(raw: str | None, label: str, rule: TextRule) -> tuple[str, str | None]:
    """(cleaned value, error or None) of one typed answer under its rule."""
    value = rule.prepare(raw)
    if not value:
        return value, _("{label}を入力してください。").format(label=label)
    if len(value) > rule.maximum:
        return value, _("{label}は{maximum}文字以内で入力してください。").format(
            label=label, maximum=rule.maximum
        )
    if not rule.allowed(value):
        return value, rule.refused().format(label=label)
    return rule.settle(value), None
