"""Application states and the only transitions allowed between them."""

from __future__ import annotations

from app.i18n import _

DRAFT = "draft"
SUBMITTED = "submitted"
AWAITING_PRINCIPAL = "awaiting_principal"
PRINCIPAL_APPROVED = "principal_approved"
PRINCIPAL_DECLINED = "principal_declined"
IN_REVIEW = "in_review"

ALL = (DRAFT, SUBMITTED, AWAITING_PRINCIPAL, PRINCIPAL_APPROVED, PRINCIPAL_DECLINED, IN_REVIEW)

# Forward only. A declined application returns to draft so the agent can correct and re-send
# it; that is the one step back, and only from principal_declined.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED}),
    SUBMITTED: frozenset({AWAITING_PRINCIPAL, IN_REVIEW}),
    AWAITING_PRINCIPAL: frozenset({PRINCIPAL_APPROVED, PRINCIPAL_DECLINED}),
    PRINCIPAL_APPROVED: frozenset({IN_REVIEW}),
    PRINCIPAL_DECLINED: frozenset({DRAFT}),
    IN_REVIEW: frozenset(),
}


class TransitionError(ValueError):
    """A move the state machine does not allow."""


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_move(current: str, target: str) -> None:
    if not can_move(current, target):
        raise TransitionError(f"{current} -> {target} is not an allowed transition")


def state_label(state: str) -> str:
    return {
        DRAFT: _("入力中"),
        SUBMITTED: _("申請済み"),
        AWAITING_PRINCIPAL: _("本人の承認待ち"),
        PRINCIPAL_APPROVED: _("本人承認済み"),
        PRINCIPAL_DECLINED: _("本人が承認しませんでした（修正待ち）"),
        IN_REVIEW: _("LRA審査中"),
    }.get(state, state)
