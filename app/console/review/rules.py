"""Who may do what to an application under review (pure): the actions an operator is offered
and allowed, the four-eyes rule, the checklist that applies, and the service level."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from app.application import states
from app.console.permissions import Permission, allowed
from app.i18n import _

JAPAN = ZoneInfo("Asia/Tokyo")


class Action(StrEnum):
    CLAIM = "claim"  # 「担当する」
    TAKE_OVER = "take_over"  # another operator holds it: take it over with a reason
    RECOMMEND = "recommend"  # four-eyes: the reviewer's half
    APPROVE = "approve"  # 「承認」
    CORRECT = "correct"  # 「修正を依頼」
    REJECT = "reject"  # 「却下」


DECISIONS = (Action.RECOMMEND, Action.APPROVE, Action.CORRECT, Action.REJECT)


def actions(
    application: Mapping[str, Any], operator_id: int, role: str, approvals: int
) -> frozenset[Action]:
    """What this operator may do to the application now. A claim needs REVIEW; decisions on an
    application in review belong to the operator holding it; the final approval needs APPROVE,
    directly from review only with one approval, and never of one's own recommendation."""
    status = application["status"]
    may_review = allowed(role, Permission.REVIEW)
    may_approve = allowed(role, Permission.APPROVE)
    if status in states.WAITING:
        return frozenset({Action.CLAIM}) if may_review else frozenset()
    if status == states.IN_REVIEW and may_review:
        if application.get("assigned_to") != operator_id:
            return frozenset({Action.TAKE_OVER})
        held = {Action.CORRECT, Action.REJECT}
        if may_approve and approvals == 1:
            held.add(Action.APPROVE)
        else:
            held.add(Action.RECOMMEND)
        return frozenset(held)
    if status == states.RECOMMENDED and may_approve:
        if application.get("recommended_by") == operator_id:
            return frozenset()  # nobody approves their own recommendation
        return frozenset({Action.APPROVE, Action.CORRECT, Action.REJECT})
    return frozenset()


def target_of(action: Action) -> str:
    return {
        Action.CLAIM: states.IN_REVIEW,
        Action.TAKE_OVER: states.IN_REVIEW,
        Action.RECOMMEND: states.RECOMMENDED,
        Action.APPROVE: states.APPROVED,
        Action.CORRECT: states.CORRECTION_REQUESTED,
        Action.REJECT: states.REJECTED,
    }[action]


def checklist(cleaned: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, label) of the checks that apply to these answers, in the order they are done."""
    items = [("name_matches", _("本人確認書類の氏名が申請内容と一致している"))]
    if cleaned.get("include_org") == "yes":
        items.append(
            ("employment_matches", _("在籍を証明する書類の組織が申請内容の組織と一致している"))
        )
        items.append(
            (
                "corporate_number",
                _("法人番号がその組織のものである（国税庁 法人番号公表サイトで確認）"),
            )
        )
    if cleaned.get("qualification", "none") not in ("", "none"):
        items.append(("qualification", _("資格の登録番号が資格を証明する書類と一致している")))
    items.append(("document_valid", _("本人確認書類が有効期限内である")))
    return items


def houjin_bangou_url(number: str) -> str:
    """The 国税庁 法人番号公表サイト's page of this corporate number."""
    return f"https://www.houjin-bangou.nta.go.jp/henkorireki-johoto.html?selHouzinNo={number}"


# Japan's public holidays (祝日, 振替休日, 国民の休日) from the `holidays` package, each year
# worked out the first time a date in it is asked about.
JAPAN_HOLIDAYS = holidays.country_holidays("JP")


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a Japanese public holiday."""
    return day.weekday() < 5 and day not in JAPAN_HOLIDAYS


def business_day_after(start: date, n: int) -> date:
    """The n-th business day after `start` (n >= 1): a loop of n business days, whatever
    long ago `start` is."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            n -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 on the same day)."""
    days = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            days += 1
    return days


def overdue(submitted_at: datetime | None, now: datetime, sla_business_days: int) -> bool:
    """Waiting longer than the service level: more than that many business days (weekends
    and Japanese public holidays skipped) have begun since the day it came, Japan time."""
    if submitted_at is None:
        return False
    return overdue_since(
        submitted_at.astimezone(JAPAN).date(), now.astimezone(JAPAN).date(), sla_business_days
    )


def overdue_since(day: date, today: date, sla_business_days: int) -> bool:
    """overdue() for what came on `day`, on `today` (both Japan dates)."""
    return today >= business_day_after(day, sla_business_days + 1)


def last_overdue_day(today: date, sla_business_days: int) -> date:
    """The latest day whose applications are overdue on `today` (Japan dates): what came on
    a day up to this one is overdue, what came later is not. Overdue means more than
    `sla_business_days` business days in (day, today]; that count only grows as the day
    goes back, so one walk back from today answers for a whole page (a page of a search
    holds fifty different days: overdue_since for each was 4% of its time)."""
    needed = sla_business_days + 1
    day, counted = today, 0
    while counted < needed:
        if is_business_day(day):
            counted += 1
        day -= timedelta(days=1)
    return day


def age_text(submitted_at: datetime | None, now: datetime) -> str:
    return age_text_format()(submitted_at, now)


def age_text_format() -> Callable[[datetime | None, datetime], str]:
    """age_text with its three texts looked up once (a page of fifty rows calls it fifty
    times)."""
    days, hours, minutes = _("%(n)s日"), _("%(n)s時間"), _("%(n)s分")
    one_day, one_hour = timedelta(days=1), timedelta(hours=1)

    def age(submitted_at: datetime | None, now: datetime) -> str:
        if submitted_at is None:
            return ""
        delta = now - submitted_at
        if delta >= one_day:
            return days % {"n": delta.days}
        seconds = int(delta.total_seconds())
        if delta >= one_hour:
            return hours % {"n": seconds // 3600}
        return minutes % {"n": max(seconds // 60, 0)}

    return age
