"""Accessibility of every page state: axe (WCAG 2.2 AA rules), reflow at 320 CSS px, text at
200 %, screenshots."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import DESKTOP, NARROW, LiveServer
from e2e.journey import (
    agree_and_register,
    assert_no_horizontal_scroll,
    assert_text_resizes,
    axe_violations,
    choose_type,
    describe_violations,
    enlarge_text,
    fill_step1,
    open_link_and_see_application,
    open_top_and_agree,
    screenshot,
    submit_step1,
)


def new_address() -> str:
    return f"e2e-a11y-{uuid.uuid4().hex[:10]}@example.com"


# --- Page states: each brings a fresh page to one state and checks it got there --------------


def top(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page.get_by_role("link", name="同意する")).to_be_visible()


def step1(page: Page, live_server: LiveServer) -> None:
    page.goto("/register/step1")
    expect(page.locator("#company-code")).to_be_disabled()


def step1_self(page: Page, live_server: LiveServer) -> None:
    step1(page, live_server)
    choose_type(page, live_server, "self")


def step1_agent(page: Page, live_server: LiveServer) -> None:
    step1(page, live_server)
    choose_type(page, live_server, "agent")


def step1_inline_error(page: Page, live_server: LiveServer) -> None:
    step1_self(page, live_server)
    page.locator("#ticket-number").fill("ABC-123")
    page.locator("#ticket-number").press("Tab")
    expect(page.locator("#ticket-number-error")).to_be_visible()


def step1_failed_next(page: Page, live_server: LiveServer) -> None:
    step1_self(page, live_server)
    fill_step1(page, live_server.issue_ticket(), new_address(), captcha="WRONG")
    page.get_by_role("button", name="次へ", exact=True).click()
    expect(page.locator("#error-summary")).to_be_focused()


def confirm(page: Page, live_server: LiveServer) -> None:
    step1_self(page, live_server)
    fill_step1(page, live_server.issue_ticket(), new_address())
    submit_step1(page, live_server)


def confirm_missing_agreement(page: Page, live_server: LiveServer) -> None:
    confirm(page, live_server)
    page.get_by_role("button", name="申請登録").click()
    expect(page.locator("#agree-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()


def complete(page: Page, live_server: LiveServer) -> None:
    confirm(page, live_server)
    agree_and_register(page, live_server)


def apply(page: Page, live_server: LiveServer) -> None:
    ticket, address = live_server.issue_ticket(), new_address()
    step1_self(page, live_server)
    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    agree_and_register(page, live_server)
    open_link_and_see_application(page, live_server, live_server.wait_for_link(address), ticket)


def policy(path: str, heading: str) -> Callable[[Page, LiveServer], None]:
    def go(page: Page, live_server: LiveServer) -> None:
        page.goto(path)
        expect(page.locator("h1")).to_have_text(heading)

    return go


def link_state(state: str, heading: str) -> Callable[[Page, LiveServer], None]:
    def go(page: Page, live_server: LiveServer) -> None:
        page.goto(f"/apply/link/{state}")
        expect(page.locator("h1")).to_have_text(heading)

    return go


STATES: dict[str, Callable[[Page, LiveServer], None]] = {
    "top": top,
    "step1": step1,
    "step1-self": step1_self,
    "step1-agent": step1_agent,
    "step1-inline-error": step1_inline_error,
    "step1-failed-next": step1_failed_next,
    "confirm": confirm,
    "confirm-missing-agreement": confirm_missing_agreement,
    "complete": complete,
    "policy-obligations": policy("/policies/obligations", "利用者の義務"),
    "policy-privacy": policy("/policies/privacy", "個人情報の取扱いについて"),
    "apply": apply,
    "link-invalid": link_state("invalid", "URLが正しくありません"),
    "link-expired": link_state("expired", "URLの有効期限が切れています"),
    "link-superseded": link_state("superseded", "このURLは新しい申請登録により無効になりました"),
    "link-used": link_state("used", "このURLは使用済みです"),
}


@pytest.mark.parametrize("state", list(STATES))
def test_page_has_no_axe_violations(page: Page, live_server: LiveServer, state: str) -> None:
    STATES[state](page, live_server)
    violations = axe_violations(page)
    assert not violations, (
        f"axe found {len(violations)} violation(s) on {state} ({page.url}):\n"
        + (describe_violations(violations))
    )


@pytest.mark.parametrize("state", list(STATES))
def test_page_reflows_at_320px_without_horizontal_scrolling(
    page: Page, live_server: LiveServer, state: str
) -> None:
    page.set_viewport_size(NARROW)
    STATES[state](page, live_server)
    assert page.evaluate("window.innerWidth") == NARROW["width"]
    assert_no_horizontal_scroll(page, state)


@pytest.mark.parametrize("state", list(STATES))
def test_page_keeps_all_text_at_200_percent_text_size(
    page: Page, live_server: LiveServer, state: str
) -> None:
    """WCAG 1.4.4: text resized to 200 % (not zoomed) on a desktop window loses nothing."""
    enlarge_text(page)
    STATES[state](page, live_server)
    assert page.evaluate("window.innerWidth") == DESKTOP["width"]
    assert_text_resizes(page, state)


# --- Screenshots of both journeys, desktop and 320 px -------------------------------------------


def shoot(page: Page, directory: Path, name: str) -> None:
    """Full-page screenshots at 1280 and 320 px; the narrow one must not scroll sideways."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, directory, f"{name}-1280")
    page.set_viewport_size(NARROW)
    assert_no_horizontal_scroll(page, name)
    screenshot(page, directory, f"{name}-320")
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("applicant_type", ["self", "agent"])
def test_screenshots_of_every_step(
    page: Page, live_server: LiveServer, screenshots: Path, applicant_type: str
) -> None:
    ticket, address = live_server.issue_ticket(), new_address()
    flow = f"flow-{applicant_type}"

    page.goto("/")
    shoot(page, screenshots, f"{flow}-01-top")
    open_top_and_agree(page, live_server)
    shoot(page, screenshots, f"{flow}-02-step1")
    choose_type(page, live_server, applicant_type)
    shoot(page, screenshots, f"{flow}-03-step1-chosen")

    fill_step1(page, "ABC-123", address, captcha="WRONG")
    page.get_by_role("button", name="次へ", exact=True).click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#ticket-number-error")).to_be_visible()
    shoot(page, screenshots, f"{flow}-04-step1-errors")

    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    shoot(page, screenshots, f"{flow}-05-confirm")
    page.get_by_role("button", name="申請登録").click()
    expect(page.locator("#agree-error")).to_be_visible()
    shoot(page, screenshots, f"{flow}-06-confirm-error")

    agree_and_register(page, live_server)
    shoot(page, screenshots, f"{flow}-07-complete")
    open_link_and_see_application(page, live_server, live_server.wait_for_link(address), ticket)
    shoot(page, screenshots, f"{flow}-08-apply")

    taken = sorted(p.name for p in screenshots.glob(f"{flow}-*.png"))
    assert len(taken) >= 16, taken


def test_screenshots_of_the_other_pages(
    page: Page, live_server: LiveServer, screenshots: Path
) -> None:
    for name in (
        "policy-obligations",
        "policy-privacy",
        "link-invalid",
        "link-expired",
        "link-superseded",
        "link-used",
    ):
        STATES[name](page, live_server)
        shoot(page, screenshots, f"page-{name}")
    assert (screenshots / "page-link-used-320.png").exists()
