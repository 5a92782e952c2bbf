"""The registration journey in a real browser: with and without JavaScript, by keyboard, errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.journey import (
    agree_and_register,
    assert_focus_visible,
    choose_type,
    fill_step1,
    focus_info,
    open_link_and_see_application,
    open_top_and_agree,
    path_is,
    register,
    submit_step1,
    summary_value,
)

ERROR_TITLE = re.compile(r"^エラー: ")


def new_address(label: str) -> str:
    return f"e2e-{label}-{uuid.uuid4().hex[:10]}@example.com"


@contextmanager
def inline_check(page: Page, name: str) -> Iterator[None]:
    """Wait for the inline check of field `name` that the enclosed action starts."""
    with page.expect_response(lambda r: r.url.endswith(f"/register/step1/fields/{name}")):
        yield


def lane_titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("nav.flow .flow__title").all_inner_texts()]


def current_steps(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("nav.flow li[aria-current='step']").all_text_contents()]


def test_self_registration_with_javascript_reaches_the_application(
    page: Page, live_server: LiveServer
) -> None:
    ticket, address = live_server.issue_ticket(), new_address("self")
    open_top_and_agree(page, live_server)
    expect(page.locator("nav.flow")).to_have_count(0)
    expect(page.locator("#company-code")).to_be_disabled()
    expect(page.get_by_role("button", name="申請者を選択する")).to_be_hidden()

    choose_type(page, live_server, "self")
    assert lane_titles(page) == ["証明書発行までの流れ"]
    assert current_steps(page) == ["申請者情報入力（現在の手順）"]
    expect(page.locator("#email-hint")).to_contain_text("ご自身のメールアドレス")

    fill_step1(page, ticket.lower().replace("-", " "), address)
    submit_step1(page, live_server)
    assert summary_value(page, "申請者") == "本人"
    assert summary_value(page, "チケット番号") == ticket, "ticket number not normalised on confirm"
    assert summary_value(page, "メールアドレス") == address
    assert current_steps(page) == ["確認（現在の手順）"]

    agree_and_register(page, live_server)
    assert summary_value(page, "送信先メールアドレス") == address
    assert current_steps(page) == ["完了（現在の手順）"]

    link = live_server.wait_for_link(address)
    open_link_and_see_application(page, live_server, link, ticket)
    assert summary_value(page, "申請者") == "本人"
    assert summary_value(page, "メールアドレス") == address


def test_agent_registration_shows_both_lanes_and_reaches_the_application(
    page: Page, live_server: LiveServer
) -> None:
    ticket, address = live_server.issue_ticket(), new_address("agent")
    open_top_and_agree(page, live_server)
    choose_type(page, live_server, "agent")
    assert lane_titles(page) == ["代理人作業", "本人作業"]
    agent_lane = page.locator("nav.flow ol").nth(0)
    principal_lane = page.locator("nav.flow ol").nth(1)
    expect(agent_lane.locator("li").first).to_have_attribute("aria-current", "step")
    expect(principal_lane).to_contain_text("申請情報承認")
    expect(page.locator("#email-hint")).to_contain_text("代理人の方の")

    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    assert summary_value(page, "申請者") == "代理人"
    assert lane_titles(page) == ["代理人作業", "本人作業"]
    agree_and_register(page, live_server)

    link = live_server.wait_for_link(address)
    open_link_and_see_application(page, live_server, link, ticket)
    assert summary_value(page, "申請者") == "代理人"
    assert lane_titles(page) == ["代理人作業", "本人作業"]


def test_self_registration_works_without_javascript(
    nojs_page: Page, live_server: LiveServer
) -> None:
    page = nojs_page
    ticket, address = live_server.issue_ticket(), new_address("nojs")
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

    choose_type(page, live_server, "self", js=False)
    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    assert summary_value(page, "チケット番号") == ticket
    agree_and_register(page, live_server)

    link = live_server.wait_for_link(address)
    open_link_and_see_application(page, live_server, link, ticket)

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


def test_step1_by_keyboard_alone(page: Page, live_server: LiveServer) -> None:
    ticket, address = live_server.issue_ticket(), new_address("kbd")
    page.goto("/register/step1")
    page.locator("body").focus()

    page.keyboard.press("Tab")
    info = assert_focus_visible(page)
    assert info["text"] == "本文へ移動", f"first Tab should reach the skip link, got {info}"
    page.keyboard.press("Tab")
    assert focus_info(page)["text"].startswith("JCAN"), focus_info(page)
    page.keyboard.press("Tab")
    assert_focus_visible(page, "applicant-type")
    page.keyboard.press("Shift+Tab")
    assert focus_info(page)["tag"] == "a", "Shift+Tab should go back to the site name link"
    page.keyboard.press("Tab")
    assert_focus_visible(page, "applicant-type")

    page.keyboard.press("Space")
    expect(page).to_have_url(live_server.url("/register/step1?applicant_type=self"))
    expect(page.locator("#applicant-type")).to_be_checked()
    expect(page.locator("#company-code")).to_be_enabled()
    assert_focus_visible(page, "applicant-type")  # focus survives the htmx swap

    # Arrow keys move within the radio group and choose 代理人.
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(live_server.url("/register/step1?applicant_type=agent"))
    expect(page.locator("#email-hint")).to_contain_text("代理人の方の")
    assert_focus_visible(page, "applicant-type-agent")

    page.keyboard.press("Tab")
    assert_focus_visible(page, "company-code")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#company-code")).to_have_value("ISC")
    page.keyboard.press("Tab")
    assert_focus_visible(page, "ticket-number")
    page.keyboard.type(ticket)
    page.keyboard.press("Tab")
    assert_focus_visible(page, "email")
    page.keyboard.type(address)
    page.keyboard.press("Tab")
    assert_focus_visible(page, "email-confirm")
    page.keyboard.type(address)
    page.keyboard.press("Shift+Tab")
    assert_focus_visible(page, "email")
    page.keyboard.press("Tab")
    assert_focus_visible(page, "email-confirm")

    page.keyboard.press("Tab")
    assert_focus_visible(page, "")  # 別の画像を表示 (a button without id)
    assert focus_info(page)["text"] == "別の画像を表示"
    for _ in range(6):  # the audio player and its download link come next
        page.keyboard.press("Tab")
        if focus_info(page)["id"] == "captcha-answer":
            break
    assert_focus_visible(page, "captcha-answer")
    page.keyboard.type("abcde")
    page.keyboard.press("Tab")
    info = assert_focus_visible(page)
    assert info["text"] == "次へ", f"after the CAPTCHA answer Tab should reach 次へ, got {info}"
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/register/confirm"))
    assert summary_value(page, "申請者") == "代理人"
    assert summary_value(page, "チケット番号") == ticket

    # The confirm page by keyboard: to the checkbox, Space, on to 申請登録, Enter.
    for _ in range(12):
        page.keyboard.press("Tab")
        if focus_info(page)["id"] == "agree":
            break
    assert_focus_visible(page, "agree")
    page.keyboard.press("Space")
    expect(page.locator("#agree")).to_be_checked()
    for _ in range(6):
        page.keyboard.press("Tab")
        if focus_info(page)["text"] == "申請登録":
            break
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is(live_server, "/register/complete"))
    live_server.wait_for_link(address)


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
    assert summary_value(page, "メールアドレス") == second_address


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
