"""The review's forms (pure): the checklist, 「修正を依頼」 (fields, documents, message),
「却下」 (a reason from the list plus text, and whether the ticket may be used again) and the
reason for taking a review over. Japanese messages, keyed by field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.console.review.rules import Action
from app.i18n import _

MESSAGE_MAX = 1000
CHECK_PREFIX = "check_"
FIELD_PREFIX = "fix_"
DOCUMENTS = "documents"  # 「修正を依頼」's choice of the identity documents


def rejection_reasons() -> list[tuple[str, str]]:
    """(code, text) of the reasons an operator chooses from; the text goes into the mail."""
    return [
        ("identity_mismatch", _("本人確認書類の内容と申請内容が一致しませんでした。")),
        ("employment_unproven", _("組織への在籍を確認できませんでした。")),
        ("corporate_number", _("法人番号と組織名が一致しませんでした。")),
        ("document_invalid", _("本人確認書類が有効期限切れ、または判読できませんでした。")),
        ("other", _("その他（下の欄に記入）")),
    ]


@dataclass(frozen=True)
class Decision:
    action: Action
    checklist: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # to correct (application field names, or "documents")
    message: str = ""  # to the applicant (correction), or the rejection's added text
    reason: str = ""  # rejection reason code
    ticket_reusable: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def reason_text(self) -> str:
        """The rejection reason as mailed: the chosen text, then what was written."""
        chosen = dict(rejection_reasons()).get(self.reason, "")
        if self.reason == "other":
            return self.message
        return f"{chosen}\n{self.message}".strip()


def _text(values: Mapping[str, str], name: str) -> str:
    return values.get(name, "").replace("\r\n", "\n").strip()


def parse(
    action: Action,
    values: Mapping[str, str],
    checks: Sequence[str],
    correctable: Sequence[str],
) -> tuple[Decision, dict[str, str]]:
    """The decision posted for `action`, and what is wrong with it (empty = fine).
    `checks` are the checklist items that apply, `correctable` the fields that may be sent
    back (plus the documents)."""
    errors: dict[str, str] = {}
    ticked = tuple(name for name in checks if values.get(CHECK_PREFIX + name) == "yes")
    message = _text(values, "message")
    if len(message) > MESSAGE_MAX:
        errors["message"] = _("%(max)s文字以内で入力してください。") % {"max": MESSAGE_MAX}
    if action in (Action.APPROVE, Action.RECOMMEND):
        if len(ticked) != len(checks):
            errors["checklist"] = _("確認項目をすべて確認してから承認してください。")
        return Decision(action, ticked), errors
    if action == Action.CORRECT:
        chosen = tuple(
            name for name in (*correctable, DOCUMENTS) if values.get(FIELD_PREFIX + name) == "yes"
        )
        if not chosen:
            errors["fields"] = _("修正を依頼する項目を選択してください。")
        if not message and "message" not in errors:
            errors["message"] = _("申請者へのメッセージを入力してください。")
        return Decision(action, ticked, fields=chosen, message=message), errors
    if action == Action.REJECT:
        errors.pop("message", None)
        message = _text(values, "reject_text")
        reason = values.get("reason", "")
        if len(message) > MESSAGE_MAX:
            errors["reject_text"] = _("%(max)s文字以内で入力してください。") % {"max": MESSAGE_MAX}
        if reason not in dict(rejection_reasons()):
            errors["reason"] = _("却下の理由を選択してください。")
        elif reason == "other" and not message:
            errors["reject_text"] = _("「その他」を選んだ場合は、理由を入力してください。")
        reuse = values.get("ticket_reusable", "")
        if reuse not in ("yes", "no"):
            errors["ticket_reusable"] = _("チケットを再度使えるようにするかを選択してください。")
        decision = Decision(
            action, ticked, message=message, reason=reason, ticket_reusable=reuse == "yes"
        )
        return decision, errors
    if action == Action.TAKE_OVER:
        reason_text = _text(values, "takeover_reason")
        if not reason_text:
            errors["takeover_reason"] = _("担当を引き継ぐ理由を入力してください。")
        elif len(reason_text) > MESSAGE_MAX:
            errors["takeover_reason"] = _("%(max)s文字以内で入力してください。") % {
                "max": MESSAGE_MAX
            }
        return Decision(action, message=reason_text), errors
    return Decision(action), errors
