"""The review queue's queries: the tabs (states) with their counts, search (reference, company
code, name in kanji, kana or romaji, email) and keyset pages on (submitted_at, id), oldest
first: never OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from app.application import states
from app.application.form import SUBJECT_FIELDS
from app.application.tables import Application
from app.i18n import _

PAGE_SIZE = 50


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    statuses: tuple[str, ...]
    reopened: bool = False  # drafts with a reference: sent back and being corrected


def tabs() -> tuple[Tab, ...]:
    return (
        Tab("waiting", _("審査待ち"), states.WAITING),
        Tab("in_review", _("審査中"), (states.IN_REVIEW,)),
        Tab("correction", _("修正依頼中"), (states.CORRECTION_REQUESTED,), reopened=True),
        Tab("recommended", _("承認待ち"), (states.RECOMMENDED,)),
        Tab("approved", _("承認済み"), (states.APPROVED,)),
        Tab("rejected", _("却下"), (states.REJECTED,)),
        Tab("issued", _("発行済み"), (states.ISSUED,)),
        Tab("revoked", _("失効"), (states.REVOKED,)),
    )


def tab_named(name: str) -> Tab | None:
    return next((tab for tab in tabs() if tab.name == name), None)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    earlier: int | None  # `before` cursor: the page of rows submitted earlier
    later: int | None  # `after` cursor: the page of rows submitted later


def _in_tab(tab: Tab) -> tuple[str, list[Any]]:
    marks = ", ".join("{}" for _ in tab.statuses)
    sql = f"a.status IN ({marks})"
    if tab.reopened:
        sql = f"({sql} OR (a.status = 'draft' AND a.reference IS NOT NULL))"
    return sql, list(tab.statuses)


def _contains(column: str) -> str:
    """`column` contains the argument, literally (no LIKE wildcards), on both engines."""
    if isinstance(Application._meta.db, PostgresEngine):
        return f"strpos({column}, {{}}) > 0"
    return f"instr({column}, {{}}) > 0"


# The names (kanji, kana, romaji) and the certificate's address: the subject's fields but the
# phone number.
SEARCHED_ANSWERS = tuple(name for name in SUBJECT_FIELDS if name != "phone")


def _answer(name: str) -> str:
    """One answer out of the stored JSON, '' when absent."""
    if isinstance(Application._meta.db, PostgresEngine):
        return f"coalesce(a.answers::json->>'{name}', '')"
    return f"coalesce(json_extract(a.answers, '$.{name}'), '')"


def _search(text: str) -> tuple[str, list[Any]]:
    """Reference or company code exactly; a name (kanji, kana or romaji, family or given) or
    an email address (the registration's or the certificate's) as a part, ignoring case."""
    upper, lower = text.upper(), text.lower()
    answers = [_contains(f"lower({_answer(name)})") for name in SEARCHED_ANSWERS]
    parts = ["a.reference = {}", "c.code = {}", *answers, _contains("lower(r.email)")]
    return "(" + " OR ".join(parts) + ")", [upper, upper, *[lower] * len(answers), lower]


SELECT = (
    "SELECT a.id, a.public_id, a.reference, a.applicant_type, a.status, a.submitted_at, "
    "a.answers, a.assigned_to, c.code AS company_code, r.email AS email "
    "FROM application a JOIN registration r ON r.id = a.registration "
    "JOIN company c ON c.id = r.company"
)
KEY = "(a.submitted_at, a.id)"
CURSOR = "(SELECT submitted_at, id FROM application WHERE id = {})"


async def page(
    tab: Tab, search: str = "", *, after: int | None = None, before: int | None = None
) -> Page:
    """PAGE_SIZE rows of the tab (matching the search), oldest first, after or before the
    row with that id in (submitted_at, id) order."""
    where, args = _in_tab(tab)
    if search:
        sql, terms = _search(search)
        where, args = f"{where} AND {sql}", [*args, *terms]
    order = "ASC"
    if after is not None:
        where, args = f"{where} AND {KEY} > {CURSOR}", [*args, after]
    elif before is not None:
        where, args, order = f"{where} AND {KEY} < {CURSOR}", [*args, before], "DESC"
    ordered = f"ORDER BY a.submitted_at {order}, a.id {order} LIMIT {PAGE_SIZE + 1}"
    rows = [dict(row) for row in await Application.raw(f"{SELECT} WHERE {where} {ordered}", *args)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if order == "DESC":
        rows.reverse()
    if not rows:
        return Page([], None, None)
    has_earlier = more if before is not None else after is not None
    has_later = more if before is None else True
    return Page(
        rows,
        int(rows[0]["id"]) if has_earlier else None,
        int(rows[-1]["id"]) if has_later else None,
    )


async def counts() -> dict[str, int]:
    """tab name -> how many applications it holds."""
    rows = await Application.raw(
        "SELECT status, reference IS NOT NULL AS referenced, count(*) AS n "
        "FROM application GROUP BY status, reference IS NOT NULL"
    )
    result = {tab.name: 0 for tab in tabs()}
    for row in rows:
        for tab in tabs():
            reopened = tab.reopened and row["status"] == states.DRAFT and row["referenced"]
            if row["status"] in tab.statuses or reopened:
                result[tab.name] += int(row["n"])
    return result
