"""The principal's decision on an agent's application: validation. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.i18n import _
from app.registration.form import clean_text

REASON_MAX = 500


@dataclass(frozen=True)
class DecisionInput:
    approve: bool
    reason: str


def check_decision(
    values: Mapping[str, str],
) -> tuple[DecisionInput | None, dict[str, str], dict[str, str]]:
    """(decision or None, errors in page order, values to keep)."""
    decision = clean_text(values.get("decision"))
    reason = clean_text(values.get("reason"))
    errors: dict[str, str] = {}
    if decision not in ("approve", "decline"):
        errors["decision"] = _("承認するか、承認しないかを選択してください。")
    if decision == "approve" and values.get("agree") != "yes":
        errors["agree"] = _("承認するには、利用者の義務に同意してください。")
    if decision == "decline" and not reason:
        errors["reason"] = _("承認しない理由を入力してください。代理人の方にお伝えします。")
    if len(reason) > REASON_MAX:
        errors["reason"] = _("理由は{maximum}文字以内で入力してください。").format(
            maximum=REASON_MAX
        )
    kept = {"decision": decision, "reason": reason, "agree": values.get("agree", "")}
    if errors:
        return None, errors, kept
    return DecisionInput(decision == "approve", reason if decision == "decline" else ""), {}, kept
