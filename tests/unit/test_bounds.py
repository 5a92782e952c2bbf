"""The longest answers kept (app.application.bounds): what a draft may store."""

from __future__ import annotations

from app.application.bounds import STORED_MAX, storage_errors
from app.application.form import fields_for


def test_every_answer_has_a_bound_or_a_list_of_choices():
    from app.application.bounds import CHOICES

    for kind in ("self", "agent"):
        assert set(fields_for(kind)) <= STORED_MAX.keys() | CHOICES.keys()


def test_an_answer_at_its_maximum_is_kept_and_one_more_is_not():
    assert storage_errors({"family_name_kana": "ア" * 30}, "self") == {}
    assert storage_errors({"family_name_kana": "ア" * 31}, "self") == {
        "family_name_kana": "フリガナ（セイ）は30文字以内で入力してください。"
    }


def test_half_width_kana_count_as_the_rules_count_them():
    # ｶﾞ is two characters typed and one after NFKC: 30 of them are within the maximum.
    assert storage_errors({"family_name_kana": "ｶﾞ" * 30}, "self") == {}


def test_padding_does_not_hide_a_long_answer():
    assert "family_name" in storage_errors({"family_name": "山" + " " * 5000 + "田"}, "self")


def test_choices_not_offered_are_not_kept_but_an_empty_one_is():
    errors = storage_errors({"qualification": "X" * 40, "validity_years": "3"}, "self")
    assert errors == {
        "qualification": "資格を選択してください。",
        "validity_years": "有効期間を選択してください。",
    }
    assert storage_errors({"qualification": "", "include_org": "yes"}, "self") == {}


def test_agent_answers_are_bounded_only_for_agents():
    long_name = {"agent_name": "代" * 41}
    assert storage_errors(long_name, "self") == {}
    assert "agent_name" in storage_errors(long_name, "agent")
