"""The review's pure rules: which actions each role is offered in each state, four-eyes, the
checklist per answers, the service level in business days, and the decision forms."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.application import states
from app.console.review import form
from app.console.review.pages import names_in
from app.console.review.rules import (
    Action,
    actions,
    age_text,
    business_day_after,
    business_days_between,
    checklist,
    houjin_bangou_url,
    is_business_day,
    last_overdue_day,
    overdue,
    overdue_since,
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


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 1, 1), "元日"),
        (date(2026, 1, 12), "成人の日 (second Monday)"),
        (date(2026, 5, 6), "振替休日 (憲法記念日 fell on a Sunday)"),
        (date(2026, 9, 22), "国民の休日 (between two holidays)"),
        (date(2026, 11, 23), "勤労感謝の日"),
        (date(2026, 12, 5), "a Saturday"),
        (date(2026, 12, 6), "a Sunday"),
    ],
)
def test_weekends_and_japanese_public_holidays_are_no_business_days(day: date, why: str) -> None:
    assert not is_business_day(day), why


def test_ordinary_weekdays_and_the_eves_of_holidays_are_business_days() -> None:
    for day in (date(2026, 12, 7), date(2026, 12, 31), date(2026, 9, 18), date(2026, 5, 7)):
        assert is_business_day(day), day


def test_business_days_skip_golden_week_and_silver_week() -> None:
    # Thursday 30 April 2026: Friday 1 May, then 2-6 May are weekend and holidays
    assert business_day_after(date(2026, 4, 30), 1) == date(2026, 5, 1)
    assert business_day_after(date(2026, 4, 30), 2) == date(2026, 5, 7)
    assert business_days_between(date(2026, 4, 30), date(2026, 5, 7)) == 2
    # Friday 18 September 2026: 19-23 September are weekend, 敬老の日, 国民の休日, 秋分の日
    assert business_day_after(date(2026, 9, 18), 1) == date(2026, 9, 24)
    assert business_days_between(date(2026, 9, 18), date(2026, 9, 23)) == 0


def test_a_submission_before_a_holiday_weekend_is_not_overdue_during_it() -> None:
    # Thursday 30 April 2026 10:00 in Japan, a service level of 2 business days: 1 May and
    # 7 May are the two; it is overdue from Friday 8 May, not on the Wednesday 6 May holiday
    submitted = datetime(2026, 4, 30, 1, 0, tzinfo=UTC)
    assert not overdue(submitted, datetime(2026, 5, 6, 12, 0, tzinfo=UTC), 2)
    assert not overdue(submitted, datetime(2026, 5, 7, 14, 0, tzinfo=UTC), 2)  # 23:00 JST
    assert overdue(submitted, datetime(2026, 5, 7, 15, 0, tzinfo=UTC), 2)  # 00:00 JST 8 May
    # Without the holidays it would have been overdue on Tuesday 5 May
    assert business_days_between(date(2026, 4, 30), date(2026, 5, 5)) == 1


@given(
    today=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    back=st.integers(-5, 60),
    sla=st.integers(0, 10),
)
def test_the_last_overdue_day_divides_a_page_as_each_row_would(
    today: date, back: int, sla: int
) -> None:
    # The queue asks once a page; each row asking overdue_since must get the same answer.
    day = date.fromordinal(today.toordinal() - back)
    assert (day <= last_overdue_day(today, sla)) == overdue_since(day, today, sla)


def test_the_last_overdue_day_around_golden_week() -> None:
    # On Friday 8 May 2026 with 2 business days, 30 April is overdue (1 May, 7 May, 8 May
    # have begun), 1 May is not (7 May and 8 May only); on 7 May, 30 April is not.
    assert last_overdue_day(date(2026, 5, 8), 2) == date(2026, 4, 30)
    assert last_overdue_day(date(2026, 5, 7), 2) == date(2026, 4, 29)  # 昭和の日 itself


def test_the_service_level_agrees_with_counting_the_days_for_years_on() -> None:
    start = date(2025, 12, 26)
    submitted = datetime(2025, 12, 26, 3, 0, tzinfo=UTC)
    for offset in range(0, 800, 7):
        today = date.fromordinal(start.toordinal() + offset)
        now = datetime(today.year, today.month, today.day, 3, 0, tzinfo=UTC)
        for sla in (1, 2, 5):
            assert overdue(submitted, now, sla) == (business_days_between(start, today) > sla)


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


def test_a_queue_rows_names_come_from_its_answers_json() -> None:
    answers = {"family_name": "山田", "given_name": "太郎", "family_name_kana": "ヤマダ"}
    assert names_in(json.dumps(answers, ensure_ascii=False)) == ("山田 太郎", "ヤマダ")
    assert names_in('{"given_name": "花子"}') == ("花子", "")
    # Whatever is stored, the queue shows a row (an empty name), never an error.
    for stored in (None, "", "not json", "[1, 2]", '"text"'):
        assert names_in(stored) == ("", ""), stored


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(days=3, hours=5), "3日"),
        (timedelta(days=1), "1日"),
        (timedelta(hours=23, minutes=59, seconds=59), "23時間"),
        (timedelta(hours=1), "1時間"),
        (timedelta(minutes=59, seconds=59), "59分"),
        (timedelta(seconds=30), "0分"),
        (timedelta(seconds=-90), "0分"),  # a clock a little ahead: never a negative age
    ],
)
def test_the_age_of_a_queue_row(ago: timedelta, expected: str) -> None:
    now = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    assert age_text(now - ago, now) == expected
    assert age_text(None, now) == ""
