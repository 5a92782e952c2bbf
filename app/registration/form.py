"""Step 1 and confirm: validation and normalisation. Pure functions, Japanese messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from app.i18n import _

SELF = "self"
AGENT = "agent"
APPLICANT_TYPES = (SELF, AGENT)

# Crockford's base 32: no I, L, O, U, so a ticket read aloud or retyped stays unambiguous.
TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_GROUPS = 4
TICKET_GROUP_SIZE = 4
_TICKET_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Every dash, hyphen and long-vowel mark people type into numbers (tickets, 法人番号, phones).
DASHES = "-‐‑‒–—―ー−ｰ"
EMAIL_MAX_LENGTH = 254

# Field order: the order of the page, so the error summary follows it.
STEP1_FIELDS = (
    "applicant_type",
    "company_code",
    "ticket_number",
    "email",
    "email_confirm",
    "captcha_answer",
)


class TicketState(Enum):
    AVAILABLE = "available"
    NOT_FOUND = "not_found"  # unknown, or another company's: one message for both
    USED = "used"


@dataclass(frozen=True)
class Step1Data:
    applicant_type: str
    company_code: str
    ticket_number: str
    email: str
    nonce: str  # the solved CAPTCHA challenge's: the registration that uses the draft takes it


def applicant_type_label(value: str) -> str:
    return {SELF: _("本人"), AGENT: _("代理人")}.get(value, "")


def clean_text(raw: str | None) -> str:
    return unicodedata.normalize("NFKC", raw or "").strip()


def normalise_ticket(raw: str) -> str | None:
    """'abcd efgh-ijkm-0123' -> 'ABCD-EFGH-1JKM-0123'; None when it cannot be a ticket."""
    text = unicodedata.normalize("NFKC", raw).upper()
    compact = "".join(c for c in text if not c.isspace() and c not in DASHES)
    compact = compact.translate(_TICKET_LOOKALIKES)
    if len(compact) != TICKET_GROUPS * TICKET_GROUP_SIZE:
        return None
    if any(c not in TICKET_ALPHABET for c in compact):
        return None
    size = TICKET_GROUP_SIZE
    return "-".join(compact[i : i + size] for i in range(0, len(compact), size))


# A plain ASCII address: a dot-atom before the @ (RFC 5322's atext, as email-validator
# reads it), a host name of two labels or more after it whose last character is a letter.
_ATEXT = r"A-Za-z0-9_!#$%&'*+/=?^`{|}~-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@((?:{_LABEL}\.)+(?:[A-Za-z0-9][A-Za-z0-9-]{{0,61}})?[A-Za-z])"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def plain_address(text: str) -> str | None:
    """The address as email-validator normalises it (the domain in lower case), for an
    address it accepts without its longer walk (Unicode normalisation, IDNA, ~20 µs: the
    inline check asks on every change of the field), or None to ask email-validator. Left
    to it: anything but plain ASCII, a local part over 64 characters, a domain over 253, a
    label with "--" (Punycode, RFC 5890's reserved labels), the special-use names it
    refuses, and the RFC 2142 mailboxes it lowercases. tests/unit/test_form.py checks with
    Hypothesis that every answer here is email-validator's."""
    match = _PLAIN_ADDRESS.fullmatch(text)
    if match is None:
        return None
    local, domain = match.groups()
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        return None
    domain = domain.lower()
    for name in _SPECIAL_USE:
        if domain == name or domain.endswith("." + name):
            return None
    return f"{local}@{domain}"


def check_email(raw: str) -> tuple[str, str | None]:
    """(normalised address, error message or None)."""
    text = clean_text(raw)
    if not text:
        return text, _("メールアドレスを入力してください。")
    if len(text) > EMAIL_MAX_LENGTH:
        return text, _("メールアドレスは254文字以内で入力してください。")
    plain = plain_address(text)
    if plain is not None:
        return plain, None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text, _("メールアドレスの形式が正しくありません。（例: taro@example.co.jp）")
    return result.normalized, None


def check_step1_syntax(
    values: Mapping[str, str], only: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Normalised values and the errors that need no database. CAPTCHA is judged elsewhere.
    With `only` (an inline check of one field), that field and what its message depends on:
    the type and company always, the address for its confirmation."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}

    applicant_type = clean_text(values.get("applicant_type"))
    cleaned["applicant_type"] = applicant_type
    if applicant_type not in APPLICANT_TYPES:
        errors["applicant_type"] = _("申請者（本人または代理人）を選択してください。")

    company_code = clean_text(values.get("company_code")).upper()
    cleaned["company_code"] = company_code
    if not company_code:
        errors["company_code"] = _("企業コードを選択してください。")

    if only in (None, "ticket_number"):
        _check_ticket(values, cleaned, errors)
    if only in (None, "email", "email_confirm"):
        _check_addresses(values, cleaned, errors, confirmation=only != "email")
    if only is None and not clean_text(values.get("captcha_answer")):
        errors["captcha_answer"] = _("画像に表示された文字を入力してください。")
    return cleaned, errors


def _check_addresses(
    values: Mapping[str, str], cleaned: dict[str, str], errors: dict[str, str], confirmation: bool
) -> None:
    email, email_error = check_email(values.get("email", ""))
    cleaned["email"] = email
    if email_error:
        errors["email"] = email_error
    if not confirmation:
        return
    confirm_raw = clean_text(values.get("email_confirm"))
    confirm, _confirm_error = check_email(confirm_raw)
    cleaned["email_confirm"] = confirm if confirm_raw else ""
    if not confirm_raw:
        errors["email_confirm"] = _("確認のため、メールアドレスをもう一度入力してください。")
    elif "email" not in errors and confirm.casefold() != email.casefold():
        errors["email_confirm"] = _("メールアドレスと（確認）メールアドレスが一致しません。")


def _check_ticket(
    values: Mapping[str, str], cleaned: dict[str, str], errors: dict[str, str]
) -> None:
    ticket_raw = clean_text(values.get("ticket_number"))
    ticket = normalise_ticket(ticket_raw) if ticket_raw else None
    cleaned["ticket_number"] = ticket or ticket_raw
    if not ticket_raw:
        errors["ticket_number"] = _("チケット番号を入力してください。")
    elif ticket is None:
        errors["ticket_number"] = _(
            "チケット番号の形式が正しくありません。"
            "LRAから発行された16文字のチケット番号（例: ABCD-EFGH-JKMN-2345）を入力してください。"
        )


def company_error(company_exists: bool) -> str | None:
    return None if company_exists else _("選択された企業コードは登録されていません。")


def ticket_error(state: TicketState) -> str | None:
    if state is TicketState.NOT_FOUND:
        return _(
            "このチケット番号は、選択した企業コードでは使用できません。"
            "企業コードとチケット番号をご確認ください。"
        )
    if state is TicketState.USED:
        return _("このチケット番号は既に発行申請に使用されています。")
    return None


def captcha_error(verdict: str, ttl_minutes: int = 10) -> str | None:
    """verdict: correct | wrong | expired | unknown (see app.captcha.service.Verdict)."""
    if verdict == "correct":
        return None
    if verdict == "expired":
        return _(
            "画像の有効期限（{minutes}分）が切れました。新しい画像の文字を入力してください。"
        ).format(minutes=ttl_minutes)
    return _("画像の文字が正しくありません。新しい画像に表示された文字を入力してください。")


def agreement_error(values: Mapping[str, str]) -> str | None:
    if values.get("agree") == "yes":
        return None
    return _("申請登録するには、利用者の義務と個人情報の取扱いについてに同意してください。")


def ordered(errors: Mapping[str, str], order: tuple[str, ...] = STEP1_FIELDS) -> dict[str, str]:
    """Errors in page order, so the summary reads top to bottom."""
    return {name: errors[name] for name in order if name in errors} | {
        k: v for k, v in errors.items() if k not in order
    }
