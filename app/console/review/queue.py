"""The review queue's queries: the tabs (states) with their counts, search (reference, company
code, name in kanji, kana or romaji, email: by prefix of the indexed words) and keyset pages
on (submitted_at, id), oldest first: never OFFSET."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from app.application import states, workflow
from app.application.search import prefix_range
from app.application.tables import Application
from app.db import fetch, raw_with_generic_plan
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
    rows: list[Any]  # dicts (SQLite) or asyncpg Records: read by column name
    earlier: int | None  # `before` cursor: the page of rows submitted earlier
    later: int | None  # `after` cursor: the page of rows submitted later


def _branches(tab: Tab) -> list[str]:
    """The tab's condition as one branch per state, each a range of the (status,
    submitted_at, id) index that is already in page order. The states are written into the
    SQL, not passed as parameters: they are the code's own constants, and a prepared
    statement's parameters hide from PostgreSQL's planner which state is asked for (a generic
    plan for "status = $1" cannot tell the 80 % approved from the 1 % in review: the counts
    took 60 ms instead of 6)."""
    for status in tab.statuses:
        if not status.replace("_", "").isalpha():
            raise ValueError(f"not a state name: {status!r}")
    branches = [f"a.status = '{status}'" for status in tab.statuses]
    if tab.reopened:
        # A draft that was sent has its submitted_at and its reference: sent back, being
        # corrected.
        branches.append(
            "(a.status = 'draft' AND a.submitted_at IS NOT NULL AND a.reference IS NOT NULL)"
        )
    return branches


def _in_tab(tab: Tab) -> list[str]:
    """The whole tab as conditions to count apart (an index-only range each: an OR of the
    reopened drafts with a state was a bitmap scan of a thousand heap pages per view)."""
    listed = ", ".join(f"'{status}'" for status in tab.statuses)
    ranges = [f"a.status IN ({listed})"]
    return ranges + _branches(tab)[len(tab.statuses) :]


# A search whose words (app.application.search) hold at most this many entries in its range
# is read word first: those few applications, then their tab. A search that finds more walks
# the tab's index in page order and looks up each application's words (index only) until the
# page is full. Left to PostgreSQL's estimates, a reference searched on the 承認済み tab walked
# 40,000 applications (186 ms), and a common name on the 審査待ち tab hashed 10,000 words.
FEW_WORDS = 1000


def _postgres() -> bool:
    return isinstance(Application._meta.db, PostgresEngine)


def _term() -> str:
    """The words' column as their indexes order it (byte order on both engines)."""
    return 'term COLLATE "C"' if _postgres() else "term"


def _matching_ids(in_range: str) -> str:
    """The applications the words in range belong to, as a condition on a.id. On PostgreSQL
    an array, which the planner can only read as a list of primary keys to fetch: as an IN
    (SELECT ...) it chose to walk a large tab in page order probing each row against the
    words, and a reference searched on the 80,000 rows of 発行済み took 200 ms (now 0.2)."""
    words = f"SELECT application FROM application_search WHERE {in_range}"
    return f"a.id = ANY(ARRAY({words}))" if _postgres() else f"a.id IN ({words})"


def _search(text: str) -> tuple[str, list[Any], list[str]] | None:
    """The reference, the company code, a name (kanji, kana or romaji; family, given or
    whole, in either order) or an email address (the registration's or the certificate's, or
    its domain) that begins with the search, ignoring case, width, kana and spaces: a range
    of app.application.search's words: (WITH clause, the range's two arguments, the
    conditions of the word-first and the tab-first way, each taking the two arguments
    again), one way switched on, the other off, once per query by the count in the WITH
    clause. None when nothing of the search is left to look for."""
    bounds = prefix_range(text)
    if bounds is None:
        return None
    term = _term()
    in_range = f"{term} >= {{}} AND {term} < {{}}"
    few = (
        f"WITH few AS (SELECT count(*) <= {FEW_WORDS} AS yes FROM (SELECT 1 "
        f"FROM application_search WHERE {in_range} LIMIT {FEW_WORDS + 1}) AS w) "
    )
    word_first = f"(SELECT yes FROM few) AND {_matching_ids(in_range)}"
    tab_first = (
        "NOT (SELECT yes FROM few) AND (SELECT 1 FROM application_search "
        f"WHERE application = a.id AND {in_range} LIMIT 1) IS NOT NULL"
    )
    return few, list(bounds), [word_first, tab_first]


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
    before the row with that id in (submitted_at, id) order, one more than a page. Each of
    the tab's states gives its first rows in index order and the page is the first of those:
    an IN over two states would sort every row the tab holds for each page."""
    order = "DESC" if after is None and before is not None else "ASC"
    ordered = f"ORDER BY a.submitted_at {order}, a.id {order} LIMIT {PAGE_SIZE + 1}"
    conditions: list[str] = []
    args: list[Any] = []
    if after is not None:
        conditions.append(f"{KEY} > {CURSOR}")
        args.append(after)
    elif before is not None:
        conditions.append(f"{KEY} < {CURSOR}")
        args.append(before)
    prefix, prefix_args = "", list[Any]()
    # (condition, its arguments) of each source of rows: a state, or a state searched one way
    sources: list[tuple[str, list[Any]]] = [(branch, []) for branch in _branches(tab)]
    if search:
        found = _search(search)
        if found is None:
            sources = [("1 = 0", [])]
        else:
            prefix, prefix_args, ways = found
            sources = [
                (f"{branch} AND {way}", prefix_args) for branch, _ in sources for way in ways
            ]
    if len(sources) == 1:
        branch, branch_args = sources[0]
        where = " AND ".join([branch, *conditions])
        return f"{prefix}{SELECT} WHERE {where} {ordered}", prefix_args + branch_args + args, order
    parts, all_args = [], list(prefix_args)
    for number, (branch, branch_args) in enumerate(sources):
        where = " AND ".join([branch, *conditions])
        parts.append(
            f"SELECT id FROM (SELECT a.id FROM application a WHERE {where} {ordered}) AS b{number}"
        )
        all_args += branch_args + args
    ids = " UNION ALL ".join(parts)
    return f"{prefix}{SELECT} WHERE a.id IN ({ids}) {ordered}", all_args, order


async def page(
    tab: Tab, search: str = "", *, after: int | None = None, before: int | None = None
) -> Page:
    """PAGE_SIZE rows of the tab (matching the search), oldest first, after or before the
    row with that id in (submitted_at, id) order."""
    sql, args, order = query(tab, search, after=after, before=before)
    if search:  # its plan's shape does not depend on the words searched (see _search)
        rows = await raw_with_generic_plan(Application, sql, *args)
    else:
        rows = await fetch(Application, sql, *args)
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
    """tab name -> how many applications it holds, more than COUNT_CAP meaning more: each a
    range of the (status, submitted_at, id) index that stops there (a tab of a state and the
    reopened drafts adds two), in one round trip."""
    parts = [
        " + ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM application a WHERE {condition} "
            f"LIMIT {COUNT_CAP + 1}) AS t)"
            for condition in _in_tab(tab)
        )
        + f" AS {tab.name}"
        for tab in tabs()
    ]
    rows = await Application.raw("SELECT " + ", ".join(parts))
    return {tab.name: int(rows[0][tab.name]) for tab in tabs()}


# The tabs' counts, kept for a moment: a queue view counted eight tabs (up to 1,001 index
# entries each) on every view, about a millisecond of PostgreSQL, while ten operators paging
# through the queue see the same figures. Kept for COUNTS_FRESH_FOR seconds, and counted
# again at once after a status change this process made: one's own claim or decision shows
# in the next view's counts. Another process's change (the issuing worker, a second web
# worker) shows within those seconds; the rows themselves are always read fresh.
COUNTS_FRESH_FOR = 2.0


@dataclass(frozen=True)
class _Kept:
    engine: Engine  # whose database they count (each app binds the tables to its own)
    moves: int  # workflow.moves() before they were counted
    at: float  # time.monotonic() then
    counts: dict[str, int]


_kept: _Kept | None = None


async def recent_counts() -> dict[str, int]:
    """counts(), or what it answered less than COUNTS_FRESH_FOR seconds ago with no status
    change in this process since."""
    global _kept
    engine = Application._meta.db
    moves, now = workflow.moves(), time.monotonic()
    kept = _kept
    if (
        kept is not None
        and kept.engine is engine
        and kept.moves == moves
        and now - kept.at < COUNTS_FRESH_FOR
    ):
        return dict(kept.counts)
    fresh = await counts()
    _kept = _Kept(engine, moves, now, fresh)
    return dict(fresh)
