"""Step 1 rules as pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.registration import form
from app.registration.form import TicketState


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCD-EFGH-JKMN-2345", "ABCD-EFGH-JKMN-2345"),
        ("abcd efgh jkmn 2345", "ABCD-EFGH-JKMN-2345"),
        ("ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ－２３４５", "ABCD-EFGH-JKMN-2345"),
        ("ABCDEFGHJKMN2345", "ABCD-EFGH-JKMN-2345"),
        ("OBCD-IFGH-LKMN-2345", "0BCD-1FGH-1KMN-2345"),  # look-alikes, as Crockford reads them
        ("ABCD-EFGH-JKMN-234U", None),
        ("ABCD-EFGH-JKMN", None),
        ("ABCD-EFGH-JKMN-23456", None),
        ("", None),
        ("<script>", None),
    ],
)
def test_ticket_numbers_are_normalised_or_refused(raw, expected):
    assert form.normalise_ticket(raw) == expected


def test_email_is_normalised_from_full_width():
    assert form.check_email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ") == ("taro@example.com", None)


@pytest.mark.parametrize(
    "raw", ["taro", "taro@", "@example.com", "a b@example.com", "taro@example"]
)
def test_bad_email_syntax_is_refused(raw):
    assert (
        form.check_email(raw)[1]
        == "メールアドレスの形式が正しくありません。（例: taro@example.co.jp）"
    )


def test_email_over_254_characters_is_refused():
    address = "a" * 64 + "@" + "b" * 190 + ".jp"
    assert len(address) > 254
    assert form.check_email(address)[1] == "メールアドレスは254文字以内で入力してください。"


def test_required_fields_are_reported_in_page_order():
    _, errors = form.check_step1_syntax({})
    assert list(form.ordered(errors)) == list(form.STEP1_FIELDS)


def test_confirmation_must_equal_email_ignoring_case():
    values = {"email": "Taro@Example.com", "email_confirm": "taro@example.com"}
    _, errors = form.check_step1_syntax(values)
    assert "email_confirm" not in errors
    _, errors = form.check_step1_syntax(
        {"email": "a@example.com", "email_confirm": "b@example.com"}
    )
    assert errors["email_confirm"] == "メールアドレスと（確認）メールアドレスが一致しません。"


def test_applicant_type_must_be_self_or_agent():
    _, errors = form.check_step1_syntax({"applicant_type": "boss"})
    assert errors["applicant_type"] == "申請者（本人または代理人）を選択してください。"


def test_unknown_and_foreign_ticket_share_one_message_and_used_has_its_own():
    assert form.ticket_error(TicketState.NOT_FOUND)
    assert form.ticket_error(TicketState.USED) != form.ticket_error(TicketState.NOT_FOUND)
    assert form.ticket_error(TicketState.AVAILABLE) is None


def test_captcha_verdicts_have_messages():
    assert form.captcha_error("correct") is None
    assert "有効期限" in form.captcha_error("expired")
    assert form.captcha_error("wrong") == form.captcha_error("unknown")


def test_agreement_requires_the_checkbox_value():
    assert form.agreement_error({"agree": "yes"}) is None
    assert form.agreement_error({}) and form.agreement_error({"agree": "no"})


SAMPLES = {
    "applicant_type": st.sampled_from(["self", "agent", "", "other"]),
    "company_code": st.sampled_from(["DEMO01", "demo01", "", "　"]),
    "ticket_number": st.sampled_from(["ABCD-EFGH-JKMN-2345", "abcd efgh jkmn 2345", "ABCD", ""]),
    "email": st.sampled_from(
        ["taro@example.jp", "ＴＡＲＯ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@", "", "a@b"]
    ),
    "email_confirm": st.sampled_from(
        ["taro@example.jp", "TARO@EXAMPLE.JP", "hanako@example.jp", ""]
    ),
    "captcha_answer": st.sampled_from(["", "ABC123"]),
}


@given(values=st.fixed_dictionaries({}, optional=SAMPLES), name=st.sampled_from(list(SAMPLES)))
def test_an_inline_check_of_one_field_says_what_the_whole_check_says_of_it(values, name):
    whole_cleaned, whole_errors = form.check_step1_syntax(values)
    cleaned, errors = form.check_step1_syntax(values, only=name)
    if name != "captcha_answer":  # checked at submit only (it is consumed by the check)
        assert cleaned.get(name) == whole_cleaned.get(name)
        assert errors.get(name) == whole_errors.get(name)
    # What the database checks of an inline check read (service.check_fields).
    assert cleaned["company_code"] == whole_cleaned["company_code"]
    assert errors.get("company_code") == whole_errors.get("company_code")


def _validator_says(text: str) -> str | None:
    """email-validator's normalised address, or None when it refuses the text."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


_ATOM = st.text(alphabet="abcXYZ019_!#$%&'*+/=?^`{|}~-", min_size=1, max_size=8)
_LABEL = st.one_of(
    st.text(alphabet="abzAZ09-", min_size=1, max_size=10),
    st.sampled_from(["xn--bcher-kva", "ab--cd", "xn--zz", "a" * 63, "a" * 64, "1"]),
)
_TLD = st.one_of(
    st.sampled_from(["jp", "JP", "com", "test", "local", "localhost", "onion", "arpa", "1", "c0"]),
    _LABEL,
)


@st.composite
def _addresses(draw: st.DrawFn) -> str:
    local = draw(
        st.one_of(
            st.lists(_ATOM, min_size=1, max_size=4).map(".".join),
            st.sampled_from(["Info", "POSTMASTER", "a..b", ".a", "a.", "a" * 65, '"q"', "ü"]),
        )
    )
    labels = draw(st.lists(_LABEL, min_size=0, max_size=4))
    return f"{local}@{'.'.join([*labels, draw(_TLD)])}"


@given(st.one_of(_addresses(), st.from_regex(form._PLAIN_ADDRESS, fullmatch=True)))
def test_a_plain_address_is_normalised_as_email_validator_does(text: str) -> None:
    # The fast path answers only for what email-validator accepts, and with its answer.
    plain = form.plain_address(text)
    if plain is not None:
        assert plain == _validator_says(text), text


@given(
    st.lists(st.sampled_from(["a", "Mail", "x1", "b-c"]), min_size=1, max_size=3),
    st.sampled_from(["test", "local", "localhost", "onion", "arpa", "invalid", "jp", "Co"]),
    st.sampled_from(["taro", "Info", "SALES", "abuse", "a.b"]),
)
def test_reserved_names_and_case_insensitive_mailboxes_are_left_to_the_validator(
    labels: list[str], tld: str, local: str
) -> None:
    text = f"{local}@{'.'.join([*labels, tld])}"
    plain = form.plain_address(text)
    assert plain is None or plain == _validator_says(text), text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_no_text_the_validator_refuses_passes_as_plain(text: str) -> None:
    plain = form.plain_address(text)
    assert plain is None or plain == _validator_says(text), text


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("Taro.Yamada@Example.CO.JP", "Taro.Yamada@example.co.jp"),
        ("a+tag@sub.example.com", "a+tag@sub.example.com"),
        ("info@example.jp", None),  # RFC 2142: email-validator lowercases it
        ("a@example.test", None),  # special-use: email-validator refuses it
        ("a@xn--bcher-kva.example", None),  # Punycode: email-validator decodes it
        ("山田@example.jp", None),
        ("a@example.1", None),
    ],
)
def test_plain_addresses_and_what_is_left_to_email_validator(typed: str, plain: str | None) -> None:
    assert form.plain_address(typed) == plain
    normalised, error = form.check_email(typed)
    said = _validator_says(typed)
    assert (normalised if error is None else None) == said
