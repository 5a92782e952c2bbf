"""The longest answers kept: bounds checked before anything of a request is stored. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from app.application import csr
from app.application.form import QUALIFICATIONS, VALIDITY_YEARS, fields_for, label_of
from app.application.rules import (
    AGENT_NAME_MAX,
    KANA_MAX,
    NAME_MAX,
    ORG_MAX,
    ROMAN_MAX,
    squash,
)
from app.i18n import _
from app.registration.form import EMAIL_MAX_LENGTH, clean_text

PHONE_MAX = 24

# The longest answer kept, even in a draft (一時保存, inline checks), measured the way the rules
# measure it (NFKC, spaces squashed). One answer over its maximum, or a choice that is not
# offered, and nothing of that request is stored (storage_errors).
STORED_MAX = {
    "family_name": NAME_MAX,
    "given_name": NAME_MAX,
    "family_name_kana": KANA_MAX,
    "given_name_kana": KANA_MAX,
    "family_name_roman": ROMAN_MAX,
    "given_name_roman": ROMAN_MAX,
    "cert_email": EMAIL_MAX_LENGTH,
    "phone": PHONE_MAX,
    "org_name": ORG_MAX,
    "org_name_en": ORG_MAX,
    "corporate_number": 20,  # 13 digits, perhaps typed with hyphens or spaces
    "qualification_number": 16,  # at most 10 digits, likewise
    "agent_name": AGENT_NAME_MAX,
    "agent_org": ORG_MAX,
    "agent_phone": PHONE_MAX,
    "csr_pem": csr.CSR_MAX,  # counted as sent (PEM keeps its lines), in storage_errors
}
CHOICES = {
    "include_org": ("yes", "no"),
    "qualification": QUALIFICATIONS,
    "validity_years": VALIDITY_YEARS,
    "key_source": csr.KEY_SOURCES,
}


def _choice_error(name: str) -> str:
    return {
        "include_org": _("証明書に組織名を記載するかどうかを選択してください。"),
        "qualification": _("資格を選択してください。"),
        "validity_years": _("有効期間を選択してください。"),
        "key_source": _("鍵の作成方法を選択してください。"),
    }[name]


def _too_long(raw: str, maximum: int) -> bool:
    # NFKC may shorten (half-width ｶﾞ becomes ガ), so the typed text may be up to twice as long;
    # beyond that it is too long without normalising it at all.
    return len(raw) > 2 * maximum + 16 or len(squash(raw)) > maximum


def in_page_order(errors: Mapping[str, str], applicant_type: str) -> dict[str, str]:
    return {name: errors[name] for name in fields_for(applicant_type) if name in errors}


def storage_errors(values: Mapping[str, str], applicant_type: str) -> dict[str, str]:
    """The answers too long to keep and the choices not offered, in page order. While there
    are any, nothing of the request may be stored: the page shows these messages instead."""
    errors: dict[str, str] = {}
    for name in fields_for(applicant_type):
        raw = values.get(name, "")
        if name in CHOICES:
            if raw and clean_text(raw[:64]) not in CHOICES[name]:
                errors[name] = _choice_error(name)
        elif name == "csr_pem":  # PEM: its lines are kept, so its length is counted as sent
            if len(raw) > csr.CSR_MAX:
                errors[name] = csr.check_csr(raw)[1] or ""
        elif _too_long(raw, STORED_MAX[name]):
            errors[name] = _("{label}は{maximum}文字以内で入力してください。").format(
                label=label_of(name, applicant_type), maximum=STORED_MAX[name]
            )
    return errors
