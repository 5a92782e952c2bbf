"""The review in Chromium: a reviewer claims a 本人 application, views its documents and asks
for a correction; the applicant corrects it through the mailed link and submits again; an
approver claims and approves it; another application is rejected and its applicant mailed.
With JavaScript and without it; the queue and the application page axe-clean at 1280 and 320 px.

Operators and their signed-in sessions (MFA done) are planted in the live server's database by
a helper process, as in test_console_audit; the applications go through the real pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.a11y import assert_no_horizontal_scroll, axe_violations, describe_violations
from e2e.conftest import DESKTOP, NARROW, LiveServer
from e2e.console import plant_session
from e2e.pages import htmx_settled
from e2e.steps_application import (
    apply_until_complete,
    next_to_confirm,
    next_to_documents,
    submit_application,
)

QUEUE = "/console/applications"
PLANT = """
import asyncio
import sys

from app import db
from app.console import sessions
from app.console.accounts.tables import Operator
from app.schema import TABLES
from app.settings import Settings


async def main(email: str, name: str, role: str) -> None:
    settings = Settings.from_env()
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    now = db.utcnow()
    if not await Operator.exists().where(Operator.email == email):
        await Operator.insert(Operator(email=email, name=name, role=role, enrolled_at=now))
    row = await Operator.select(Operator.id).where(Operator.email == email).first()
    async with db.write_transaction(engine):
        raw = await sessions.start(row["id"], now)
        session = await sessions.load(raw, settings)
        raw = await sessions.rotate(session, now, mfa_done=True)
    print(raw)
    await db.stop(engine)

asyncio.run(main(*sys.argv[1:4]))
"""
REVIEWER = ("reviewer-e2e@example.jp", "審査 一郎", "reviewer")
APPROVER = ("approver-e2e@example.jp", "承認 次郎", "approver")
JS_OR_NOT = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


def sign_in(context: BrowserContext, live_server: LiveServer, who: tuple[str, str, str]) -> Page:
    """A page of `context` signed in as this operator (created if missing)."""
    plant_session(context, live_server, PLANT, *who)
    return context.new_page()


def submitted_application(page: Page, live_server: LiveServer) -> tuple[str, str]:
    """A 本人 application with its documents, submitted through the real pages: (the
    applicant's address, the reference)."""
    address, _answers = apply_until_complete(page, live_server, "self")
    reference = page.locator(".reference strong").inner_text().strip()
    return address, reference


def open_from_queue(page: Page, live_server: LiveServer, reference: str, *, js: bool) -> None:
    """The waiting tab, searched for the reference, then the application's page."""
    page.goto(live_server.url(f"{QUEUE}?tab=waiting"))
    expect(page.locator("h1")).to_have_text("申請の審査")
    page.get_by_label("検索", exact=True).fill(reference)
    page.get_by_role("button", name="検索する").click()
    if js:
        htmx_settled(page)
    expect(page).to_have_url(re.compile(r"q=" + re.escape(reference)))
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("本人")
    rows.first.get_by_role("link", name=reference).click()
    expect(page.locator("h1")).to_contain_text(f"申請 {reference}")
    if js:  # the boosted page's forms are htmx's once it has settled
        htmx_settled(page)


def status_is(page: Page, label: str) -> None:
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text="状態"))
    expect(row.first.locator("dd")).to_have_text(label)


def claim(page: Page, holder: str) -> None:
    page.get_by_role("button", name="担当する").click()
    expect(page.get_by_role("status")).to_contain_text("この申請の担当になりました。")
    status_is(page, "LRA審査中")
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text="担当"))
    expect(row.first.locator("dd")).to_have_text(holder)


def assert_documents_shown(page: Page, context: BrowserContext, *, js: bool) -> None:
    """The ID front and back and the employment PDF, each as page images that load."""
    sections = page.locator(".review-document")
    expect(sections).to_have_count(3)
    expect(sections.filter(has_text="PDF、1ページ")).to_have_count(1)
    images = page.locator(".review-document img")
    expect(images).to_have_count(3)
    for image in images.all():
        image.scroll_into_view_if_needed()
        src = image.get_attribute("src") or ""
        response = context.request.get(src)
        assert response.status == 200, (src, response.status)
        assert response.headers["content-type"].startswith("image/"), response.headers
        assert "no-store" in response.headers.get("cache-control", "")
    if js:  # the browser drew them
        page.wait_for_function(
            "() => [...document.querySelectorAll('.review-document img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )


def assert_axe_clean_at_both_sizes(page: Page, label: str) -> None:
    for size, width in ((DESKTOP, "1280"), (NARROW, "320")):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert not violations, f"{label} at {width} px:\n{describe_violations(violations)}"
        assert_no_horizontal_scroll(page, f"{label} at {width} px")
    page.set_viewport_size(DESKTOP)


@JS_OR_NOT
def test_claim_correct_resubmit_and_approve(
    js: bool, contexts: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    applicant = contexts().new_page()
    address, reference = submitted_application(applicant, live_server)

    reviewer_context = contexts(js=js)
    reviewer = sign_in(reviewer_context, live_server, REVIEWER)
    if js:
        reviewer.goto(live_server.url(QUEUE))
        assert_axe_clean_at_both_sizes(reviewer, "the review queue")
    open_from_queue(reviewer, live_server, reference, js=js)
    status_is(reviewer, "申請済み")
    claim(reviewer, REVIEWER[1])
    assert_documents_shown(reviewer, reviewer_context, js=js)
    if js:
        assert_axe_clean_at_both_sizes(reviewer, "the application in review")

    # 「修正を依頼」: the phone number, with a message; the applicant is mailed a fresh link.
    mails_before = len(live_server.mails_to(address))
    correct = reviewer.locator("form[action$='/correct']")
    correct.locator("input[name=fix_phone]").check()
    correct.get_by_label("申請者へのメッセージ").fill("電話番号を日中つながる番号にしてください。")
    correct.get_by_role("button", name="修正を依頼").click()
    expect(reviewer.get_by_role("status")).to_contain_text("現在の状態: 修正依頼中")
    status_is(reviewer, "修正依頼中")
    expect(reviewer.locator("form[action$='/correct']")).to_have_count(0)
    mail = live_server.wait_for_mail(address, count=mails_before + 1)
    assert reference in mail.subject and "修正" in mail.subject, mail.subject
    assert "電話番号を日中つながる番号にしてください。" in mail.text, mail.text

    # The applicant corrects it through the mailed link and submits again.
    applicant.goto(live_server.link_in(mail))
    expect(applicant).to_have_url(live_server.url("/apply"))
    panel = applicant.locator(".panel--warning")
    expect(panel).to_contain_text("電話番号を日中つながる番号にしてください。")
    expect(panel.get_by_role("link", name="電話番号")).to_have_attribute("href", "#phone")
    expect(applicant.locator("#phone-hint")).to_contain_text("修正を依頼された項目")
    applicant.locator("#phone").fill("090-1234-5678")
    applicant.locator("h1").click()
    htmx_settled(applicant)
    next_to_documents(applicant, live_server)
    next_to_confirm(applicant, live_server)
    assert submit_application(applicant, live_server) == reference

    # Back in the queue; an approver claims it and approves.
    approver_context = contexts(js=js)
    approver = sign_in(approver_context, live_server, APPROVER)
    open_from_queue(approver, live_server, reference, js=js)
    status_is(approver, "申請済み")
    expect(approver.locator("main")).to_contain_text("090-1234-5678")
    claim(approver, APPROVER[1])
    if js:
        assert_axe_clean_at_both_sizes(approver, "the application with the approval form")
    approve = approver.locator("form[action$='/approve']")
    approve.get_by_role("button", name="承認").click()
    expect(approver.locator("#error-summary")).to_be_visible()  # the checklist is not done
    approve = approver.locator("form[action$='/approve']")
    for box in approve.locator("input[type=checkbox][name^=check_]").all():
        box.check()
    approve.get_by_role("button", name="承認").click()
    expect(approver.get_by_role("status")).to_contain_text("現在の状態: 承認済み")
    status_is(approver, "承認済み")
    history = approver.locator(".table-wrap tbody tr")
    expect(history.filter(has_text="修正依頼中")).not_to_have_count(0)
    expect(history.filter(has_text=APPROVER[1])).not_to_have_count(0)
    expect(history.filter(has_text=REVIEWER[1])).not_to_have_count(0)

    # The reviewer sees the outcome: approved, and issued once the job has run.
    reviewer.goto(live_server.url(f"{QUEUE}?tab=approved&q={reference}"))
    found = reviewer.locator("#queue-results tbody tr")
    if found.count() == 0:
        reviewer.goto(live_server.url(f"{QUEUE}?tab=issued&q={reference}"))
    expect(reviewer.locator("#queue-results tbody tr")).to_have_count(1)


def test_a_rejected_application_is_mailed_to_its_applicant(
    contexts: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    address, reference = submitted_application(contexts().new_page(), live_server)
    reviewer = sign_in(contexts(), live_server, REVIEWER)
    open_from_queue(reviewer, live_server, reference, js=True)
    claim(reviewer, REVIEWER[1])
    mails_before = len(live_server.mails_to(address))
    reject = reviewer.locator("form[action$='/reject']")
    reject.get_by_role("button", name="却下").click()
    expect(reviewer.locator("#error-summary")).to_be_visible()  # no reason chosen
    reject = reviewer.locator("form[action$='/reject']")
    reject.locator("input[name=reason][value=identity_mismatch]").check()
    reject.get_by_label("申請者への説明").fill("運転免許証の氏名が申請と異なります。")
    reject.locator("input[name=ticket_reusable][value=no]").check()
    reject.get_by_role("button", name="却下").click()
    expect(reviewer.get_by_role("status")).to_contain_text("現在の状態: 却下")
    status_is(reviewer, "却下")
    mail = live_server.wait_for_mail(address, count=mails_before + 1)
    assert reference in mail.subject and "受け付けられませんでした" in mail.subject, mail.subject
    assert "本人確認書類の内容と申請内容が一致しませんでした。" in mail.text, mail.text
    assert "運転免許証の氏名が申請と異なります。" in mail.text, mail.text
    assert "もう使うことができません" in mail.text, mail.text


def test_a_boosted_click_that_meets_an_error_shows_the_error_page(
    contexts: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    """With JavaScript, the console's links and forms are boosted: an error answer (here the
    CSRF check's 403, its cookie gone) is shown as the page it is, as without JavaScript,
    rather than leaving the click without any visible answer; the address stays."""
    context = contexts()
    page = sign_in(context, live_server, REVIEWER)
    page.goto(live_server.url(QUEUE))
    expect(page.locator("h1")).to_have_text("申請の審査")
    context.clear_cookies(name="jcan_csrf")
    page.get_by_role("button", name="ログアウト").click()
    expect(page.locator("h1")).to_have_text("画面の有効期限が切れました")
    expect(page).to_have_url(live_server.url(QUEUE))
    page.reload()  # the way on that the page describes: still signed in, nothing was done
    expect(page.locator("h1")).to_have_text("申請の審査")
