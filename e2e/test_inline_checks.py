"""Inline checks on a slow line: what the person types meanwhile is never replaced, and the
message still appears and is announced; Back after 完了 lands on 完了."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.pages import htmx_settled, see_page
from e2e.steps_application import APPLY_COMPLETE, APPLY_FORM, apply_until_complete
from e2e.steps_registration import open_link_and_see_application, register

LATENCY_MS = 1500  # a phone on a train


@dataclass(frozen=True)
class Case:
    """A field whose first value gets a message, the field after it, and what follows."""

    field: str  # the id of the checked input
    endpoint: str  # the path of its inline check
    first: str  # typed, then Tab: the check leaves with this value (and answers a message)
    message: str  # part of that message
    neighbour: str  # the id of the next field (where Tab lands)
    neighbour_text: str  # typed there when a second field is used in between
    more: str  # typed after coming back (Shift+Tab, End) while the check is in flight


STEP1 = Case(
    "ticket-number",
    "/register/step1/fields/ticket_number",
    "ABC",
    "チケット番号の形式が正しくありません",
    "email",
    "someone@example.com",
    "D-EFGH",
)
APPLICATION = Case(
    "family-name-kana",
    "/apply/fields/family_name_kana",
    "Yama",
    "全角カタカナ",
    "given-name-kana",
    "タロウ",
    "da",
)


def new_address() -> str:
    return f"e2e-inline-{uuid.uuid4().hex[:10]}@example.com"


def slow_line(page: Page) -> None:
    """Every response from now on arrives LATENCY_MS after its request left (Chromium)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def open_form(page: Page, live_server: LiveServer, form: str) -> Case:
    if form == "step1":
        page.goto("/register/step1?applicant_type=self")
        expect(page.locator("#ticket-number")).to_be_enabled()
        return STEP1
    ticket = live_server.issue_ticket()
    link = register(page, live_server, ticket, new_address())
    open_link_and_see_application(page, live_server, link, ticket)
    return APPLICATION


@pytest.mark.parametrize("between", [False, True], ids=["straight-back", "second-field"])
@pytest.mark.parametrize("form", ["step1", "application"])
def test_typing_during_a_slow_inline_check_is_kept(
    page: Page, live_server: LiveServer, form: str, between: bool
) -> None:
    case = open_form(page, live_server, form)
    htmx_settled(page)
    slow_line(page)
    field = page.locator(f"#{case.field}")
    with page.expect_response(lambda r: r.url.endswith(case.endpoint), timeout=15_000) as checked:
        field.click()
        page.keyboard.type(case.first)
        page.keyboard.press("Tab")  # change: the check leaves with case.first
        expect(page.locator(f"#{case.neighbour}")).to_be_focused()
        if between:
            page.keyboard.type(case.neighbour_text)
        page.keyboard.press("Shift+Tab")  # back (and, after typing there, that field's check)
        expect(field).to_be_focused()
        page.keyboard.press("End")
        page.keyboard.type(case.more)
        typed = case.first + case.more
        # Still in flight: the answer is at least LATENCY_MS away.
        assert page.evaluate("() => !!document.querySelector('.htmx-request')")
    assert checked.value.status == 422, checked.value.status
    htmx_settled(page)

    expect(page.locator(f"#{case.field}-error")).to_contain_text(case.message)
    expect(page.locator("#live-region")).to_contain_text(case.message)
    field = page.locator(f"#{case.field}")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = (field.get_attribute("aria-describedby") or "").split()
    assert f"{case.field}-error" in described, described
    expect(field).to_have_value(typed)
    expect(field).to_be_focused()
    caret = field.evaluate("e => [e.selectionStart, e.selectionEnd]")
    assert caret == [len(typed), len(typed)], f"the caret moved: {caret}"
    if between:
        expect(page.locator(f"#{case.neighbour}")).to_have_value(case.neighbour_text)


def test_a_stale_check_does_not_undo_a_newer_one(page: Page, live_server: LiveServer) -> None:
    """Two checks of one field in flight: the newer one wins (hx-sync replaces the older)."""
    case = open_form(page, live_server, "step1")
    slow_line(page)
    field = page.locator(f"#{case.field}")
    field.click()
    page.keyboard.type(case.first)
    page.keyboard.press("Tab")  # the check of "ABC" leaves
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("End")
    page.keyboard.type(case.more)  # "ABCD-EFGH": still the wrong form
    with page.expect_response(lambda r: r.url.endswith(case.endpoint), timeout=15_000):
        field.fill("")
        page.keyboard.type("ABCD-EFGH-JKMN-2345")  # a good form (no such ticket, though)
        page.keyboard.press("Tab")
    htmx_settled(page)
    expect(page.locator(f"#{case.field}-field")).not_to_contain_text(case.message)
    expect(page.locator("#live-region")).not_to_contain_text(case.message)
    expect(field).to_have_value("ABCD-EFGH-JKMN-2345")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_back_after_the_application_is_submitted_shows_complete(
    page: Page, nojs_page: Page, live_server: LiveServer, js: bool
) -> None:
    browser_page = page if js else nojs_page
    address, _answers = apply_until_complete(browser_page, live_server, "self", js=js)
    live_server.wait_for_mail(address, count=2)  # the registration's, then the submission's
    mails = len(live_server.mails_to(address))
    reference = browser_page.locator(".reference strong").inner_text().strip()

    browser_page.go_back()
    see_page(browser_page, live_server, "/apply/complete", APPLY_COMPLETE)
    expect(browser_page.locator(".reference strong")).to_have_text(reference)
    expect(browser_page.locator("h1")).not_to_have_text("URLが正しくありません")

    # The form itself, opened again in this browser: the outcome, not a broken link.
    browser_page.goto("/apply")
    see_page(browser_page, live_server, "/apply/complete", APPLY_COMPLETE)
    time.sleep(1)  # a second submission's mail would be written by now
    assert len(live_server.mails_to(address)) == mails, "a second mail after 完了"
    assert APPLY_FORM not in browser_page.locator("h1").inner_text()
