"""The issuance application's answers: validation and normalisation. Pure functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.application import csr
from app.application.rules import TEXT_RULES, check_text
from app.i18n import _
from app.registration.form import AGENT, DASHES, check_email, clean_text

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
KEY_FIELDS = ("key_source", "csr_pem")  # 鍵の作成: here (the standard) or the applicant's CSR
AGENT_FIELDS = ("agent_name", "agent_org", "agent_phone")
ORG_FIELDS = ("org_name", "org_name_en", "corporate_number")


def fields_for(applicant_type: str) -> tuple[str, ...]:
    """Every answer of this kind of application, in page order."""
    extra = AGENT_FIELDS if applicant_type == AGENT else ()
    return SUBJECT_FIELDS + AFFILIATION_FIELDS + KEY_FIELDS + extra


def inline_fields(applicant_type: str) -> tuple[str, ...]:
    """Every field is checked inline when it changes (a choice clears its own error)."""
    return fields_for(applicant_type)


def applicable(name: str, values: Mapping[str, str]) -> bool:
    """Fields that depend on another answer only count when that answer asks for them."""
    if name in ORG_FIELDS:
        return values.get("include_org") == "yes"
    if name == "qualification_number":
        return values.get("qualification", "none") not in ("", "none")
    if name == "csr_pem":
        return values.get("key_source") == csr.CSR
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
        "key_source": _("鍵の作成"),
        "csr_pem": _("CSR（PEM形式）"),
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
    if name == "key_source":
        return key_source_label(value)
    if name == "csr_pem":
        key = csr.key_of(value) if value else None
        return key.description() if key else ""
    return value


def key_source_label(value: str) -> str:
    return {
        csr.GENERATED: _("この窓口で作成する（標準）"),
        csr.CSR: _("自分で作成したCSRを提出する（ICカード・HSMなど）"),
    }.get(value, "")


def corporate_number_is_valid(number: str) -> bool:
    """法人番号: 13 digits, the first a check digit over the other 12 (国税庁's formula)."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    base = number[1:]
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return int(number[0]) == 9 - total % 9


def _digits(raw: str | None) -> str:
    text = clean_text(raw)
    return "".join(c for c in text if not c.isspace() and c not in DASHES)


def check_phone(raw: str | None, label: str) -> tuple[str, str | None]:
    text = clean_text(raw)
    shown = "".join("-" if c in DASHES else c for c in text)
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

    def keep(name: str, result: tuple[str, str | None]) -> None:
        cleaned[name], message = result
        if message:
            errors[name] = message

    def text(name: str) -> None:
        keep(name, check_text(values.get(name), label_of(name, applicant_type), TEXT_RULES[name]))

    for name in SUBJECT_FIELDS:
        if name in TEXT_RULES:  # the names: kanji, kana, romaji
            text(name)
    email, email_error = check_email(values.get("cert_email", ""))
    if (
        not email_error
        and applicant_type == AGENT
        and registration_email
        and email.casefold() == registration_email.casefold()
    ):
        email_error = _(
            "代理人ご自身のメールアドレスは使用できません。"
            "証明書の発行対象者（本人）のメールアドレスを入力してください。"
        )
    keep("cert_email", (email, email_error))
    keep("phone", check_phone(values.get("phone"), label_of("phone", applicant_type)))

    _check_affiliation(values, cleaned, errors, text)
    _check_key_source(values, cleaned, errors)

    if applicant_type == AGENT:
        text("agent_name")
        text("agent_org")
        keep(
            "agent_phone",
            check_phone(values.get("agent_phone"), label_of("agent_phone", applicant_type)),
        )

    order = fields_for(applicant_type)
    return cleaned, {name: errors[name] for name in order if name in errors}


def _check_affiliation(
    values: Mapping[str, str],
    cleaned: dict[str, str],
    errors: dict[str, str],
    text: Callable[[str], None],
) -> None:
    include = clean_text(values.get("include_org"))
    cleaned["include_org"] = include if include in ("yes", "no") else ""
    if not cleaned["include_org"]:
        errors["include_org"] = _("証明書に組織名を記載するかどうかを選択してください。")
    if include == "yes":
        text("org_name")
        text("org_name_en")
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


def _check_key_source(
    values: Mapping[str, str], cleaned: dict[str, str], errors: dict[str, str]
) -> None:
    """鍵の作成: unanswered (drafts from before the option) is the standard, a key made here."""
    source = clean_text((values.get("key_source") or "")[:64]) or csr.GENERATED
    cleaned["key_source"] = source if source in csr.KEY_SOURCES else ""
    if not cleaned["key_source"]:
        errors["key_source"] = _("鍵の作成方法を選択してください。")
    if source == csr.CSR:
        keep_pem, message = csr.check_csr(values.get("csr_pem"))
        cleaned["csr_pem"] = keep_pem
        if message:
            errors["csr_pem"] = message
    else:
        cleaned["csr_pem"] = ""


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
