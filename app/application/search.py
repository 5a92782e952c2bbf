"""The words an application is found by in the review queue (pure): names in kanji, kana and
romaji, email addresses, the reference and the company code, each normalised the same way as
the operator's search (NFKC, case folded, katakana as hiragana, no spaces), so that a search
is a prefix of a stored word: an index range on both engines, never a scan."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

# Katakana ァ..ヶ and the iteration marks ヽヾ have hiragana twins 0x60 code points below.
_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)} | {0x30FD: 0x309D, 0x30FE: 0x309E}
_DROPPED = {"・", "\U0010ffff"}  # the name separator; the one code point with no successor
TERM_MAX = 200  # characters kept of one word (an email address is at most 254 bytes)

NAME_SCRIPTS = ("", "_kana", "_roman")


def normalise(text: str) -> str:
    """Full/half width and case ignored, ヤマダ = やまだ = ﾔﾏﾀﾞ, spaces and ・ removed."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in _DROPPED)


def _emails(address: str) -> set[str]:
    """The whole address and its domain (so that both "taro@" and "example.com" find it)."""
    whole = normalise(address)
    if not whole:
        return set()
    return {whole, whole.rpartition("@")[2]}


def _names(answers: Mapping[str, str]) -> set[str]:
    found: set[str] = set()
    for script in NAME_SCRIPTS:
        family = normalise(answers.get(f"family_name{script}", ""))
        given = normalise(answers.get(f"given_name{script}", ""))
        # family, given, and the whole name in either order (CN is "Taro Yamada")
        found |= {family, given, family + given, given + family}
    agent = answers.get("agent_name", "")
    found |= {normalise(part) for part in agent.split()} | {normalise(agent)}
    return found


def terms_of(
    answers: Mapping[str, str], email: str = "", reference: str = "", company_code: str = ""
) -> set[str]:
    """Every word this application is found by (answers as stored, the registration's email,
    its reference once submitted, its company's code)."""
    terms = _names(answers) | _emails(answers.get("cert_email", "")) | _emails(email)
    terms |= {normalise(reference), normalise(reference).replace("-", ""), normalise(company_code)}
    return {term[:TERM_MAX] for term in terms if term}


def prefix_range(search: str) -> tuple[str, str] | None:
    """[low, high): the stored words that begin with the normalised search, in code point
    order; None when nothing of the search is left to look for."""
    low = normalise(search)[:TERM_MAX]
    if not low:
        return None
    successor = ord(low[-1]) + 1
    if 0xD800 <= successor <= 0xDFFF:  # surrogates are no characters: skip past them
        successor = 0xE000
    return low, low[:-1] + chr(successor)
