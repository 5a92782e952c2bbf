"""The queue's search: names in kanji, kana (hiragana, katakana, half-width) and romaji
whatever the case, email addresses, reference and company code, found by prefix of the words
the application service keeps with the answers (and the migration backfilled), through the
words' index on either engine, in keyset pages."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from piccolo.engine.postgres import PostgresEngine

from app.application.tables import Application, ApplicationSearchTerm
from app.console.review import queue
from app.db import fetch, raw_with_generic_plan, utcnow, write_transaction
from app.registration.companies import issue_tickets
from app.registration.tables import Company
from tests.helpers import (
    GOOD_ANSWERS,
    error_summary_text,
    fill_form,
    operator_client,
    ready_application,
    submit_application,
)

REF = re.compile(r'<a href="/console/applications/[0-9A-Z]+">(JC-[0-9A-Z-]+)</a>')
HANAKO = {
    "family_name": "佐藤",
    "given_name": "花子",
    "family_name_kana": "サトウ",
    "given_name_kana": "ハナコ",
    "family_name_roman": "Sato",
    "given_name_roman": "Hanako",
    "cert_email": "hanako@example.org",
}


async def submitted_as(client: Any, smtp_sink: Any, email: str, ticket: str, **names: str) -> str:
    """A 本人 application whose answers were changed to `names` before it was sent."""
    csrf = await ready_application(client, smtp_sink, "self", email, ticket_number=ticket)
    if names:
        saved = await fill_form(client, csrf, {**GOOD_ANSWERS, **names})
        assert saved.status_code == 303, error_summary_text(saved.text)
    response = await submit_application(client, csrf)
    assert response.headers["location"] == "/apply/complete"
    client.cookies.clear()
    row = await Application.select(Application.reference).order_by(Application.id, ascending=False)
    return str(row[0]["reference"])


async def found(browser: Any, q: str, **query: str) -> list[str]:
    page = await browser.get("/console/applications", params={"tab": "waiting", "q": q, **query})
    assert page.status_code == 200, q
    return REF.findall(page.text)


# Both ways a search is read (app.console.review.queue.FEW_WORDS): word first, as every search
# of this small database would be, and tab first, as a common name of a large one.
WAYS = pytest.mark.parametrize("few_words", [queue.FEW_WORDS, 0], ids=["word_first", "tab_first"])


@WAYS
async def test_names_in_any_script_width_and_case_addresses_reference_and_company(
    client: Any, app: Any, smtp_sink: Any, monkeypatch: Any, few_words: int
) -> None:
    monkeypatch.setattr(queue, "FEW_WORDS", few_words)
    tickets = await issue_tickets("ISC", 2)
    taro = await submitted_as(client, smtp_sink, "taro@example.com", tickets[0])
    hanako = await submitted_as(client, smtp_sink, "reg@example.net", tickets[1], **HANAKO)
    expected = {
        (taro,): [
            *("山田", "太郎", "山田太郎", "山田 太郎", "山田　太郎"),
            *("やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "ﾔﾏ", "たろう", "ﾀﾛｳ", "ヤマダ タロウ"),
            *("YAMADA", "yamada", "Yam", "Taro Yamada", "ｙａｍａｄａ", "taro"),
            *("TARO@example", "taro@EXAMPLE.com", "example.com"),
            *(taro, taro.lower(), taro.replace("-", ""), taro[:7]),
        ],
        (hanako,): [
            "佐藤",
            "さとう",
            "ｻﾄｳ",
            "SATO",
            "hanako sato",
            "hanako@",
            "REG@",
            "example.net",
        ],
        (taro, hanako): ["isc", "ISC", "example", "ｅｘａｍｐｌｅ"],
        (): ["鈴木", "amada", "example.co.jp", "JC-0000-0000", "OTHER", "%", "_", "・", "'"],
    }
    async with operator_client(app, "reviewer") as reviewer:
        for references, searches in expected.items():
            for q in searches:
                assert sorted(await found(reviewer, q)) == sorted(references), q
        nothing = await reviewer.get("/console/applications", params={"q": "鈴木"})
        assert "該当する申請はありません。" in nothing.text
        # the search keeps to its tab
        assert await found(reviewer, "yamada", tab="in_review") == []


async def test_the_words_follow_the_answers_as_they_are_saved(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    ticket = (await issue_tickets("ISC", 1))[0]
    csrf = await ready_application(client, smtp_sink, "self", "t@example.com", ticket_number=ticket)
    draft = await Application.select(Application.id).first()
    assert draft is not None
    words = ApplicationSearchTerm.select(ApplicationSearchTerm.term).where(
        ApplicationSearchTerm.application == draft["id"]
    )
    assert "山田" in {row["term"] for row in await words}  # kept while drafting
    saved = await fill_form(client, csrf, {**GOOD_ANSWERS, **HANAKO})
    assert saved.status_code == 303
    held = {row["term"] for row in await words}
    assert "佐藤" in held and "山田" not in held and "yamada" not in held
    await submit_application(client, csrf)
    reference = (await Application.select(Application.reference).first() or {})["reference"]
    assert reference and reference.lower() in {row["term"] for row in await words}
    async with operator_client(app, "reviewer") as reviewer:
        assert await found(reviewer, "さとう") == [reference]
        assert await found(reviewer, "やまだ") == []


@WAYS
async def test_search_results_page_by_keyset_keeping_the_search(
    client: Any, app: Any, smtp_sink: Any, monkeypatch: Any, few_words: int
) -> None:
    monkeypatch.setattr(queue, "FEW_WORDS", few_words)
    tickets = await issue_tickets("ISC", 4)
    refs = [
        await submitted_as(client, smtp_sink, f"p{n}@example.com", ticket)
        for n, ticket in enumerate(tickets[:3])
    ]
    await submitted_as(client, smtp_sink, "q@example.com", tickets[3], **HANAKO)
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    async with operator_client(app, "reviewer") as reviewer:
        first = await reviewer.get("/console/applications", params={"q": "やまだ"})
        assert REF.findall(first.text) == refs[:2]
        later = re.search(r'href="(/console/applications\?[^"]*after=\d+)"', first.text)
        assert later and "q=%E3%82%84" in later.group(1)  # the search stays in the link
        second = await reviewer.get(later.group(1).replace("&amp;", "&"))
        assert REF.findall(second.text) == refs[2:]
        assert "after=" not in second.text
        earlier = re.search(r'href="(/console/applications\?[^"]*before=\d+)"', second.text)
        assert earlier and "q=%E3%82%84" in earlier.group(1)
        back = await reviewer.get(earlier.group(1).replace("&amp;", "&"))
        assert REF.findall(back.text) == refs[:2]
        # four waiting: counted exactly up to the cap, past it "more than"
        assert "審査待ち（4件）" in first.text
        monkeypatch.setattr(queue, "COUNT_CAP", 3)
        capped = await reviewer.get("/console/applications")
        assert "審査待ち（3件以上）" in capped.text and "審査中（0件）" in capped.text


async def test_the_migration_writes_the_words_of_applications_made_before_it(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    ticket = (await issue_tickets("ISC", 1))[0]
    reference = await submitted_as(client, smtp_sink, "taro@example.com", ticket)
    await ApplicationSearchTerm.delete(force=True)
    migration = importlib.import_module("migrations.jcan_2026_12_02t00_34_45_395557")
    manager = await migration.forwards()
    for step in manager.raw:  # the index exists already (IF NOT EXISTS), then the backfill
        await step()
    async with operator_client(app, "reviewer") as reviewer:
        assert await found(reviewer, "ﾔﾏﾀﾞ") == [reference]
        assert await found(reviewer, "isc") == [reference]


async def test_a_search_reads_the_words_index_not_the_table(client: Any) -> None:
    sql, args, _order = queue.query(queue.tabs()[0], "やまだ", after=1)
    engine = Application._meta.db
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            await Application.raw("SET LOCAL enable_seqscan = off")
            plan = await Application.raw(f"EXPLAIN {sql}", *args)
        text = "\n".join(row["QUERY PLAN"] for row in plan)
    else:
        plan = await Application.raw(f"EXPLAIN QUERY PLAN {sql}", *args)
        text = "\n".join(row["detail"] for row in plan)
    assert "application_search_term" in text, text
    # tab first: each application's words looked up by application and word, index only
    assert "application_search_words" in text, text
    assert "OFFSET" not in sql


async def test_few_words_are_a_list_of_primary_keys_on_postgres(client: Any) -> None:
    """Word first on PostgreSQL: the words' applications are an array of ids, which the
    planner can only read as primary keys to fetch; as an IN (SELECT ...) it walked the
    80,000 issued rows of the bench in page order probing each (200 ms for a reference; the
    bench's row "search by reference on 発行済み" measures it, this small database cannot)."""
    if not isinstance(Application._meta.db, PostgresEngine):
        pytest.skip("SQLite reads the words first by itself (test above)")
    sql, args, _order = queue.query(queue.tab_named("issued") or queue.tabs()[0], "JC-2026")
    assert "a.id = ANY(ARRAY(SELECT application FROM application_search WHERE" in sql
    assert len(await Application.raw(sql, *args)) == 0


async def test_a_search_planned_once_answers_as_raw_and_the_main_pool_plans_as_before(
    client: Any,
) -> None:
    """app.db.raw_with_generic_plan: the same rows as a plain raw; on PostgreSQL it runs
    with generic plans, and no connection of the main pool does."""
    await issue_tickets("ISC", 1)
    sql, args, _order = queue.query(queue.tabs()[0], "zz")
    assert [dict(row) for row in await raw_with_generic_plan(Application, sql, *args)] == [
        dict(row) for row in await Application.raw(sql, *args)
    ]
    engine = Application._meta.db
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        generic = await raw_with_generic_plan(
            Application, "SELECT current_setting('plan_cache_mode') AS mode"
        )
        assert [dict(row) for row in generic] == [{"mode": "force_generic_plan"}]
        for _ in range(engine.pool.get_max_size() + 1):  # every connection of the pool
            rows = await Application.raw("SELECT current_setting('plan_cache_mode') AS mode")
            assert rows == [{"mode": "auto"}]


async def test_fetch_answers_as_raw_inside_and_outside_a_transaction(client: Any) -> None:
    """app.db.fetch (the queue's page, the console session, the audit append): the rows of
    a plain raw, read by column name; inside a transaction, on that transaction's
    connection (it sees what the transaction has not committed yet)."""
    sql = "SELECT code, name FROM company WHERE code = {} OR code = {} ORDER BY code"
    expected = await Company.raw(sql, "ISC", "NOPE")
    found = await fetch(Company, sql, "ISC", "NOPE")
    assert [dict(row) for row in found] == expected and expected
    assert found[0]["code"] == "ISC"
    engine = Company._meta.db
    async with write_transaction(engine):
        await Company.raw(
            "INSERT INTO company (code, name, created_at) VALUES ({}, {}, {})",
            "FETCHTX",
            "取引中株式会社",
            utcnow(),
        )
        inside = await fetch(Company, "SELECT name FROM company WHERE code = {}", "FETCHTX")
        assert [row["name"] for row in inside] == ["取引中株式会社"]
        await Company.delete().where(Company.code == "FETCHTX")
