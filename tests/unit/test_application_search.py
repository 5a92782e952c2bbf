"""The review queue's search words (pure): one normal form for widths, case, kana and spaces,
the words an application is found by, and the prefix range a search becomes."""

from __future__ import annotations

import pytest

from app.application.search import TERM_MAX, normalise, prefix_range, terms_of

ANSWERS = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "family_name_roman": "Yamada",
    "given_name_roman": "Taro",
    "cert_email": "Taro@Example.com",
    "phone": "03-1234-5678",
}


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("ヤマダ", "やまだ"),
        ("やまだ", "やまだ"),
        ("ﾔﾏﾀﾞ", "やまだ"),  # half-width, the voiced mark composed
        ("ｼﾞｮﾝ・ｽﾐｽ", "じょんすみす"),
        ("ＹＡＭＡＤＡ", "yamada"),
        ("Taro Yamada", "taroyamada"),
        ("山田　太郎", "山田太郎"),  # the ideographic space
        ("ヴァ", "ゔぁ"),
        ("ヽヾ", "ゝゞ"),
        ("ｰ", "ー"),
        (" \t", ""),
    ],
)
def test_one_normal_form_for_width_case_kana_and_spaces(typed: str, normal: str) -> None:
    assert normalise(typed) == normal


def test_an_application_is_found_by_each_name_whole_or_in_part_and_its_addresses() -> None:
    terms = terms_of(ANSWERS, "Reg@Example.JP", "JC-7K3M-9QXP", "ISC")
    for word in (
        "山田",
        "太郎",
        "山田太郎",
        "やまだ",
        "たろう",
        "やまだたろう",
        "yamada",
        "taro",
        "taroyamada",  # the CN's order
        "yamadataro",
        "taro@example.com",
        "example.com",
        "reg@example.jp",
        "example.jp",
        "jc-7k3m-9qxp",
        "jc7k3m9qxp",
        "isc",
    ):
        assert word in terms, word
    assert not any("1234" in term for term in terms)  # the phone number is not searched
    assert "" not in terms


def test_a_draft_without_reference_or_names_has_only_what_it_holds() -> None:
    assert terms_of({}, "a@b.jp", "", "ISC") == {"a@b.jp", "b.jp", "isc"}


def test_an_agents_name_finds_the_application_too() -> None:
    terms = terms_of({**ANSWERS, "agent_name": "代理 次郎"})
    assert {"代理", "次郎", "代理次郎"} <= terms


def test_words_are_cut_to_what_the_column_holds() -> None:
    assert max(map(len, terms_of({"family_name": "あ" * 500}))) == TERM_MAX


def test_a_search_is_the_range_of_words_it_begins() -> None:
    low, high = prefix_range("ﾔﾏ") or ("", "")
    assert (low, high) == ("やま", "やみ")
    assert low <= "やまだ" < high and low <= "やま" < high
    assert not low <= "やみ" < high and not low <= "やだ" < high
    assert prefix_range("TARO@") == ("taro@", "taroA")
    assert prefix_range(" ・ ") is None


def test_the_range_never_ends_on_a_surrogate_or_past_the_last_code_point() -> None:
    assert prefix_range("\ud7ff") == ("\ud7ff", "\ue000")
    assert prefix_range("a\U0010ffff") == ("a", "b")
    low, high = prefix_range("𠮷") or ("", "")  # beyond the basic plane
    assert low <= "𠮷野" < high
