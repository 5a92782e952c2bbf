"""The admin's 自動登録の配信 page in Chromium: axe-clean at 1280 and 320 px, 「再送する」 on a
failed event with htmx and without JavaScript. The session and the events are planted in the
live server's database by a helper process (the live server has no webhook URL: the page says
delivery is off)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.a11y import assert_no_horizontal_scroll, axe_violations, describe_violations, screenshot
from e2e.conftest import DESKTOP, NARROW, ROOT, LiveServer
from e2e.console import plant_session

PLANT = """
import asyncio
import sys
from datetime import UTC, datetime

from app import db
from app.console import sessions
from app.console.accounts.tables import Operator
from app.issuance.webhooks.service import ISSUED, announce, certificate_data
from app.issuance.webhooks.tables import WebhookEvent
from app.schema import TABLES
from app.settings import Settings


async def main() -> None:
    settings = Settings.from_env()
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    now = db.utcnow()
    email = "webhooks-admin-e2e@example.jp"
    if not await Operator.exists().where(Operator.email == email):
        await Operator.insert(
            Operator(email=email, name="管理 太郎", role="admin", enrolled_at=now)
        )
    async with db.write_transaction(engine):
        for n in range(int(sys.argv[1])):
            data = certificate_data(
                serial=f"5c1f0a9e3b7d2c{n:02d}", subject={"CN": "YAMADA TARO", "C": "JP"},
                not_before=datetime(2026, 12, 2, tzinfo=UTC),
                not_after=datetime(2027, 12, 2, tzinfo=UTC),
                pem="-----BEGIN CERTIFICATE-----", company_code="ISC", reference="01JREF")
            row_id, _event_id = await announce(ISSUED, data, now)
            if n % 2 == 0:
                failed = {
                    WebhookEvent.status: "failed",
                    WebhookEvent.attempts: 1,
                    WebhookEvent.last_status: 400,
                    WebhookEvent.last_error: "HTTP 400: unknown company code",
                }
                await WebhookEvent.update(failed).where(WebhookEvent.id == row_id)
    row = await Operator.select(Operator.id).where(Operator.email == email).first()
    async with db.write_transaction(engine):
        raw = await sessions.start(row["id"], now)
        session = await sessions.load(raw, settings)
        raw = await sessions.rotate(session, now, mfa_done=True)
    print(raw)
    await db.stop(engine)

asyncio.run(main())
"""


def sign_in(context: BrowserContext, live_server: LiveServer, events: int = 2) -> None:
    plant_session(context, live_server, PLANT, str(events))


@pytest.fixture
def admin_page(context: BrowserContext, live_server: LiveServer) -> Page:
    sign_in(context, live_server)
    return context.new_page()


def test_the_deliveries_page_is_axe_clean_at_1280_and_320(
    admin_page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    page = admin_page
    for size, label in ((DESKTOP, "1280"), (NARROW, "320")):
        page.set_viewport_size(size)
        page.goto(live_server.url("/console/webhooks"))
        expect(page.locator("h1")).to_have_text("自動登録の配信")
        expect(page.get_by_text("配信は無効です")).to_be_visible()
        violations = axe_violations(page)
        assert not violations, f"webhooks at {label} px:\n{describe_violations(violations)}"
        assert_no_horizontal_scroll(page, f"webhooks at {label} px")
        screenshot(page, ROOT / "e2e" / "output" / "screenshots", f"console-webhooks-{label}")


def test_retrying_a_failed_event_with_htmx_and_without_javascript(
    admin_page: Page, live_server: LiveServer, nojs_context: BrowserContext
) -> None:
    page = admin_page
    page.goto(live_server.url("/console/webhooks?state=failed"))
    buttons = page.get_by_role("button", name="再送する")
    before = buttons.count()
    assert before >= 1
    buttons.first.click()
    expect(page.get_by_text("再送を受け付けました。")).to_be_visible()
    page.goto(live_server.url("/console/webhooks?state=failed"))
    expect(page.get_by_role("button", name="再送する")).to_have_count(before - 1)
    sign_in(nojs_context, live_server, events=1)
    plain = nojs_context.new_page()
    plain.goto(live_server.url("/console/webhooks?state=failed"))
    left = plain.get_by_role("button", name="再送する").count()
    plain.get_by_role("button", name="再送する").first.click()
    expect(plain.get_by_text("再送を受け付けました。")).to_be_visible()
    plain.goto(live_server.url("/console/webhooks?state=failed"))
    expect(plain.get_by_role("button", name="再送する")).to_have_count(left - 1)
