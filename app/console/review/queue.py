"""The review queue's queries: the tabs (states) with their counts, search (reference, company
code, name in kanji, kana or romaji, email: by prefix of the indexed words) and keyset pages
on (submitted_at, id), oldest first: never OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from app.application import states
from app.application.search import prefix_range
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
        # (a draft that was sent has its submitted_at: the index's range, then the reference)
        sql = (
            f"({sql} OR (a.status = 'draft' AND a.submitted_at IS NOT NULL "
            "AND a.reference IS NOT NULL))"
        )
    return sql, list(tab.statuses)


def _search(text: str) -> tuple[str, list[Any]]:
    """The reference, the company code, a name (kanji, kana or romaji; family, given or
    whole, in either order) or an email address (the registration's or the certificate's, or
    its domain) that begins with the search, ignoring case, width, kana and spaces: a range
    of app.application.search's words, through their index (byte order on both engines)."""
    bounds = prefix_range(text)
    if bounds is None:
        return "1 = 0", []
    term = 'term COLLATE "C"' if isinstance(Application._meta.db, PostgresEngine) else "term"
    words = f"SELECT application FROM application_search WHERE {term} >= {{}} AND {term} < {{}}"
    return f"a.id IN ({words})", list(bounds)


SELECT = (
    "SELECT a.id, a.public_id, a.reference, a.applicant_type, a.status, a.submitted_at, "
    "a.answers, a.assigned_to, c.code AS company_code, r.email AS email "
    "FROM application a JOIN registration r ON r.id = a.registration "
    "JOIN company c ON c.id = r.company"
)
KEY = "(a.submitted_at, a.id)"
CURSOR = "(SELECT submitted_at, id FROM application WHERE id = {})"


def query(
    tab: Tab, search: str = "", *, after: int | None = None, before: int | None = None
) -> tuple[str, list[Any], str]:
    """(SQL, arguments, order) of one page: the tab's rows matching the search, after or
    before the row with that id in (submitted_at, id) order, one more than a page."""
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
    return f"{SELECT} WHERE {where} {ordered}", args, order


async def page(
    tab: Tab, search: str = "", *, after: int | None = None, before: int | None = None
) -> Page:
    """PAGE_SIZE rows of the tab (matching the search), oldest first, after or before the
    row with that id in (submitted_at, id) order."""
    sql, args, order = query(tab, search, after=after, before=before)
    rows = [dict(row) for row in await Application.raw(sql, *args)]
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


# A tab's count stops here ("1,000件以上"): the decided tabs grow without end, and counting
# them exactly on every page view was a scan of the whole table.
COUNT_CAP = 1000


async def counts() -> dict[str, int]:
    """tab name -> how many applications it holds, up to COUNT_CAP + 1 (meaning more): each
    a range of the (status, submitted_at, id) index that stops there, in one round trip."""
    parts, args = [], []
    for tab in tabs():
        where, tab_args = _in_tab(tab)
        parts.append(
            f"(SELECT count(*) FROM (SELECT 1 FROM application a WHERE {where} "
            f"LIMIT {COUNT_CAP + 1}) AS t) AS {tab.name}"
        )
        args += tab_args
    rows = await Application.raw("SELECT " + ", ".join(parts), *args)
    return {tab.name: int(rows[0][tab.name]) for tab in tabs()}
