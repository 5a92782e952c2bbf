"""The registration journey in a real browser: with and without JavaScript, by keyboard, errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from e2e.a11y import assert_focus_visible, focus_info, press, tab_to
from e2e.conftest import CAPTCHA_ANSWER, LiveServer
from e2e.pages import APPLICANTS, assert_flow, htmx_settled, path_is, summary_value
from e2e.steps_registration import (
    agree_and_register,
    choose_type,
    fill_step1,
    open_link_and_see_application,
    open_top_and_agree,
    register,
    submit_step1,
)

ERROR_TITLE = re.compile(r"^エラー: ")


def new_address(label: str) -> str:
    return f"e2e-{label}-{uuid.uuid4().hex[:10]}@example.com"


@contextmanager
def inline_check(page: Page, name: str) -> Iterator[None]:
    """Wait for the inline check of field `name` that the enclosed action starts."""
    with page.expect_response(lambda r: r.url.endswith(f"/register/step1/fields/{name}")):
        yield


def see_confirm(page: Page, applicant_type: str, ticket: str, address: str) -> None:
    assert summary_value(page, "申請者") == APPLICANTS[applicant_type].label
    assert summary_value(page, "チケット番号") == ticket, "ticket number not normalised on confirm"
    assert summary_value(page, "メールアドレス") == address
    assert_flow(page, applicant_type, "confirm")


def see_complete(page: Page, applicant_type: str, address: str) -> None:
    assert summary_value(page, "送信先メールアドレス") == address
    assert_flow(page, applicant_type, "complete")


def see_application(
    page: Page, live_server: LiveServer, applicant_type: str, ticket: str, address: str
) -> str:
    """Open the emailed link: /apply shows the registration and the application form.
    Returns the link."""
    link = live_server.wait_for_link(address)
    open_link_and_see_application(page, live_server, link, ticket)
    assert summary_value(page, "申請者") == APPLICANTS[applicant_type].label
    # 本人: the certificate's address starts as the registered one. 代理人: it is the
    # principal's, which the agent has not given yet.
    expect(page.locator("#cert-email")).to_have_value(address if applicant_type == "self" else "")
    assert_flow(page, applicant_type, "apply")
    return link


BOTH_TYPES = pytest.mark.parametrize("applicant_type", ["self", "agent"])


@BOTH_TYPES
def test_registration_with_javascript_reaches_the_application(
    page: Page, live_server: LiveServer, applicant_type: str
) -> None:
    ticket, address = live_server.issue_ticket(), new_address(f"js-{applicant_type}")
    open_top_and_agree(page, live_server)
    expect(page.locator("nav.flow")).to_have_count(0)
    expect(page.locator("#company-code")).to_be_disabled()
    expect(page.get_by_role("button", name="申請者を選択する")).to_be_hidden()

    choose_type(page, live_server, applicant_type)
    assert_flow(page, applicant_type, "step1")
    expect(page.locator("#email-hint")).to_contain_text(APPLICANTS[applicant_type].email_hint)

    fill_step1(page, ticket.lower().replace("-", " "), address)
    submit_step1(page, live_server)
    see_confirm(page, applicant_type, ticket, address)
    agree_and_register(page, live_server)
    see_complete(page, applicant_type, address)
    see_application(page, live_server, applicant_type, ticket, address)


@BOTH_TYPES
def test_registration_works_without_javascript(
    nojs_page: Page, live_server: LiveServer, applicant_type: str
) -> None:
    page = nojs_page
    ticket, address = live_server.issue_ticket(), new_address(f"nojs-{applicant_type}")
    scripted: list[str] = []
    documents: list[tuple[str, str, int]] = []
    page.on(
        "request",
        lambda r: scripted.append(r.url) if r.resource_type in ("xhr", "fetch") else None,
    )
    page.on(
        "response",
        lambda r: (
            documents.append((r.request.method, r.url.removeprefix(live_server.base_url), r.status))
            if r.request.resource_type == "document"
            else None
        ),
    )
    open_top_and_agree(page, live_server)
    expect(page.locator("html")).to_have_class("no-js")
    choose_button = page.get_by_role("button", name="申請者を選択する")
    expect(choose_button).to_be_visible()
    expect(page.locator("#company-code")).to_be_disabled()

    choose_type(page, live_server, applicant_type, js=False)
    assert_flow(page, applicant_type, "step1")
    expect(page.locator("#email-hint")).to_contain_text(APPLICANTS[applicant_type].email_hint)
    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    see_confirm(page, applicant_type, ticket, address)
    agree_and_register(page, live_server)
    see_complete(page, applicant_type, address)
    link = see_application(page, live_server, applicant_type, ticket, address)

    assert not scripted, f"no script may send requests with JavaScript off: {scripted}"
    posts = [(method, url, status) for method, url, status in documents if method == "POST"]
    assert posts == [
        ("POST", "/register/step1", 303),  # 申請者を選択する
        ("POST", "/register/step1", 303),  # 次へ
        ("POST", "/register/confirm", 303),  # 申請登録
    ], documents
    assert ("GET", link.removeprefix(live_server.base_url), 303) in documents, documents


def test_failed_step1_without_javascript_rerenders_with_errors(
    nojs_page: Page, live_server: LiveServer
) -> None:
    page = nojs_page
    page.goto("/register/step1?applicant_type=self")
    fill_step1(page, live_server.issue_ticket(), new_address("nojs-err"), captcha="WRONG")
    page.get_by_role("button", name="次へ", exact=True).click()
    expect(page).to_have_title(ERROR_TITLE)
    expect(page.locator("#error-summary")).to_contain_text("画像の文字が正しくありません")
    expect(page.locator("#captcha-answer")).to_have_value("")
    expect(page.locator("#captcha-answer")).to_have_attribute("aria-invalid", "true")


@BOTH_TYPES
def test_registration_by_keyboard_alone(
    page: Page, live_server: LiveServer, applicant_type: str
) -> None:
    """Tab, Shift+Tab, Space, Enter (and the arrows inside a radio group and a select),
    from the top page to 申請登録; every focus stop on the way must be visible."""
    ticket, address = live_server.issue_ticket(), new_address(f"kbd-{applicant_type}")
    page.goto("/")
    info = press(page, "Tab")
    assert info["text"] == "本文へ移動", f"first Tab should reach the skip link, got {info}"
    tab_to(page, text="同意する")
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/register/step1"))
    expect(page.locator("h1")).to_have_text("申請者確認情報の入力")

    info = press(page, "Tab")
    assert info["text"] == "本文へ移動", f"after a page change Tab should start over, got {info}"
    assert press(page, "Tab")["text"].startswith("JCAN"), focus_info(page)
    assert press(page, "Tab")["text"] == "失効申請", "the header's 失効申請 link comes next"
    press(page, "Tab", "applicant-type")
    assert press(page, "Shift+Tab")["text"] == "失効申請", "Shift+Tab should go back to the header"
    press(page, "Tab", "applicant-type")

    page.keyboard.press("Space")
    expect(page).to_have_url(live_server.url("/register/step1?applicant_type=self"))
    expect(page.locator("#applicant-type")).to_be_checked()
    expect(page.locator("#company-code")).to_be_enabled()
    htmx_settled(page)
    assert_focus_visible(page, "applicant-type")  # focus survives the htmx swap
    if applicant_type == "agent":  # the arrows move within the radio group and choose
        page.keyboard.press("ArrowRight")
        expect(page).to_have_url(live_server.url("/register/step1?applicant_type=agent"))
        expect(page.locator("#applicant-type-agent")).to_be_checked()
        htmx_settled(page)
        assert_focus_visible(page, "applicant-type-agent")
    expect(page.locator("#email-hint")).to_contain_text(APPLICANTS[applicant_type].email_hint)
    assert_flow(page, applicant_type, "step1")

    press(page, "Tab", "company-code")
    press(page, "ArrowDown", "company-code")
    expect(page.locator("#company-code")).to_have_value("ISC")
    for field_id, text in (
        ("ticket-number", ticket),
        ("email", address),
        ("email-confirm", address),
    ):
        press(page, "Tab", field_id)
        page.keyboard.type(text)
    press(page, "Shift+Tab", "email")
    press(page, "Tab", "email-confirm")

    assert press(page, "Tab")["text"] == "別の画像を表示", focus_info(page)
    tab_to(page, id="captcha-answer", limit=6)  # past the audio player and its download link
    page.keyboard.type(CAPTCHA_ANSWER.lower())
    info = press(page, "Tab")
    assert info["text"] == "次へ", f"after the CAPTCHA answer Tab should reach 次へ, got {info}"
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/register/confirm"))
    see_confirm(page, applicant_type, ticket, address)

    tab_to(page, id="agree")
    press(page, "Space", "agree")
    expect(page.locator("#agree")).to_be_checked()
    tab_to(page, text="申請登録", limit=6)
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/register/complete"))
    see_complete(page, applicant_type, address)
    see_application(page, live_server, applicant_type, ticket, address)


def test_enter_in_a_text_field_submits_next_not_choose(page: Page, live_server: LiveServer) -> None:
    """Implicit submission (Enter in a field) must act as 次へ, the form's main action.

    The CAPTCHA refresh and the no-JS type buttons are submit buttons too; a hidden default
    button first in the form makes Enter post the form as 次へ would.
    """
    ticket, address = live_server.issue_ticket(), new_address("enter")
    page.goto("/register/step1")
    choose_type(page, live_server, "self")
    fill_step1(page, ticket, address)
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/register/step1")
    ) as sent:
        page.locator("#captcha-answer").press("Enter")
    posted = sent.value.post_data or ""
    assert "action=choose" not in posted, (
        "Enter in #captcha-answer submitted the hidden 申請者を選択する button (action=choose): "
        "the typed values are thrown away and step 1 starts again"
    )
    expect(page).to_have_url(path_is(live_server, "/register/confirm"))


def test_failed_next_focuses_the_error_summary_and_keeps_the_values(
    page: Page, live_server: LiveServer
) -> None:
    ticket, address = live_server.issue_ticket(), new_address("fail")
    page.goto("/register/step1")
    choose_type(page, live_server, "self")
    fill_step1(page, ticket, address, captcha="WRONG")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/register/step1")
    ) as answered:
        page.get_by_role("button", name="次へ", exact=True).click()
    assert answered.value.status == 422, answered.value.status
    assert answered.value.request.headers.get("hx-request") == "true", "次へ should be boosted"

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("画像の文字が正しくありません")
    expect(page).to_have_title(ERROR_TITLE)
    expect(page.locator("#error-summary")).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    expect(page.locator("#ticket-number")).to_have_value(ticket)
    expect(page.locator("#email")).to_have_value(address)
    expect(page.locator("#email-confirm")).to_have_value(address)
    expect(page.locator("#company-code")).to_have_value("ISC")
    expect(page.locator("#applicant-type")).to_be_checked()
    expect(page.locator("#captcha-answer")).to_have_value("")
    expect(page.locator("#captcha-answer")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#captcha-answer")).to_have_attribute(
        "aria-describedby", "captcha-answer-hint captcha-answer-error"
    )

    # The summary's link moves to the field; a second try with the right answer goes on.
    summary.get_by_role("link").first.click()
    expect(page.locator("#captcha-answer")).to_be_focused()
    page.locator("#captcha-answer").fill("ABCDE")
    submit_step1(page, live_server)


def test_inline_check_marks_a_malformed_ticket(page: Page, live_server: LiveServer) -> None:
    page.goto("/register/step1")
    choose_type(page, live_server, "self")
    with inline_check(page, "company_code"):
        page.locator("#company-code").select_option("ISC")
    ticket = page.locator("#ticket-number")
    ticket.fill("ABC-123")
    ticket.press("Tab")

    message = page.locator("#ticket-number-error")
    expect(message).to_be_visible()
    expect(message).to_contain_text("チケット番号の形式が正しくありません")
    field = page.locator("#ticket-number")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby") or ""
    assert "ticket-number-error" in described.split(), described
    expect(field).to_have_value("ABC-123")
    expect(page.locator("#live-region")).to_contain_text("チケット番号の形式が正しくありません")
    expect(page.locator("#error-summary")).to_have_count(0)
    assert page.evaluate("document.activeElement.id") == "email", (
        "focus should stay where the user went"
    )

    # Correcting the ticket clears the message and the live region.
    field.fill(live_server.issue_ticket())
    field.press("Tab")
    expect(page.locator("#ticket-number-error")).to_have_count(0)
    expect(page.locator("#ticket-number")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#live-region")).to_have_text("")


def test_inline_check_of_unknown_ticket_and_mismatched_email(
    page: Page, live_server: LiveServer
) -> None:
    page.goto("/register/step1?applicant_type=self")
    with inline_check(page, "company_code"):
        page.locator("#company-code").select_option("ISC")
    with inline_check(page, "ticket_number"):
        page.locator("#ticket-number").fill("2345-6789-ABCD-EFGH")
        page.locator("#ticket-number").press("Tab")
    expect(page.locator("#ticket-number-error")).to_contain_text(
        "選択した企業コードでは使用できません"
    )
    page.locator("#email").fill("someone@example.com")
    with inline_check(page, "email"):
        page.locator("#email-confirm").fill("someone-else@example.com")  # leaves #email
    page.locator("#email-confirm").press("Tab")
    expect(page.locator("#email-confirm-error")).to_contain_text("一致しません")
    expect(page.locator("#email-confirm")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_have_count(0)


def test_inline_checks_are_not_lost_on_a_slow_network(page: Page, live_server: LiveServer) -> None:
    """Leaving two fields within one round trip must check both of them: each field syncs
    on itself (hx-sync="this:replace"), never on the shared form, where htmx would drop one."""
    page.goto("/register/step1?applicant_type=self")
    with inline_check(page, "company_code"):
        page.locator("#company-code").select_option("ISC")
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.url.rsplit("/", 1)[1]) if "/step1/fields/" in r.url else None,
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 600, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.locator("#ticket-number").fill("ABC-123")
    page.locator("#email").fill("not-an-address")  # leaving the ticket field checks it
    page.locator("#email-confirm").focus()  # leaving the email field should check it too
    expect(page.locator("#ticket-number-error")).to_be_visible(timeout=5000)
    try:
        expect(page.locator("#email-error")).to_be_visible(timeout=5000)
    except AssertionError:
        raise AssertionError(
            f"#email got no inline message; checks sent: {sent}. The email check was dropped "
            "while the ticket check was in flight (hx-sync='closest form:abort' in "
            "templates/macros/form.html.jinja2, macro _inline)"
        ) from None


def test_captcha_refresh_swaps_in_a_new_image(page: Page, live_server: LiveServer) -> None:
    page.goto("/register/step1?applicant_type=self")
    image = page.locator("img.captcha__image")
    first = image.get_attribute("src")
    assert first and first.startswith("/captcha/"), first
    page.locator("#ticket-number").fill("ABCD-EFGH-JKMN-2345")
    page.get_by_role("button", name="別の画像を表示").click()
    expect(image).not_to_have_attribute("src", first)
    second = image.get_attribute("src")
    assert second and second.startswith("/captcha/") and second != first
    expect(page).to_have_url(live_server.url("/register/step1?applicant_type=self"))
    expect(page.locator("#ticket-number")).to_have_value("ABCD-EFGH-JKMN-2345")
    page.wait_for_function(
        "() => { const i = document.querySelector('img.captcha__image'); "
        "return i.complete && i.naturalWidth > 0; }"
    )
    hidden_id = page.locator("input[name=captcha_id]").get_attribute("value")
    assert hidden_id and hidden_id in second, "the hidden captcha_id must follow the new image"
    audio = page.locator("audio.captcha__player").get_attribute("src")
    assert audio == f"/captcha/{hidden_id}/audio.wav", audio
    answer = page.request.get(audio)
    assert answer.status == 200 and answer.headers["content-type"].startswith("audio/wav")


def test_unknown_token_link_lands_on_the_invalid_page(page: Page, live_server: LiveServer) -> None:
    page.goto("/apply/t/" + "x" * 43)
    expect(page).to_have_url(live_server.url("/apply/link/invalid"))
    expect(page.locator("h1")).to_have_text("URLが正しくありません")
    page.goto("/apply/t/short")
    expect(page).to_have_url(live_server.url("/apply/link/invalid"))
    page.goto("/apply")
    expect(page).to_have_url(live_server.url("/apply/link/invalid"))


def test_registering_a_ticket_again_supersedes_the_first_link(
    page: Page, live_server: LiveServer
) -> None:
    ticket = live_server.issue_ticket()
    first_address, second_address = new_address("first"), new_address("second")
    first_link = register(page, live_server, ticket, first_address)
    second_link = register(page, live_server, ticket, second_address)
    assert first_link != second_link

    page.goto(first_link)
    expect(page).to_have_url(live_server.url("/apply/link/superseded"))
    expect(page.locator("h1")).to_have_text("このURLは新しい申請登録により無効になりました")
    open_link_and_see_application(page, live_server, second_link, ticket)
    expect(page.locator("#cert-email")).to_have_value(second_address)


def test_expired_and_used_links_land_on_their_pages(page: Page, live_server: LiveServer) -> None:
    expired = register(page, live_server, live_server.issue_ticket(), new_address("expired"))
    live_server.age_token(expired, column="expires_at")
    page.goto(expired)
    expect(page).to_have_url(live_server.url("/apply/link/expired"))
    expect(page.locator("h1")).to_have_text("URLの有効期限が切れています")

    used = register(page, live_server, live_server.issue_ticket(), new_address("used"))
    live_server.age_token(used, column="used_at")
    page.goto(used)
    expect(page).to_have_url(live_server.url("/apply/link/used"))
    expect(page.locator("h1")).to_have_text("このURLは使用済みです")


def test_confirm_offers_the_policies_in_new_windows_and_a_way_back(
    page: Page, live_server: LiveServer
) -> None:
    ticket, address = live_server.issue_ticket(), new_address("back")
    page.goto("/register/step1")
    choose_type(page, live_server, "agent")
    fill_step1(page, ticket, address)
    submit_step1(page, live_server)

    for name, path, heading in (
        ("利用者の義務", "/policies/obligations", "利用者の義務"),
        ("個人情報の取扱いについて", "/policies/privacy", "個人情報の取扱いについて"),
    ):
        with page.context.expect_page() as opened:
            page.get_by_role("link", name=name).click()
        policy = opened.value
        policy.wait_for_load_state()
        assert policy.url == live_server.url(path)
        expect(policy.locator("h1")).to_have_text(heading)
        policy.close()
    expect(page).to_have_url(path_is(live_server, "/register/confirm"))

    page.get_by_role("link", name="前へ").click()
    expect(page).to_have_url(path_is(live_server, "/register/step1"))
    expect(page.locator("#applicant-type-agent")).to_be_checked()
    expect(page.locator("#company-code")).to_be_enabled()
    expect(page.locator("#company-code")).to_have_value("ISC")
    expect(page.locator("#ticket-number")).to_have_value(ticket)
    expect(page.locator("#email")).to_have_value(address)
    expect(page.locator("#email-confirm")).to_have_value(address)
    expect(page.locator("#captcha-answer")).to_have_value("")
    page.locator("#captcha-answer").fill("ABCDE")
    submit_step1(page, live_server)
    assert summary_value(page, "申請者") == "代理人"
