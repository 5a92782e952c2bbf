"""The issuance application in a real browser: form, documents, 確認, 完了, and the principal's
approval or decline; each with JavaScript (htmx) and without it (plain form posts)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.pages import assert_flow, htmx_settled, path_is, see_page, summary_value
from e2e.steps_application import (
    APPLY_FORM,
    answers_for,
    expect_answers,
    expect_preview,
    expected_subject,
    fake_pdf_file,
    fill_application,
    next_to_confirm,
    next_to_documents,
    pdf_file,
    subject_lines,
    submit_application,
    upload,
    upload_refused,
    upload_required,
)
from e2e.steps_approval import decide, open_approval
from e2e.steps_registration import open_link_and_see_application, register

ERROR_TITLE = re.compile(r"^エラー: ")
JS_OR_NOT = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


def new_address(label: str) -> str:
    return f"e2e-{label}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Traffic:
    """What the page asked the server for: scripted requests, and page loads (method, path,
    status)."""

    scripted: list[str] = field(default_factory=list)
    documents: list[tuple[str, str, int]] = field(default_factory=list)

    def posts(self) -> list[tuple[str, int]]:
        return [(path, status) for method, path, status in self.documents if method == "POST"]


def watch(page: Page, live_server: LiveServer) -> Traffic:
    traffic = Traffic()
    page.on(
        "request",
        lambda r: traffic.scripted.append(r.url) if r.resource_type in ("xhr", "fetch") else None,
    )
    page.on(
        "response",
        lambda r: (
            traffic.documents.append(
                (r.request.method, r.url.removeprefix(live_server.base_url), r.status)
            )
            if r.request.resource_type == "document"
            else None
        ),
    )
    return traffic


def assert_plain_posts(traffic: Traffic) -> None:
    """Without JavaScript nothing is scripted and every step is a form post answered 303
    (or 422 where a mistake was made on purpose)."""
    assert not traffic.scripted, f"no script may send requests with JavaScript off: {traffic}"
    assert traffic.posts(), traffic
    assert {status for _path, status in traffic.posts()} <= {303, 422}, traffic.posts()


def failed_next(page: Page, button: str) -> None:
    """Press a step's main button with something missing: 422, title and summary say so."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/fields/" not in r.url
    ) as answered:
        page.get_by_role("button", name=button).click()
    assert answered.value.status == 422, (answered.value.url, answered.value.status)
    expect(page).to_have_title(ERROR_TITLE)
    expect(page.locator("#error-summary")).to_be_focused()


def check_confirm(
    page: Page, applicant_type: str, answers: dict[str, str], documents: list[str]
) -> None:
    assert subject_lines(page) == expected_subject(answers)
    assert summary_value(page, "氏名（姓）") == answers["family_name"]
    assert summary_value(page, "フリガナ（メイ）") == answers["given_name_kana"]
    listed = page.locator(".plain-list li").all_inner_texts()
    assert [text.split("（")[0] for text in listed] == documents, listed
    assert_flow(page, applicant_type, "apply-confirm")


def change_answer_from_confirm(
    page: Page, live_server: LiveServer, name: str, label: str, value: str, *, js: bool
) -> None:
    """「変更」 on 確認 opens the form at the field; 「確認画面へ」 comes back to 確認."""
    page.get_by_role("link", name=re.compile(rf"^変更\s*（{re.escape(label)}）$")).click()
    expect(page).to_have_url(live_server.url(f"/apply?return_to=confirm#{name.replace('_', '-')}"))
    fill_application(page, {name: value}, js=js)
    page.get_by_role("button", name="確認画面へ").click()
    see_page(page, live_server, "/apply/confirm", "発行申請内容の確認")
    assert summary_value(page, label) == value


@JS_OR_NOT
def test_self_applies_from_registration_to_complete(
    open_page: Callable[..., Page], live_server: LiveServer, js: bool
) -> None:
    page = open_page(js=js)
    ticket, address = live_server.issue_ticket(), new_address(f"self-{js}")
    link = register(page, live_server, ticket, address, js=js)
    traffic = watch(page, live_server)
    open_link_and_see_application(page, live_server, link, ticket)
    assert_flow(page, "self", "apply")

    failed_next(page, "次へ（本人確認書類）")
    expect(page.locator("#family-name-error")).to_contain_text("氏名（姓）を入力してください")
    expect(page.locator("#include-org-error")).to_be_visible()
    expect(page.locator("#cert-email")).to_have_value(address)

    answers = answers_for("self", address)
    fill_application(page, {**answers, "family_name_roman": "yamada"}, js=js)
    if js:  # the preview follows the answers, names written the way the certificate will be
        expect(page.locator("#family-name-roman")).to_have_value("Yamada")
        expect_preview(page, expected_subject(answers))
    next_to_documents(page, live_server)

    failed_next(page, "次へ（確認）")
    expect(page.locator("#error-summary")).to_contain_text("本人確認書類（表面）")
    expect(page.locator("#error-summary")).to_contain_text("在籍を証明する書類")
    upload_refused(page, live_server, fake_pdf_file())
    sent = upload_required(page, live_server, answers)
    upload(page, live_server, "other", pdf_file("extra.pdf"))
    page.get_by_role("button", name=re.compile(r"^削除\s*（extra\.pdf）$")).click()
    see_page(page, live_server, "/apply/documents", "本人確認書類のアップロード")
    expect(page.locator(".documents__name")).to_have_count(len(sent))
    next_to_confirm(page, live_server)
    check_confirm(page, "self", answers, [f["name"] for f in sent])

    change_answer_from_confirm(page, live_server, "phone", "電話番号", "045-123-4567", js=js)
    failed_next(page, "申請する")
    expect(page.locator("#agree-error")).to_contain_text("申請するには")
    reference = submit_application(page, live_server)
    assert_flow(page, "self", "apply-complete")

    mail = live_server.wait_for_mail(address, count=2)
    assert reference in mail.subject, mail.subject
    assert "発行申請を受け付けました" in mail.subject
    page.goto(link)  # the registration link was used by the submission
    expect(page).to_have_url(live_server.url("/apply/link/used"))
    stored = [p for p in live_server.documents_dir.rglob("*") if p.is_file()]
    assert stored, "no document stored"
    assert not any(p.read_bytes()[:5] in (b"%PDF-", b"\x89PNG\r") for p in stored), (
        "documents must be stored encrypted"
    )
    if not js:
        assert_plain_posts(traffic)


@JS_OR_NOT
def test_declined_application_is_corrected_sent_again_and_approved(
    open_page: Callable[..., Page], live_server: LiveServer, js: bool
) -> None:
    agent, principal = open_page(js=js), open_page(js=js)
    agent_traffic, principal_traffic = watch(agent, live_server), watch(principal, live_server)
    ticket = live_server.issue_ticket()
    agent_address, principal_address = new_address(f"agent-{js}"), new_address(f"principal-{js}")
    link = register(agent, live_server, ticket, agent_address, "agent", js=js)
    open_link_and_see_application(agent, live_server, link, ticket)
    assert_flow(agent, "agent", "apply")
    expect(agent.locator("#cert-email")).to_have_value("")

    # The agent's own address cannot be the principal's.
    answers = answers_for("agent", principal_address)
    fill_application(agent, {**answers, "cert_email": agent_address}, js=js)
    failed_next(agent, "次へ（本人確認書類）")
    expect(agent.locator("#cert-email-error")).to_contain_text("代理人ご自身のメールアドレス")
    expect_answers(agent, {k: v for k, v in answers.items() if k != "cert_email"})
    fill_application(agent, {"cert_email": principal_address}, js=js)
    next_to_documents(agent, live_server)
    sent = upload_required(agent, live_server, answers)
    next_to_confirm(agent, live_server)
    check_confirm(agent, "agent", answers, [f["name"] for f in sent])
    expect(agent.locator("main")).to_contain_text(f"本人（{principal_address}）に承認を依頼")
    reference = submit_application(agent, live_server)
    assert_flow(agent, "agent", "apply-complete")
    expect(agent.locator("main")).to_contain_text(principal_address)

    # The principal declines, with a reason.
    first_request = live_server.wait_for_link(principal_address, kind="approve")
    open_approval(principal, live_server, first_request)
    see_approval(principal, answers, reference, [f["name"] for f in sent])
    principal.locator("#decision-decline").check()
    failed_next(principal, "送信する")
    expect(principal.locator("#reason-error")).to_be_visible()
    decide(principal, live_server, "decline", reason="所属組織の名称が違います。")
    expect(principal.locator("main")).to_contain_text("承認しないことを代理人の方にお伝えしました")
    assert_flow(principal, "agent", "approval-complete")
    principal.goto(first_request)
    expect(principal).to_have_url(live_server.url("/approve/link/used"))

    outcome = live_server.wait_for_mail(agent_address, count=3)
    assert "承認しませんでした" in outcome.subject, outcome.subject
    assert "所属組織の名称が違います。" in outcome.text
    fresh = live_server.link_in(outcome, "apply")
    assert fresh != link

    # The agent corrects the answer through the fresh link and sends it again.
    agent.goto(fresh)
    see_page(agent, live_server, "/apply", APPLY_FORM)
    expect_answers(agent, answers)
    answers["agent_org"] = "鈴木総合法律事務所"
    fill_application(agent, {"agent_org": answers["agent_org"]}, js=js)
    next_to_documents(agent, live_server)
    expect(agent.locator(".documents__name")).to_have_count(len(sent))
    next_to_confirm(agent, live_server)
    assert summary_value(agent, "代理人の所属組織") == answers["agent_org"]
    assert submit_application(agent, live_server) == reference

    # A new request reaches the principal, who approves it this time.
    second_request = live_server.wait_for_link(principal_address, count=2, kind="approve")
    assert second_request != first_request
    open_approval(principal, live_server, second_request)
    expect(principal.locator("main")).to_contain_text(answers["agent_org"])
    principal.locator("#decision").check()
    failed_next(principal, "送信する")
    expect(principal.locator("#agree-error")).to_be_visible()
    decide(principal, live_server, "approve")
    expect(principal.locator("main")).to_contain_text("申請を承認しました")
    expect(principal.locator(".reference")).to_contain_text(reference)

    approved = live_server.wait_for_mail(agent_address, count=5)
    assert "承認しました" in approved.subject and "承認しませんでした" not in approved.subject
    assert reference in approved.subject
    if not js:
        assert_plain_posts(agent_traffic)
        assert_plain_posts(principal_traffic)


def see_approval(page: Page, answers: dict[str, str], reference: str, documents: list[str]) -> None:
    """What the principal is shown: who applied, what goes into the certificate, the
    documents by name, and the obligations agreed to."""
    assert summary_value(page, "受付番号") == reference
    assert summary_value(page, "代理人の氏名") == answers["agent_name"]
    assert subject_lines(page) == expected_subject(answers)
    for name in documents:
        expect(page.locator("main")).to_contain_text(name)
    expect(page.get_by_role("heading", name="利用者の義務")).to_be_visible()
    assert_flow(page, "agent", "approval")


def test_inline_check_explains_a_wrong_corporate_number(
    page: Page, live_server: LiveServer
) -> None:
    ticket, address = live_server.issue_ticket(), new_address("inline")
    open_link_and_see_application(
        page, live_server, register(page, live_server, ticket, address), ticket
    )
    page.locator("#include-org").check()
    field = page.locator("#corporate-number")
    with page.expect_response(lambda r: r.url.endswith("/apply/fields/corporate_number")) as done:
        field.fill("1000012050002")
        field.press("Tab")
    assert done.value.status == 422, done.value.status
    message = page.locator("#corporate-number-error")
    expect(message).to_contain_text("検査用数字")
    field = page.locator("#corporate-number")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described == ["corporate-number-hint", "corporate-number-error"], described
    expect(field).to_have_value("1000012050002")
    expect(page.locator("#live-region")).to_contain_text("検査用数字")
    expect(page.locator("#error-summary")).to_have_count(0)

    # A valid number clears the message; the preview shows it as the OU.
    with page.expect_response(lambda r: r.url.endswith("/apply/fields/corporate_number")):
        field.fill("7000012050002")
        field.press("Tab")
    expect(page.locator("#corporate-number-error")).to_have_count(0)
    expect(page.locator("#corporate-number")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#live-region")).to_have_text("")
    expect(page.locator("#subject-preview")).to_contain_text("CN-7000012050002")


def test_draft_is_kept_and_resumed_from_the_emailed_link(
    page: Page, open_page: Callable[..., Page], live_server: LiveServer
) -> None:
    """Leaving a field saves it (JS); 一時保存 saves the rest (without JS too); opening the
    emailed link again, in another browser, finds every answer."""
    ticket, address = live_server.issue_ticket(), new_address("draft")
    link = register(page, live_server, ticket, address)
    open_link_and_see_application(page, live_server, link, ticket)
    with page.expect_response(lambda r: r.url.endswith("/apply/fields/family_name")):
        page.locator("#family-name").fill("山田")
        page.locator("#family-name").press("Tab")
    htmx_settled(page)

    later = open_page(js=False)
    open_link_and_see_application(later, live_server, link, ticket)
    expect(later.locator("#family-name")).to_have_value("山田")
    partial = {"given_name": "太郎", "given_name_kana": "タロウ", "include_org": "no"}
    fill_application(later, partial, js=False)
    later.get_by_role("button", name="一時保存").click()
    see_page(later, live_server, "/apply", APPLY_FORM)
    expect(later.get_by_role("status")).to_contain_text("入力内容を一時保存しました")
    expect(later.locator("#error-summary")).to_have_count(0)

    again = open_page(js=True)
    open_link_and_see_application(again, live_server, link, ticket)
    expect_answers(again, {"family_name": "山田", **partial})


def test_approval_links_that_cannot_be_used_say_why(page: Page, live_server: LiveServer) -> None:
    page.goto("/approve/t/" + "x" * 43)
    expect(page).to_have_url(live_server.url("/approve/link/invalid"))
    expect(page.locator("h1")).to_have_text("URLが正しくありません")
    page.goto("/approve")
    expect(page).to_have_url(live_server.url("/approve/link/invalid"))
    page.goto("/apply/complete")  # nothing submitted in this browser
    expect(page).to_have_url(path_is(live_server, "/apply/link/invalid"))
