"""The review's pure rules: which actions each role is offered in each state, four-eyes, the
checklist per answers, the service level in business days, and the decision forms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.application import states
from app.console.review import form
from app.console.review.rules import (
    Action,
    actions,
    business_days_between,
    checklist,
    houjin_bangou_url,
    overdue,
)

ME, OTHER = 1, 2


def offered(status: str, role: str, approvals: int = 1, **row: int | None) -> set[Action]:
    return set(actions({"status": status, **row}, ME, role, approvals))


@pytest.mark.parametrize("status", states.WAITING)
def test_what_waits_may_be_claimed_by_reviewers_and_approvers_only(status: str) -> None:
    assert offered(status, "reviewer") == {Action.CLAIM}
    assert offered(status, "approver") == {Action.CLAIM}
    assert offered(status, "auditor") == offered(status, "admin") == set()


def test_in_review_the_holder_decides_and_others_may_take_over() -> None:
    assert offered("in_review", "reviewer", assigned_to=OTHER) == {Action.TAKE_OVER}
    assert offered("in_review", "reviewer", assigned_to=ME) == {
        Action.RECOMMEND,
        Action.CORRECT,
        Action.REJECT,
    }
    assert offered("in_review", "approver", assigned_to=ME) == {
        Action.APPROVE,
        Action.CORRECT,
        Action.REJECT,
    }
    # four-eyes: even an approver holding it only recommends
    assert Action.APPROVE not in offered("in_review", "approver", 2, assigned_to=ME)
    assert offered("in_review", "auditor", assigned_to=ME) == set()


@pytest.mark.parametrize("approvals", [1, 2])
def test_nobody_approves_their_own_recommendation(approvals: int) -> None:
    assert offered("recommended", "approver", approvals, recommended_by=ME) == set()
    assert Action.APPROVE in offered("recommended", "approver", approvals, recommended_by=OTHER)
    assert offered("recommended", "reviewer", approvals, recommended_by=OTHER) == set()


@pytest.mark.parametrize("status", ["draft", "awaiting_principal", "approved", "rejected"])
def test_nothing_is_offered_outside_the_review(status: str) -> None:
    assert offered(status, "approver", assigned_to=ME) == set()


def test_every_offered_action_is_an_allowed_transition() -> None:
    from app.console.review.rules import target_of

    for status in states.ALL:
        for role in ("reviewer", "approver"):
            for action in offered(status, role, assigned_to=ME, recommended_by=OTHER):
                assert states.can_move(status, target_of(action)), (status, action)


def test_the_checklist_follows_the_answers() -> None:
    names = [name for name, _ in checklist({"include_org": "no", "qualification": "none"})]
    assert names == ["name_matches", "document_valid"]
    names = [name for name, _ in checklist({"include_org": "yes", "qualification": "JFBA"})]
    assert names == [
        "name_matches",
        "employment_matches",
        "corporate_number",
        "qualification",
        "document_valid",
    ]
    assert houjin_bangou_url("7000012050002").endswith("selHouzinNo=7000012050002")


def test_the_service_level_counts_business_days_in_japan_time() -> None:
    friday, monday = datetime(2026, 12, 4).date(), datetime(2026, 12, 7).date()
    assert business_days_between(friday, monday) == 1
    # Friday 10:00 in Japan; Tuesday is 2 business days on, Wednesday 3
    submitted = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    assert not overdue(submitted, datetime(2026, 12, 8, 8, 0, tzinfo=UTC), 2)
    assert overdue(submitted, datetime(2026, 12, 9, 1, 0, tzinfo=UTC), 2)
    # 23:30 UTC on Thursday is Friday in Japan: by Tuesday 10:00 two business days, not three
    thursday_night = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    assert not overdue(thursday_night, datetime(2026, 12, 8, 1, 0, tzinfo=UTC), 2)


def test_approval_needs_every_applicable_check() -> None:
    checks = ["name_matches", "document_valid"]
    decision, errors = form.parse(Action.APPROVE, {"check_name_matches": "yes"}, checks, [])
    assert "checklist" in errors
    decision, errors = form.parse(
        Action.APPROVE, {"check_name_matches": "yes", "check_document_valid": "yes"}, checks, []
    )
    assert errors == {} and decision.checklist == tuple(checks)


def test_a_correction_needs_fields_and_a_message() -> None:
    _decision, errors = form.parse(Action.CORRECT, {}, [], ["family_name"])
    assert set(errors) == {"fields", "message"}
    decision, errors = form.parse(
        Action.CORRECT,
        {
            "fix_family_name": "yes",
            "fix_documents": "yes",
            "fix_unknown": "yes",
            "message": " 直して ",
        },
        [],
        ["family_name"],
    )
    assert errors == {} and decision.fields == ("family_name", "documents")
    assert decision.message == "直して"
    _decision, errors = form.parse(
        Action.CORRECT, {"fix_family_name": "yes", "message": "あ" * 1001}, [], ["family_name"]
    )
    assert "message" in errors


def test_a_rejection_needs_a_known_reason_and_the_ticket_choice() -> None:
    _decision, errors = form.parse(Action.REJECT, {"reason": "made-up"}, [], [])
    assert set(errors) == {"reason", "ticket_reusable"}
    _decision, errors = form.parse(
        Action.REJECT, {"reason": "other", "ticket_reusable": "no"}, [], []
    )
    assert set(errors) == {"reject_text"}
    decision, errors = form.parse(
        Action.REJECT,
        {
            "reason": "document_invalid",
            "ticket_reusable": "yes",
            "reject_text": "裏面がありません。",
        },
        [],
        [],
    )
    assert errors == {} and decision.ticket_reusable
    assert (
        decision.reason_text.startswith("本人確認書類が有効期限切れ")
        and "裏面" in decision.reason_text
    )


def test_taking_over_needs_a_reason() -> None:
    _decision, errors = form.parse(Action.TAKE_OVER, {"takeover_reason": "  "}, [], [])
    assert "takeover_reason" in errors
