"""The issuance application's answers: validation and normalisation. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from app.i18n import _
from app.registration.form import AGENT, check_email, clean_text

# Codes are also the OU prefixes: "JFBA-12345".
QUALIFICATIONS = ("none", "JFBA", "CPA", "ACT1", "ACT2", "REA")
VALIDITY_YEARS = ("1", "2")

SUBJECT_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "family_name_roman",
    "given_name_roman",
    "cert_email",
    "phone",
)
AFFILIATION_FIELDS = (
    "include_org",
    "org_name",
    "org_name_en",
    "corporate_number",
    "qualification",
    "qualification_number",
    "validity_years",
)
AGENT_FIELDS = ("agent_name", "agent_org", "agent_phone")
ORG_FIELDS = ("org_name", "org_name_en", "corporate_number")

NAME_MAX = 20
KANA_MAX = 30
ROMAN_MAX = 30
ORG_MAX = 64
AGENT_NAME_MAX = 40

_DASHES = "‐‑‒–—―−ｰー-"
_ROMAN = re.compile(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*")
_KATAKANA = re.compile(r"[ァ-ヺー・ヽヾ ]+")
_ORG_EN = re.compile(r"[A-Za-z0-9 &'(),\-./:]+")
_FORBIDDEN_IN_NAMES = set('<>"&;{}[]\\|`$#%@!?=+*^~0123456789')


def fields_for(applicant_type: str) -> tuple[str, ...]:
    """Every answer of this kind of application, in page order."""
    extra = AGENT_FIELDS if applicant_type == AGENT else ()
    return SUBJECT_FIELDS + AFFILIATION_FIELDS + extra


def inline_fields(applicant_type: str) -> tuple[str, ...]:
    """Every field is checked inline when it changes (a choice clears its own error)."""
    return fields_for(applicant_type)


def applicable(name: str, values: Mapping[str, str]) -> bool:
    """Fields that depend on another answer only count when that answer asks for them."""
    if name in ORG_FIELDS:
        return values.get("include_org") == "yes"
    if name == "qualification_number":
        return values.get("qualification", "none") not in ("", "none")
    return True


def label_of(name: str, applicant_type: str = "") -> str:
    agent = applicant_type == AGENT
    labels = {
        "family_name": _("氏名（姓）"),
        "given_name": _("氏名（名）"),
        "family_name_kana": _("フリガナ（セイ）"),
        "given_name_kana": _("フリガナ（メイ）"),
        "family_name_roman": _("ローマ字（姓）"),
        "given_name_roman": _("ローマ字（名）"),
        "cert_email": _("本人のメールアドレス（証明書に記載）")
        if agent
        else _("メールアドレス（証明書に記載）"),
        "phone": _("本人の電話番号") if agent else _("電話番号"),
        "include_org": _("証明書への組織名の記載"),
        "org_name": _("組織名"),
        "org_name_en": _("組織名（英語表記）"),
        "corporate_number": _("法人番号"),
        "qualification": _("資格"),
        "qualification_number": _("資格の登録番号"),
        "validity_years": _("有効期間"),
        "agent_name": _("代理人の氏名"),
        "agent_org": _("代理人の所属組織"),
        "agent_phone": _("代理人の電話番号"),
    }
    return labels.get(name, name)


def qualification_label(code: str) -> str:
    return {
        "none": _("なし"),
        "JFBA": _("弁護士（JFBA）"),
        "CPA": _("公認会計士（CPA）"),
        "ACT1": _("一級建築士（ACT1）"),
        "ACT2": _("二級建築士（ACT2）"),
        "REA": _("不動産鑑定士（REA）"),
    }.get(code, "")


def display_value(name: str, cleaned: Mapping[str, str]) -> str:
    value = cleaned.get(name, "")
    if name == "include_org":
        return {"yes": _("記載する"), "no": _("記載しない")}.get(value, "")
    if name == "qualification":
        return qualification_label(value or "none")
    if name == "validity_years":
        return _("{years}年").format(years=value) if value else ""
    return value


def corporate_number_is_valid(number: str) -> bool:
    """法人番号: 13 digits, the first a check digit over the other 12 (国税庁's formula)."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    base = number[1:]
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return int(number[0]) == 9 - total % 9


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


def _digits(raw: str | None) -> str:
    text = clean_text(raw)
    return "".join(c for c in text if not c.isspace() and c not in _DASHES)


def _check_name(value: str, label: str, maximum: int) -> str | None:
    if not value:
        return _("{label}を入力してください。").format(label=label)
    if len(value) > maximum:
        return _("{label}は{maximum}文字以内で入力してください。").format(
            label=label, maximum=maximum
        )
    if any(c in _FORBIDDEN_IN_NAMES or unicodedata.category(c)[0] == "C" for c in value):
        return _("{label}に使用できない文字（数字や記号）が含まれています。").format(label=label)
    return None


def _check_kana(value: str, label: str) -> str | None:
    if not value:
        return _("{label}を入力してください。").format(label=label)
    if len(value) > KANA_MAX:
        return _("{label}は{maximum}文字以内で入力してください。").format(
            label=label, maximum=KANA_MAX
        )
    if not _KATAKANA.fullmatch(value):
        return _("{label}は全角カタカナで入力してください。").format(label=label)
    return None


def _check_roman(value: str, label: str) -> str | None:
    if not value:
        return _("{label}を入力してください。").format(label=label)
    if len(value) > ROMAN_MAX:
        return _("{label}は{maximum}文字以内で入力してください。").format(
            label=label, maximum=ROMAN_MAX
        )
    if not _ROMAN.fullmatch(value):
        return _(
            "{label}は半角英字で入力してください（使用できる記号は空白、ハイフン、"
            "アポストロフィのみ。例: Yamada）。"
        ).format(label=label)
    return None


def check_phone(raw: str | None, label: str) -> tuple[str, str | None]:
    text = clean_text(raw)
    shown = "".join("-" if c in _DASHES else c for c in text)
    shown = " ".join(shown.split())
    digits = "".join(c for c in shown if c not in " -()")
    if not digits:
        return shown, _("{label}を入力してください。").format(label=label)
    domestic = digits.isascii() and digits.isdigit() and digits.startswith("0")
    international = digits.startswith("+") and digits[1:].isascii() and digits[1:].isdigit()
    if (domestic and 10 <= len(digits) <= 11) or (international and 9 <= len(digits) <= 16):
        return shown, None
    return shown, _(
        "{label}の形式が正しくありません。市外局番から、半角数字とハイフンで入力してください"
        "（例: 03-1234-5678）。"
    ).format(label=label)


def check_application(
    values: Mapping[str, str], applicant_type: str, registration_email: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """(cleaned answers, errors in page order). Fields that do not apply are cleaned to ''."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}

    def label(name: str) -> str:
        return label_of(name, applicant_type)

    for name in ("family_name", "given_name"):
        cleaned[name] = squash(values.get(name))
        if message := _check_name(cleaned[name], label(name), NAME_MAX):
            errors[name] = message
    for name in ("family_name_kana", "given_name_kana"):
        cleaned[name] = to_katakana(squash(values.get(name)))
        if message := _check_kana(cleaned[name], label(name)):
            errors[name] = message
    for name in ("family_name_roman", "given_name_roman"):
        typed = squash(values.get(name))
        message = _check_roman(typed, label(name))
        cleaned[name] = typed if message else romanise_case(typed)
        if message:
            errors[name] = message

    email, email_error = check_email(values.get("cert_email", ""))
    cleaned["cert_email"] = email
    if email_error:
        errors["cert_email"] = email_error
    elif (
        applicant_type == AGENT
        and registration_email
        and email.casefold() == registration_email.casefold()
    ):
        errors["cert_email"] = _(
            "代理人ご自身のメールアドレスは使用できません。"
            "証明書の発行対象者（本人）のメールアドレスを入力してください。"
        )
    cleaned["phone"], phone_error = check_phone(values.get("phone"), label("phone"))
    if phone_error:
        errors["phone"] = phone_error

    _check_affiliation(values, cleaned, errors)

    if applicant_type == AGENT:
        cleaned["agent_name"] = squash(values.get("agent_name"))
        if message := _check_name(cleaned["agent_name"], label("agent_name"), AGENT_NAME_MAX):
            errors["agent_name"] = message
        cleaned["agent_org"] = squash(values.get("agent_org"))
        if message := _check_text(cleaned["agent_org"], label("agent_org"), ORG_MAX):
            errors["agent_org"] = message
        cleaned["agent_phone"], phone_error = check_phone(
            values.get("agent_phone"), label("agent_phone")
        )
        if phone_error:
            errors["agent_phone"] = phone_error

    order = fields_for(applicant_type)
    return cleaned, {name: errors[name] for name in order if name in errors}


def _check_text(value: str, label: str, maximum: int) -> str | None:
    if not value:
        return _("{label}を入力してください。").format(label=label)
    if len(value) > maximum:
        return _("{label}は{maximum}文字以内で入力してください。").format(
            label=label, maximum=maximum
        )
    if any(unicodedata.category(c)[0] == "C" or c in "<>" for c in value):
        return _("{label}に使用できない文字が含まれています。").format(label=label)
    return None


def _check_affiliation(
    values: Mapping[str, str], cleaned: dict[str, str], errors: dict[str, str]
) -> None:
    include = clean_text(values.get("include_org"))
    cleaned["include_org"] = include if include in ("yes", "no") else ""
    if not cleaned["include_org"]:
        errors["include_org"] = _("証明書に組織名を記載するかどうかを選択してください。")
    if include == "yes":
        cleaned["org_name"] = squash(values.get("org_name"))
        if message := _check_text(cleaned["org_name"], label_of("org_name"), ORG_MAX):
            errors["org_name"] = message
        cleaned["org_name_en"] = squash(values.get("org_name_en"))
        if not cleaned["org_name_en"]:
            errors["org_name_en"] = _("組織名（英語表記）を入力してください。")
        elif len(cleaned["org_name_en"]) > ORG_MAX:
            errors["org_name_en"] = _("組織名（英語表記）は64文字以内で入力してください。")
        elif not _ORG_EN.fullmatch(cleaned["org_name_en"]):
            errors["org_name_en"] = _(
                "組織名（英語表記）は半角英数字と記号（& ' ( ) , - . / :）で入力してください。"
            )
        number = _digits(values.get("corporate_number"))
        cleaned["corporate_number"] = number
        if not number:
            errors["corporate_number"] = _("法人番号を入力してください。")
        elif len(number) != 13 or not number.isascii() or not number.isdigit():
            errors["corporate_number"] = _("法人番号は13桁の数字で入力してください。")
        elif not corporate_number_is_valid(number):
            errors["corporate_number"] = _(
                "法人番号が正しくありません（検査用数字が一致しません）。"
                "国税庁法人番号公表サイトで番号をご確認ください。"
            )
    else:
        cleaned.update(dict.fromkeys(ORG_FIELDS, ""))

    qualification = clean_text(values.get("qualification")) or "none"
    cleaned["qualification"] = qualification if qualification in QUALIFICATIONS else ""
    if not cleaned["qualification"]:
        errors["qualification"] = _("資格を選択してください。")
    if qualification in QUALIFICATIONS and qualification != "none":
        number = _digits(values.get("qualification_number"))
        cleaned["qualification_number"] = number
        if not number:
            errors["qualification_number"] = _("資格の登録番号を入力してください。")
        elif not (number.isascii() and number.isdigit() and len(number) <= 10):
            errors["qualification_number"] = _(
                "資格の登録番号は数字（10桁以内）で入力してください。"
            )
    else:
        cleaned["qualification_number"] = ""

    years = clean_text(values.get("validity_years"))
    cleaned["validity_years"] = years if years in VALIDITY_YEARS else ""
    if not cleaned["validity_years"]:
        errors["validity_years"] = _("有効期間を選択してください。")


def check_field(
    name: str, values: Mapping[str, str], applicant_type: str, registration_email: str = ""
) -> tuple[str, str | None]:
    """One field's cleaned value and error, for the inline check on leaving it."""
    cleaned, errors = check_application(values, applicant_type, registration_email)
    return cleaned.get(name, values.get(name, "")), errors.get(name)


def agreement_error(values: Mapping[str, str]) -> str | None:
    """The agreement on 確認 (worded for this step: 申請する, not registration's 申請登録)."""
    if values.get("agree") == "yes":
        return None
    return _("申請するには、利用者の義務と個人情報の取扱いについてに同意してください。")


def shown_fields(cleaned: Mapping[str, str], applicant_type: str) -> list[str]:
    """The answers to show on 確認 and to the principal: those that apply."""
    return [name for name in fields_for(applicant_type) if applicable(name, cleaned)]
