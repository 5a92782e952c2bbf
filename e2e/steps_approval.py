"""Steps of the principal's approval in the browser: the emailed link, approve or decline."""

from __future__ import annotations

from playwright.sync_api import Page

from e2e.conftest import LiveServer
from e2e.pages import see_page

APPROVAL = "申請情報の承認"
APPROVAL_COMPLETE = "申請情報承認の完了"


def open_approval(page: Page, live_server: LiveServer, link: str) -> None:
    page.goto(link)
    see_page(page, live_server, "/approve", APPROVAL)
    assert "/approve/t/" not in page.url, f"the token stayed in the address bar: {page.url}"


def decide(
    page: Page, live_server: LiveServer, decision: str, *, reason: str = "", agree: bool = True
) -> None:
    """Approve (with the agreement) or decline (with a reason) on the approval page."""
    page.locator("#decision" if decision == "approve" else "#decision-decline").check()
    if decision == "approve" and agree:
        page.locator("#agree").check()
    if reason:
        page.locator("#reason").fill(reason)
    page.get_by_role("button", name="送信する").click()
    see_page(page, live_server, "/approve/complete", APPROVAL_COMPLETE)
