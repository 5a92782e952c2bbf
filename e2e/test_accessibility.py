"""Accessibility of every page state: axe (WCAG 2.2 AA rules), reflow at 320 CSS px, text at
200 %, screenshots."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.a11y import (
    assert_no_horizontal_scroll,
    assert_text_resizes,
    axe_violations,
    describe_violations,
    enlarge_text,
    pa11y_issues,
    shoot,
)
from e2e.conftest import DESKTOP, NARROW, LiveServer
from e2e.pages import see_page
from e2e.steps_application import (
    APPLY_COMPLETE,
    APPLY_CONFIRM,
    APPLY_FORM,
    DOCUMENTS,
    answers_for,
    apply_until_complete,
    expect_preview,
    expected_subject,
    fake_pdf_file,
    fill_application,
    next_to_confirm,
    next_to_documents,
    submit_application,
    upload_refused,
    upload_required,
)
from e2e.steps_approval import APPROVAL, APPROVAL_COMPLETE, decide, open_approval
from e2e.steps_registration import (
    agree_and_register,
    choose_type,
    fill_step1,
    open_link_and_see_application,
    open_top_and_agree,
    register,
    submit_step1,
)

State = Callable[[Page, LiveServer], None]


def new_address() -> str:
    return f"e2e-a11y-{uuid.uuid4().hex[:10]}@example.com"


# --- Page states: each brings a fresh page to one state and checks it got there --------------


def at(path: str, heading: str) -> State:
    """A page its address alone reaches, known by its heading."""

    def go(page: Page, live_server: LiveServer) -> None:
        page.goto(path)
        expect(page.locator("h1")).to_have_text(heading)

    return go


def refused(state: State, button: str, error: str = "", *, choose: str = "") -> State:
    """`state`, then (after checking `choose`) `button` pressed: the message `error` shown
    next to its field, and the error summary focused."""

    def go(page: Page, live_server: LiveServer) -> None:
        state(page, live_server)
        if choose:
            page.locator(choose).check()
        page.get_by_role("button", name=button).click()
        if error:
            expect(page.locator(error)).to_be_visible()
        expect(page.locator("#error-summary")).to_be_focused()

    return go


def top(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page.get_by_role("link", name="同意する")).to_be_visible()


def step1(page: Page, live_server: LiveServer) -> None:
    page.goto("/register/step1")
    expect(page.locator("#company-code")).to_be_disabled()


def step1_chosen(applicant_type: str) -> State:
    def go(page: Page, live_server: LiveServer) -> None:
        step1(page, live_server)
        choose_type(page, live_server, applicant_type)

    return go


step1_self = step1_chosen("self")


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


# --- The application and the approval: states deep in a journey ----------------------------
#
# Reaching them costs a whole journey, so each is made once per session and the browser's
# cookies (its session) are kept: a later test restores them and opens the page directly.

_PREPARED: dict[str, list[Any]] = {}


def prepared(page: Page, live_server: LiveServer, key: str, make: State) -> None:
    if key in _PREPARED:
        page.context.add_cookies(_PREPARED[key])
    else:
        make(page, live_server)
        _PREPARED[key] = page.context.cookies()


def _registered(page: Page, live_server: LiveServer) -> None:
    ticket, address = live_server.issue_ticket(), new_address()
    open_link_and_see_application(
        page, live_server, register(page, live_server, ticket, address), ticket
    )


def _answered(page: Page, live_server: LiveServer) -> None:
    _registered(page, live_server)
    fill_application(page, answers_for("self", page.locator("#cert-email").input_value()))
    next_to_documents(page, live_server)


def _uploaded(page: Page, live_server: LiveServer) -> None:
    _answered(page, live_server)
    upload_required(page, live_server, {"include_org": "yes"})


def _submitted(page: Page, live_server: LiveServer) -> None:
    apply_until_complete(page, live_server, "self")


def _awaiting_approval(page: Page, live_server: LiveServer) -> None:
    principal = new_address()
    apply_until_complete(page, live_server, "agent", principal=principal)
    open_approval(page, live_server, live_server.wait_for_link(principal, kind="approve"))


def _approved(page: Page, live_server: LiveServer) -> None:
    _awaiting_approval(page, live_server)
    decide(page, live_server, "approve")


def deep(key: str, make: State, path: str, heading: str) -> State:
    """The page at `path` once the journey `make` (done once, under `key`) has been taken."""

    def go(page: Page, live_server: LiveServer) -> None:
        prepared(page, live_server, key, make)
        page.goto(path)
        see_page(page, live_server, path, heading)

    return go


app_form = deep("registered", _registered, "/apply", APPLY_FORM)
documents = deep("answered", _answered, "/apply/documents", DOCUMENTS)
app_confirm = deep("uploaded", _uploaded, "/apply/confirm", APPLY_CONFIRM)
approval = deep("awaiting-approval", _awaiting_approval, "/approve", APPROVAL)
_WRONG_CHECK_DIGITS = itertools.cycle("1234568")  # the valid number starts with 7


def app_form_inline_error(page: Page, live_server: LiveServer) -> None:
    prepared(page, live_server, "inline", _registered)
    page.goto("/apply")
    page.locator("#include-org").check()
    # A number other than the draft's, or leaving the field would change nothing.
    page.locator("#corporate-number").fill(next(_WRONG_CHECK_DIGITS) + "000012050002")
    page.locator("#corporate-number").press("Tab")
    expect(page.locator("#corporate-number-error")).to_contain_text("検査用数字")


def documents_refused(page: Page, live_server: LiveServer) -> None:
    documents(page, live_server)
    upload_refused(page, live_server, fake_pdf_file())


def documents_uploaded(page: Page, live_server: LiveServer) -> None:
    prepared(page, live_server, "uploaded", _uploaded)
    page.goto("/apply/documents")
    expect(page.locator(".documents__name")).to_have_count(3)


STATES: dict[str, State] = {
    "top": top,
    "step1": step1,
    "step1-self": step1_self,
    "step1-agent": step1_chosen("agent"),
    "step1-inline-error": step1_inline_error,
    "step1-failed-next": step1_failed_next,
    "confirm": confirm,
    "confirm-missing-agreement": refused(confirm, "申請登録", "#agree-error"),
    "complete": complete,
    "policy-obligations": at("/policies/obligations", "利用者の義務"),
    "policy-privacy": at("/policies/privacy", "個人情報の取扱いについて"),
    "apply": apply,
    "link-invalid": at("/apply/link/invalid", "URLが正しくありません"),
    "link-expired": at("/apply/link/expired", "URLの有効期限が切れています"),
    "link-superseded": at(
        "/apply/link/superseded", "このURLは新しい申請登録により無効になりました"
    ),
    "link-used": at("/apply/link/used", "このURLは使用済みです"),
    "app-form": app_form,
    "app-form-failed-next": refused(app_form, "次へ（本人確認書類）", "#family-name-error"),
    "app-form-inline-error": app_form_inline_error,
    "documents": documents,
    "documents-missing": refused(documents, "次へ（確認）"),
    "documents-refused": documents_refused,
    "documents-uploaded": documents_uploaded,
    "app-confirm": app_confirm,
    "app-confirm-missing-agreement": refused(app_confirm, "申請する", "#agree-error"),
    "app-complete": deep("submitted", _submitted, "/apply/complete", APPLY_COMPLETE),
    "approval": approval,
    "approval-error": refused(approval, "送信する", "#decision-error"),
    "approval-decline-error": refused(
        approval, "送信する", "#reason-error", choose="#decision-decline"
    ),
    "approval-complete": deep("approved", _approved, "/approve/complete", APPROVAL_COMPLETE),
    "approve-link-invalid": at("/approve/link/invalid", "URLが正しくありません"),
    "approve-link-expired": at("/approve/link/expired", "URLの有効期限が切れています"),
    "approve-link-superseded": at(
        "/approve/link/superseded", "このURLは新しい承認依頼により無効になりました"
    ),
    "approve-link-used": at("/approve/link/used", "このURLは使用済みです"),
}


@pytest.mark.parametrize("state", list(STATES))
def test_page_has_no_axe_violations_reflows_and_keeps_text_at_200_percent(
    page: Page, live_server: LiveServer, state: str
) -> None:
    """One build of each state (several are a whole registration or application), three
    checks on it: axe at 1280 px; reflow at 320 CSS px (WCAG 1.4.10) with no horizontal
    scrolling; and, back at 1280 px, text resized to 200 % (WCAG 1.4.4, the root font size, as
    a browser's text-size setting does) losing nothing."""
    STATES[state](page, live_server)
    violations = axe_violations(page)
    assert not violations, (
        f"axe found {len(violations)} violation(s) on {state} ({page.url}):\n"
        + (describe_violations(violations))
    )
    page.set_viewport_size(NARROW)
    assert page.evaluate("window.innerWidth") == NARROW["width"]
    assert_no_horizontal_scroll(page, state)
    page.set_viewport_size(DESKTOP)
    enlarge_text(page)
    assert page.evaluate("window.innerWidth") == DESKTOP["width"]
    assert_text_resizes(page, state)


# --- pa11y: HTML_CodeSniffer's WCAG2AA rules, a second opinion next to axe ------------------
#
# pa11y opens the page itself (in Debian's Chromium, through puppeteer) with this browser's
# cookies, so only states a GET reaches are listed. `make test-e2e` installs it (npm ci).

PA11Y_STATES = [
    "top",
    "step1",
    "step1-self",
    "step1-agent",
    "confirm",
    "app-form",
    "documents",
    "documents-uploaded",
    "app-confirm",
]


def test_pa11y_reports_an_unnamed_button(tmp_path: Path) -> None:
    """The runner works: HTML_CodeSniffer finds the error it is here to find."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="en"><title>t</title><main><button></button></main>')
    issues = pa11y_issues(bad.as_uri())
    assert any(i["code"].endswith("H91.Button.Name") for i in issues), issues


@pytest.mark.parametrize("state", PA11Y_STATES)
def test_page_has_no_pa11y_errors(page: Page, live_server: LiveServer, state: str) -> None:
    STATES[state](page, live_server)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies(page.url))
    errors = [i for i in pa11y_issues(page.url, cookie) if i["type"] == "error"]
    assert not errors, f"pa11y (HTML_CodeSniffer, WCAG2AA) on {state} ({page.url}):\n" + "\n".join(
        f"{e['code']}: {e['message']} -> {e['selector']} {e['context']}" for e in errors
    )


# --- Screenshots of both journeys, desktop and 320 px -------------------------------------------


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
        "approve-link-invalid",
        "approve-link-expired",
        "approve-link-superseded",
        "approve-link-used",
    ):
        STATES[name](page, live_server)
        shoot(page, screenshots, f"page-{name}")
    assert (screenshots / "page-link-used-320.png").exists()


@pytest.mark.parametrize("applicant_type", ["self", "agent"])
def test_screenshots_of_every_application_step(
    page: Page, live_server: LiveServer, screenshots: Path, applicant_type: str
) -> None:
    """発行申請 from the emailed link to 完了; for 代理人 on to the principal's decline, the
    agent's correction and the principal's approval."""
    ticket, address = live_server.issue_ticket(), new_address()
    principal = new_address() if applicant_type == "agent" else ""
    flow = f"apply-{applicant_type}"
    link = register(page, live_server, ticket, address, applicant_type)
    open_link_and_see_application(page, live_server, link, ticket)
    shoot(page, screenshots, f"{flow}-01-form")
    page.get_by_role("button", name="次へ（本人確認書類）").click()
    expect(page.locator("#error-summary")).to_be_focused()
    shoot(page, screenshots, f"{flow}-02-form-errors")

    answers = answers_for(applicant_type, principal or address)
    subject = expected_subject(answers)
    if applicant_type == "self":  # a wrong check digit, told on leaving the field
        fill_application(page, {**answers, "corporate_number": "1000012050002"})
        expect(page.locator("#corporate-number-error")).to_be_visible()
        expect_preview(page, [line for line in subject if line[0] != "OU"])
    else:  # the agent's own address where the principal's belongs
        fill_application(page, {**answers, "cert_email": address})
        expect(page.locator("#cert-email-error")).to_be_visible()
        expect_preview(page, [line for line in subject if line[0] != "E"])
    shoot(page, screenshots, f"{flow}-03-form-inline-error")
    fill_application(page, answers)
    expect_preview(page, subject)
    shoot(page, screenshots, f"{flow}-04-form-filled")

    next_to_documents(page, live_server)
    shoot(page, screenshots, f"{flow}-05-documents")
    page.get_by_role("button", name="次へ（確認）").click()
    expect(page.locator("#error-summary")).to_be_focused()
    shoot(page, screenshots, f"{flow}-06-documents-missing")
    upload_refused(page, live_server, fake_pdf_file())
    shoot(page, screenshots, f"{flow}-07-documents-refused")
    upload_required(page, live_server, answers)
    shoot(page, screenshots, f"{flow}-08-documents-uploaded")

    next_to_confirm(page, live_server)
    shoot(page, screenshots, f"{flow}-09-confirm")
    page.get_by_role("button", name="申請する").click()
    expect(page.locator("#agree-error")).to_be_visible()
    shoot(page, screenshots, f"{flow}-10-confirm-error")
    submit_application(page, live_server)
    shoot(page, screenshots, f"{flow}-11-complete")

    if applicant_type == "agent":
        open_approval(page, live_server, live_server.wait_for_link(principal, kind="approve"))
        shoot(page, screenshots, f"{flow}-12-approval")
        page.locator("#decision-decline").check()
        page.get_by_role("button", name="送信する").click()
        expect(page.locator("#reason-error")).to_be_visible()
        shoot(page, screenshots, f"{flow}-13-approval-error")
        decide(page, live_server, "decline", reason="所属組織の名称が違います。")
        shoot(page, screenshots, f"{flow}-14-approval-declined")

        page.goto(live_server.wait_for_link(address, count=3))
        see_page(page, live_server, "/apply", APPLY_FORM)
        shoot(page, screenshots, f"{flow}-15-form-reopened")
        next_to_documents(page, live_server)
        next_to_confirm(page, live_server)
        submit_application(page, live_server)
        open_approval(
            page, live_server, live_server.wait_for_link(principal, count=2, kind="approve")
        )
        decide(page, live_server, "approve")
        shoot(page, screenshots, f"{flow}-16-approval-approved")

    taken = sorted(p.name for p in screenshots.glob(f"{flow}-*.png"))
    assert len(taken) >= 22, taken
