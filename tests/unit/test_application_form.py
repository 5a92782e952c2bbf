"""Application answers: every field rule with good and bad input."""

from __future__ import annotations

import pytest

from app.application import states
from app.application.form import (
    check_application,
    check_phone,
    corporate_number_is_valid,
    inline_fields,
    shown_fields,
)
from app.application.requirements import missing_documents, required_kinds
from app.application.subject import subject_of
from app.approval.form import check_decision
from tests.helpers import AGENT_ANSWERS, GOOD_ANSWERS


def errors_of(**changes: str) -> dict[str, str]:
    return check_application({**GOOD_ANSWERS, **changes}, "self")[1]


def test_good_answers_have_no_errors():
    assert check_application(GOOD_ANSWERS, "self")[1] == {}
    assert check_application(AGENT_ANSWERS, "agent", "agent@example.net")[1] == {}


@pytest.mark.parametrize(
    "number", ["7000012050002", "2180001135973", "5010401067252", "4000012090001"]
)
def test_real_corporate_numbers_pass_the_check_digit(number):
    assert corporate_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    ["1000012050002", "7000012050003", "700001205000", "70000120500021", "７0000120500０２x"],
)
def test_wrong_corporate_numbers_fail(number):
    assert not corporate_number_is_valid(number)


def test_corporate_number_messages_say_what_is_wrong():
    assert "13桁" in errors_of(corporate_number="12345")["corporate_number"]
    assert "検査用数字" in errors_of(corporate_number="1000012050002")["corporate_number"]
    assert "入力してください" in errors_of(corporate_number="")["corporate_number"]
    # Full-width digits and hyphens are read as what they mean.
    assert "corporate_number" not in errors_of(corporate_number="７０００-０１２０-５０００２")


def test_organization_fields_only_count_when_the_organization_is_written():
    cleaned, errors = check_application(
        {**GOOD_ANSWERS, "include_org": "no", "corporate_number": "bad", "org_name_en": "日本"},
        "self",
    )
    assert errors == {}
    assert cleaned["corporate_number"] == "" and cleaned["org_name"] == ""
    assert "include_org" in errors_of(include_org="")


@pytest.mark.parametrize("value", ["山田1", "<script>", "山田\u0007", "あ" * 21])
def test_bad_kanji_names_are_refused(value):
    assert "family_name" in errors_of(family_name=value)


@pytest.mark.parametrize(
    ("typed", "stored"), [("やまだ", "ヤマダ"), ("ﾔﾏﾀﾞ", "ヤマダ"), ("ヤマダ", "ヤマダ")]
)
def test_kana_is_normalised_to_full_width_katakana(typed, stored):
    cleaned, errors = check_application({**GOOD_ANSWERS, "family_name_kana": typed}, "self")
    assert "family_name_kana" not in errors
    assert cleaned["family_name_kana"] == stored


@pytest.mark.parametrize("value", ["Yamada", "山田", "yamada1", "ＡＢＣ１", "", "カ" * 31])
def test_katakana_rule(value):
    error = errors_of(family_name_kana=value).get("family_name_kana")
    assert error, value
    assert ("全角カタカナ" in error) or ("入力してください" in error) or ("30文字" in error)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("yamada", "Yamada"),
        ("YAMADA", "Yamada"),
        ("McDonald", "McDonald"),
        ("o'brien", "O'Brien"),
        ("anne-marie", "Anne-Marie"),
        ("van  der", "Van Der"),
        ("Ｙａｍａｄａ", "Yamada"),
    ],
)
def test_romaji_is_shown_as_it_will_appear(typed, shown):
    cleaned, errors = check_application({**GOOD_ANSWERS, "family_name_roman": typed}, "self")
    assert "family_name_roman" not in errors
    assert cleaned["family_name_roman"] == shown


@pytest.mark.parametrize(
    "value", ["山田", "Yamada1", "Yamada!", "-Yamada", "Yamada-", "Ya--mada", "É", "a" * 31, ""]
)
def test_bad_romaji_is_refused(value):
    assert "family_name_roman" in errors_of(family_name_roman=value)


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("03-1234-5678", True),
        ("０３－１２３４－５６７８", True),
        ("090 1234 5678", True),
        ("(03)1234-5678", True),
        ("+81-3-1234-5678", True),
        ("1234-5678", False),
        ("03-1234-567a", False),
        ("0312345678901", False),
        ("", False),
    ],
)
def test_phone_rule(typed, ok):
    _shown, error = check_phone(typed, "電話番号")
    assert (error is None) is ok, (typed, error)


def test_qualification_needs_its_number_and_makes_an_ou():
    assert "qualification_number" in errors_of(qualification="JFBA", qualification_number="")
    assert "qualification_number" in errors_of(qualification="CPA", qualification_number="12a")
    assert "qualification" in errors_of(qualification="DOCTOR")
    cleaned, errors = check_application(
        {**GOOD_ANSWERS, "qualification": "JFBA", "qualification_number": "１２３４５"}, "self"
    )
    assert errors == {}
    assert subject_of(cleaned).ous == ("CN-7000012050002", "JFBA-12345")


def test_validity_is_one_or_two_years():
    assert "validity_years" in errors_of(validity_years="3")
    assert "validity_years" not in errors_of(validity_years="2")


def test_subject_preview_is_what_the_certificate_says():
    cleaned, _ = check_application(GOOD_ANSWERS, "self")
    assert subject_of(cleaned).lines() == [
        ("CN", "Taro Yamada"),
        ("O", "Sample Co., Ltd."),
        ("OU", "CN-7000012050002"),
        ("E", "taro@example.com"),
    ]
    cleaned, _ = check_application({**GOOD_ANSWERS, "include_org": "no"}, "self")
    assert [a for a, _v in subject_of(cleaned).lines()] == ["CN", "E"]


def test_organization_english_name_is_printable_ascii():
    assert "org_name_en" in errors_of(org_name_en="株式会社サンプル")
    assert "org_name_en" in errors_of(org_name_en="Sample<script>")
    assert "org_name_en" not in errors_of(org_name_en="A & B (Japan) K.K.")


def test_agent_needs_own_details_and_a_principal_address_that_is_not_theirs():
    _, errors = check_application({**AGENT_ANSWERS, "agent_name": ""}, "agent")
    assert "agent_name" in errors
    _, errors = check_application({**AGENT_ANSWERS, "agent_phone": "abc"}, "agent")
    assert "agent_phone" in errors
    _, errors = check_application(AGENT_ANSWERS, "agent", "HANAKO@example.org")
    assert "代理人ご自身" in errors["cert_email"]


def test_errors_come_in_page_order():
    _, errors = check_application({}, "agent")
    names = list(errors)
    assert names[0] == "family_name"
    assert names.index("phone") < names.index("include_org") < names.index("agent_name")


def test_inline_checks_cover_every_field_of_the_kind():
    assert "include_org" in inline_fields("self")
    assert "corporate_number" in inline_fields("self")
    assert "agent_name" in inline_fields("agent") and "agent_name" not in inline_fields("self")


def test_shown_fields_leave_out_what_does_not_apply():
    cleaned, _ = check_application({**GOOD_ANSWERS, "include_org": "no"}, "self")
    shown = shown_fields(cleaned, "self")
    assert "org_name" not in shown and "qualification_number" not in shown


def test_documents_required_depend_on_the_answers():
    cleaned, _ = check_application(
        {**GOOD_ANSWERS, "qualification": "REA", "qualification_number": "123"}, "self"
    )
    assert required_kinds(cleaned) == ["id_front", "employment", "qualification"]
    message = missing_documents(cleaned, [{"kind": "id_front"}])
    assert "在籍を証明する書類" in message and "資格を証明する書類" in message
    assert (
        missing_documents(
            cleaned, [{"kind": "id_front"}, {"kind": "employment"}, {"kind": "qualification"}]
        )
        == ""
    )


def test_states_only_move_forward():
    assert states.can_move("draft", "submitted")
    assert states.can_move("awaiting_principal", "principal_declined")
    assert states.can_move("principal_declined", "draft")
    for current, target in [
        ("draft", "in_review"),
        ("submitted", "draft"),
        ("principal_approved", "awaiting_principal"),
        ("in_review", "draft"),
        ("awaiting_principal", "in_review"),
    ]:
        assert not states.can_move(current, target)
        with pytest.raises(states.TransitionError):
            states.check_move(current, target)


def test_decision_rules():
    decision, errors, _ = check_decision({})
    assert decision is None and "decision" in errors
    decision, errors, _ = check_decision({"decision": "approve"})
    assert decision is None and "agree" in errors
    decision, errors, _ = check_decision({"decision": "decline", "reason": " "})
    assert decision is None and "reason" in errors
    decision, errors, kept = check_decision({"decision": "decline", "reason": "x" * 501})
    assert decision is None and "500" in errors["reason"] and kept["reason"] == "x" * 501
    decision, errors, _ = check_decision({"decision": "decline", "reason": "住所が違います"})
    assert decision is not None and not decision.approve and decision.reason == "住所が違います"
    decision, errors, _ = check_decision({"decision": "approve", "agree": "yes", "reason": "x"})
    assert decision is not None and decision.approve and decision.reason == ""
