"""The review by keyboard alone (Tab, Enter and Space; typing into fields), every stop's focus
visible: a reviewer finds a 本人 application in the queue, claims it, opens its documents and
asks for a correction (with JavaScript and without). Then four-eyes (REVIEW_APPROVALS=2, a
server of its own): a reviewer recommends and another operator, an approver, approves; an
approver who recommended is told on the page why they may not approve, and a second approver
does. The pages axe-clean at 1280 and 320 px; screenshots of the queue and an application."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.a11y import assert_focus_visible, shoot
from e2e.conftest import LiveServer, _new_context, serving
from e2e.pages import htmx_settled
from e2e.test_console_review import (
    APPROVER,
    QUEUE,
    REVIEWER,
    assert_axe_clean_at_both_sizes,
    sign_in,
    status_is,
    submitted_application,
)

SECOND_APPROVER = ("approver2-e2e@example.jp", "承認 三郎", "approver")
WHY = "この申請の承認を推薦したのはあなたです。推薦した人は承認できません。"
STOPS = 120  # Tabs allowed to reach one control (the application page has many)


def tab_until(page: Page, predicate: str, what: str, limit: int = STOPS) -> None:
    """Tab until the focused element satisfies the JavaScript `predicate` (of `el`), every
    stop on the way with a visible focus indicator."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if page.evaluate(f"(el => {predicate})(document.activeElement)"):
            return
        seen.append(
            page.evaluate(
                "el => el.id || el.tagName + ':' + (el.innerText || '').trim().slice(0, 20)",
                page.evaluate_handle("document.activeElement"),
            )
        )
    raise AssertionError(f"{limit} Tabs did not reach {what}; stops: {seen[-20:]}")


def tab_to_text(page: Page, text: str) -> None:
    """Tab to the link or button that reads `text`."""
    tab_until(
        page,
        f"['A', 'BUTTON'].includes(el.tagName) && el.innerText.trim() === {text!r}",
        repr(text),
    )


def tab_to_id(page: Page, element_id: str) -> None:
    tab_until(page, f"el.id === {element_id!r}", f"#{element_id}")


def activate(page: Page, key: str = "Enter", *, js: bool) -> None:
    page.keyboard.press(key)
    page.wait_for_load_state()
    if js:
        htmx_settled(page)


def open_by_keyboard(
    page: Page, live_server: LiveServer, reference: str, *, js: bool, tab: str = "waiting"
) -> None:
    """From a tab of the queue: type the reference into the search, Enter, Tab to its row's
    link, Enter."""
    page.goto(live_server.url(f"{QUEUE}?tab={tab}"))
    tab_to_id(page, "q")
    page.keyboard.type(reference)
    activate(page, js=js)
    expect(page).to_have_url(re.compile(r"q=" + re.escape(reference)))
    expect(page.locator("#queue-results tbody tr")).to_have_count(1)
    tab_to_text(page, reference)
    activate(page, js=js)
    expect(page.locator("h1")).to_contain_text(f"申請 {reference}")


def claim_by_keyboard(page: Page, holder: str, *, js: bool) -> None:
    tab_to_text(page, "担当する")
    activate(page, js=js)
    expect(page.get_by_role("status")).to_contain_text("この申請の担当になりました。")
    status_is(page, "LRA審査中")
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text="担当"))
    expect(row.first.locator("dd")).to_have_text(holder)


def tick_checklist_and(page: Page, button: str, *, js: bool) -> None:
    """Space on every box of the checklist, then Enter on the form's button."""
    boxes = page.locator("input[type=checkbox][name^=check_]")
    for n in range(boxes.count()):
        tab_until(page, "el.matches('input[type=checkbox][name^=check_]')", f"check {n + 1}")
        page.keyboard.press("Space")
        expect(page.locator("input[name^=check_]:focus")).to_be_checked()
    tab_to_text(page, button)
    activate(page, js=js)


def open_documents_by_keyboard(page: Page, context: BrowserContext) -> None:
    """Each page image's 原寸 link, by Enter: a new tab showing the image."""
    links = page.locator(".review-document a")
    expect(links).to_have_count(3)  # the ID's front and back, the employment PDF's one page
    for n in range(links.count()):
        tab_until(page, "el.closest('.review-document') !== null", f"document link {n + 1}")
        with context.expect_page() as opened:
            page.keyboard.press("Enter")
        shown = opened.value
        shown.wait_for_load_state()
        assert re.search(r"/documents/[0-9a-z]+/pages/\d+$", shown.url), shown.url
        assert shown.evaluate("document.contentType").startswith("image/")
        assert shown.evaluate("document.images[0].naturalWidth") > 0
        shown.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_by_keyboard_a_reviewer_claims_views_documents_and_asks_for_a_correction(
    js: bool,
    contexts: Callable[..., BrowserContext],
    live_server: LiveServer,
    screenshots: Path,
) -> None:
    address, reference = submitted_application(contexts().new_page(), live_server)
    context = contexts(js=js)
    reviewer = sign_in(context, live_server, REVIEWER)
    open_by_keyboard(reviewer, live_server, reference, js=js)
    claim_by_keyboard(reviewer, REVIEWER[1], js=js)
    open_documents_by_keyboard(reviewer, context)
    if js:
        shoot(reviewer, screenshots, "console-application-in-review")

    mails_before = len(live_server.mails_to(address))
    tab_to_id(reviewer, "fields-phone")
    reviewer.keyboard.press("Space")
    expect(reviewer.locator("#fields-phone")).to_be_checked()
    tab_to_id(reviewer, "message")
    reviewer.keyboard.type("電話番号を日中つながる番号にしてください。")
    tab_to_text(reviewer, "修正を依頼")
    activate(reviewer, js=js)
    expect(reviewer.get_by_role("status")).to_contain_text("現在の状態: 修正依頼中")
    mail = live_server.wait_for_mail(address, count=mails_before + 1)
    assert reference in mail.subject and "電話番号を日中つながる番号に" in mail.text
    if js:
        reviewer.goto(live_server.url(f"{QUEUE}?tab=correction"))
        expect(reviewer.locator("#queue-results tbody tr").first).to_contain_text(reference)
        shoot(reviewer, screenshots, "console-queue")
        assert_axe_clean_at_both_sizes(reviewer, "the queue's 修正依頼中 tab")


@pytest.fixture(scope="module")
def four_eyes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("jcan-four-eyes"), REVIEW_APPROVALS="2") as server:
        yield server


@pytest.fixture
def four_eyes_contexts(
    browser: Browser, four_eyes: LiveServer
) -> Iterator[Callable[[], BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_one() -> BrowserContext:
        opened.append(_new_context(browser, four_eyes))
        return opened[-1]

    yield open_one
    for context in opened:
        context.close()


def test_four_eyes_by_keyboard_recommend_then_another_approves(
    four_eyes_contexts: Callable[[], BrowserContext], four_eyes: LiveServer
) -> None:
    _address, reference = submitted_application(four_eyes_contexts().new_page(), four_eyes)
    reviewer = sign_in(four_eyes_contexts(), four_eyes, REVIEWER)
    open_by_keyboard(reviewer, four_eyes, reference, js=True)
    claim_by_keyboard(reviewer, REVIEWER[1], js=True)
    expect(reviewer.get_by_role("button", name="承認", exact=True)).to_have_count(0)
    tick_checklist_and(reviewer, "承認を推薦する", js=True)
    expect(reviewer.get_by_role("status")).to_contain_text("現在の状態: 承認待ち")
    expect(reviewer.locator("main")).to_contain_text(f"{REVIEWER[1]}が承認を推薦しました。")

    approver = sign_in(four_eyes_contexts(), four_eyes, APPROVER)
    approver.goto(four_eyes.url(f"{QUEUE}?tab=recommended"))
    expect(approver.locator("#queue-results tbody tr")).to_have_count(1)
    tab_to_text(approver, reference)
    activate(approver, js=True)
    status_is(approver, "承認待ち")
    assert_axe_clean_at_both_sizes(approver, "a recommended application for its approver")
    tick_checklist_and(approver, "承認", js=True)
    expect(approver.get_by_role("status")).to_contain_text("現在の状態: 承認済み")
    history = approver.locator(".table-wrap tbody tr")
    expect(history.filter(has_text="承認待ち → 承認済み")).to_contain_text(APPROVER[1])
    expect(history.filter(has_text="LRA審査中 → 承認待ち")).to_contain_text(REVIEWER[1])


def test_four_eyes_the_recommender_is_told_why_they_may_not_approve(
    four_eyes_contexts: Callable[[], BrowserContext], four_eyes: LiveServer
) -> None:
    _address, reference = submitted_application(four_eyes_contexts().new_page(), four_eyes)
    first = sign_in(four_eyes_contexts(), four_eyes, APPROVER)
    open_by_keyboard(first, four_eyes, reference, js=True)
    claim_by_keyboard(first, APPROVER[1], js=True)
    tick_checklist_and(first, "承認を推薦する", js=True)
    status_is(first, "承認待ち")
    expect(first.locator("main")).to_contain_text(WHY)
    expect(first.get_by_role("button", name="承認", exact=True)).to_have_count(0)
    assert_axe_clean_at_both_sizes(first, "the recommender's own recommendation")

    second = sign_in(four_eyes_contexts(), four_eyes, SECOND_APPROVER)
    open_by_keyboard(second, four_eyes, reference, js=True, tab="recommended")
    expect(second.locator("main")).not_to_contain_text(WHY)
    tick_checklist_and(second, "承認", js=True)
    expect(second.get_by_role("status")).to_contain_text("現在の状態: 承認済み")
