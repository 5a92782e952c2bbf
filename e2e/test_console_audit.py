"""The auditor's view of the audit log in Chromium: axe-clean at 1280 and 320 px, filtering and
paging with htmx and without JavaScript, the CSV download.

The signed-in session is planted in the live server's database (the row the sign-in leaves,
MFA done) by a helper process, so this suite does not depend on the sign-in pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.a11y import (
    assert_no_horizontal_scroll,
    axe_violations,
    describe_violations,
    screenshot,
)
from e2e.conftest import DESKTOP, NARROW, ROOT, LiveServer
from e2e.console import plant_session

EVENTS = 57  # more than one page of 50
PLANT = f"""
import asyncio
from datetime import UTC, datetime, timedelta

from app import db
from app.console import sessions
from app.console.accounts.tables import Operator
from app.console.audit.service import record
from app.schema import TABLES
from app.settings import Settings


async def main() -> None:
    settings = Settings.from_env()
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    now = db.utcnow()
    if not await Operator.exists().where(Operator.email == "auditor-e2e@example.jp"):
        await Operator.insert(Operator(email="auditor-e2e@example.jp", name="監査 花子",
                                       role="auditor", enrolled_at=now))
        start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
        for n in range(1, {EVENTS} + 1):
            await record("application.view" if n % 2 else "operator.sign_in",
                         actor=f"operator:{{n % 3 + 1}}", target=f"application:JC-{{n:04d}}",
                         client="192.0.2.5", details={{"n": n, "書類": n}},
                         now=start + timedelta(minutes=n))
    row = await Operator.select(Operator.id).where(
        Operator.email == "auditor-e2e@example.jp"
    ).first()
    async with db.write_transaction(engine):
        raw = await sessions.start(row["id"], now)
        session = await sessions.load(raw, settings)
        raw = await sessions.rotate(session, now, mfa_done=True)
    print(raw)
    await db.stop(engine)

asyncio.run(main())
"""
SEQ = re.compile(r"^\d+$")


def sign_in(context: BrowserContext, live_server: LiveServer) -> None:
    plant_session(context, live_server, PLANT)


def first_seqs(page: Page) -> list[str]:
    return page.locator("#audit-results tbody tr td:first-child").all_inner_texts()


def assert_axe_clean(page: Page, label: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{label}:\n{describe_violations(violations)}"


@pytest.fixture
def auditor_page(context: BrowserContext, live_server: LiveServer) -> Page:
    sign_in(context, live_server)
    return context.new_page()


def test_the_log_is_axe_clean_and_reflows_at_1280_and_320(
    auditor_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = auditor_page
    for size, label in ((DESKTOP, "1280"), (NARROW, "320")):
        page.set_viewport_size(size)
        page.goto(live_server.url("/console/audit"))
        expect(page.locator("h1")).to_have_text("監査ログ")
        assert_axe_clean(page, f"audit log at {label} px")
        assert_no_horizontal_scroll(page, f"audit log at {label} px")
        page.goto(live_server.url("/console/audit?since=yesterday"))
        expect(page.locator("#error-summary")).to_be_visible()
        assert_axe_clean(page, f"audit log with an error at {label} px")
        assert_no_horizontal_scroll(page, f"audit log with an error at {label} px")
        screenshot(page, ROOT / "e2e" / "output" / "screenshots", f"console-audit-{label}")


def test_filtering_and_paging_with_htmx_swap_in_place(
    auditor_page: Page, live_server: LiveServer
) -> None:
    page = auditor_page
    page.goto(live_server.url("/console/audit"))
    assert first_seqs(page)[0] == str(EVENTS) and len(first_seqs(page)) == 50
    page.evaluate("window.__kept = 1")  # survives only if the page is not reloaded
    page.get_by_role("link", name="古い記録へ").click()
    expect(page).to_have_url(re.compile(r"before=8"))
    expect(page.locator("#audit-results tbody tr")).to_have_count(EVENTS - 50)
    page.get_by_label("操作者").fill("operator:2")
    page.get_by_role("button", name="絞り込む").click()
    expect(page).to_have_url(re.compile(r"actor=operator%3A2"))
    expect(page.locator("#audit-results tbody tr").first).to_contain_text("operator:2")
    assert all(int(s) % 3 == 1 for s in first_seqs(page))
    assert page.evaluate("window.__kept") == 1
    expect(page.locator("#live-region")).to_contain_text("件の記録を表示しています")
    page.get_by_label("この日時から（日本時間）").fill("いつか")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("#since-error")).to_be_visible()
    page.get_by_label("この日時から（日本時間）").fill("2026-12-01 09:50")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("#since-error")).to_have_count(0)
    expect(page.locator("#error-summary")).to_have_count(0)
    assert [int(s) for s in first_seqs(page)] == [n for n in range(EVENTS, 49, -1) if n % 3 == 1]


def test_without_javascript_the_form_and_links_are_whole_pages(
    live_server: LiveServer, nojs_context: BrowserContext
) -> None:
    sign_in(nojs_context, live_server)
    page = nojs_context.new_page()
    page.goto(live_server.url("/console/audit"))
    page.get_by_role("link", name="古い記録へ").click()
    expect(page).to_have_url(re.compile(r"before=8"))
    page.get_by_label("操作", exact=True).fill("operator.")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("#audit-results tbody tr").first).to_contain_text("operator.sign_in")


def test_the_export_downloads_a_csv_with_a_bom(
    auditor_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = auditor_page
    page.goto(live_server.url("/console/audit?action=application."))
    with page.expect_download() as download:
        page.get_by_role("button", name="この条件の記録をCSVで書き出す").click()
    path = tmp_path / "audit.csv"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith("\ufeff番号,".encode())
    assert "application:JC-0001" in data.decode("utf-8-sig")
    expect(page.locator("h1")).to_have_text("監査ログ")  # the page stays
