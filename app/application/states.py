"""Application states and the only transitions allowed between them."""

from __future__ import annotations

from app.i18n import _

DRAFT = "draft"
SUBMITTED = "submitted"
AWAITING_PRINCIPAL = "awaiting_principal"
PRINCIPAL_APPROVED = "principal_approved"
PRINCIPAL_DECLINED = "principal_declined"
IN_REVIEW = "in_review"
CORRECTION_REQUESTED = "correction_requested"
RECOMMENDED = "recommended"  # four-eyes: a reviewer's recommendation awaiting an approver
APPROVED = "approved"
REJECTED = "rejected"
ISSUED = "issued"  # the certificate is issued (tasks/issue_certificate.py)
REVOKED = "revoked"  # its certificate was revoked (app/revocation/service.py)

ALL = (
    DRAFT,
    SUBMITTED,
    AWAITING_PRINCIPAL,
    PRINCIPAL_APPROVED,
    PRINCIPAL_DECLINED,
    IN_REVIEW,
    CORRECTION_REQUESTED,
    RECOMMENDED,
    APPROVED,
    REJECTED,
    ISSUED,
    REVOKED,
)

# Forward only, but for the two ways back to the applicant: a declined application (by the
# principal) and one the LRA asked to correct return to draft when the applicant opens the
# fresh link. in_review -> in_review is an operator taking over the review (the holder
# changes, the status does not).
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED}),
    SUBMITTED: frozenset({AWAITING_PRINCIPAL, IN_REVIEW}),
    AWAITING_PRINCIPAL: frozenset({PRINCIPAL_APPROVED, PRINCIPAL_DECLINED}),
    PRINCIPAL_APPROVED: frozenset({IN_REVIEW}),
    PRINCIPAL_DECLINED: frozenset({DRAFT}),
    IN_REVIEW: frozenset({IN_REVIEW, RECOMMENDED, APPROVED, CORRECTION_REQUESTED, REJECTED}),
    RECOMMENDED: frozenset({APPROVED, CORRECTION_REQUESTED, REJECTED}),
    CORRECTION_REQUESTED: frozenset({DRAFT}),
    APPROVED: frozenset({ISSUED}),
    REJECTED: frozenset(),
    ISSUED: frozenset({REVOKED}),
    REVOKED: frozenset(),
}

# What the LRA's queue waits on: a 本人 application once submitted, a 代理人 one once its
# principal approved it.
WAITING = (SUBMITTED, PRINCIPAL_APPROVED)


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
        CORRECTION_REQUESTED: _("修正依頼中"),
        RECOMMENDED: _("承認待ち"),
        APPROVED: _("承認済み"),
        REJECTED: _("却下"),
        ISSUED: _("発行済み"),
        REVOKED: _("失効"),
    }.get(state, state)
