"""The flow to issuance shown above each step: lanes of steps, as data."""

from __future__ import annotations

from dataclasses import dataclass

from app.i18n import _


@dataclass(frozen=True)
class Lane:
    title: str
    steps: tuple[tuple[str, str], ...]  # (key, label)


def lanes(applicant_type: str) -> list[Lane]:
    """本人: one lane. 代理人: the agent's work, then the principal's."""
    registration = (
        ("reg_input", _("申請者情報入力")),
        ("reg_confirm", _("確認")),
        ("reg_complete", _("完了")),
        ("mail", _("確認メール受信")),
        ("app_input", _("発行申請情報入力")),
        ("app_confirm", _("確認")),
        ("app_complete", _("完了")),
    )
    issuance = (
        ("wait", _("数日後")),
        ("issued", _("発行完了")),
        ("auto_register", _("証明書を自動登録")),
    )
    if applicant_type == "self":
        return [Lane(_("証明書発行までの流れ"), registration + issuance)]
    if applicant_type == "agent":
        principal = (
            ("principal_mail", _("確認メール受信")),
            ("approve", _("申請情報承認")),
            ("approve_complete", _("完了")),
        )
        return [Lane(_("代理人作業"), registration), Lane(_("本人作業"), principal + issuance)]
    return []
