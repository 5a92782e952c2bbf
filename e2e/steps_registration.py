"""Steps of the registration as a person takes them in the browser: the top page, step 1,
確認, 完了, and the emailed link onto the application form."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import CAPTCHA_ANSWER, COMPANY, LiveServer
from e2e.pages import htmx_settled, path_is

TYPE_RADIO = {"self": "#applicant-type", "agent": "#applicant-type-agent"}


def open_top_and_agree(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_have_text("電子契約サービス JCAN証明書オンライン発行申請")
    page.get_by_role("link", name="同意する").click()
    expect(page).to_have_url(path_is(live_server, "/register/step1"))
    expect(page.locator("h1")).to_have_text("申請者確認情報の入力")


def choose_type(
    page: Page, live_server: LiveServer, applicant_type: str, *, js: bool = True
) -> None:
    """Pick 本人/代理人; with JS htmx swaps the form in, without it the button posts."""
    if js:
        # The radio's change is an htmx GET that swaps #step1-main, not a page load.
        with page.expect_response(
            lambda r: (
                f"applicant_type={applicant_type}" in r.url
                and r.request.headers.get("hx-request") == "true"
            )
        ) as swapped:
            page.locator(TYPE_RADIO[applicant_type]).check()
        assert swapped.value.status == 200, swapped.value.status
        htmx_settled(page)
    else:
        page.locator(TYPE_RADIO[applicant_type]).check()
        page.get_by_role("button", name="申請者を選択する").click()
    expect(page).to_have_url(live_server.url(f"/register/step1?applicant_type={applicant_type}"))
    expect(page.locator(TYPE_RADIO[applicant_type])).to_be_checked()
    expect(page.locator("nav.flow")).to_be_visible()
    expect(page.locator("#company-code")).to_be_enabled()


def fill_step1(
    page: Page,
    ticket: str,
    address: str,
    *,
    captcha: str = CAPTCHA_ANSWER,
    confirm_address: str | None = None,
) -> None:
    page.locator("#company-code").select_option(COMPANY)
    page.locator("#ticket-number").fill(ticket)
    page.locator("#email").fill(address)
    page.locator("#email-confirm").fill(confirm_address or address)
    page.locator("#captcha-answer").fill(captcha)


def submit_step1(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="次へ", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/register/confirm"))
    expect(page.locator("h1")).to_have_text("申請登録内容の確認")


def agree_and_register(page: Page, live_server: LiveServer) -> None:
    page.locator("#agree").check()
    page.get_by_role("button", name="申請登録").click()
    expect(page).to_have_url(path_is(live_server, "/register/complete"))
    expect(page.locator("h1")).to_have_text("申請登録の完了")


def register(
    page: Page,
    live_server: LiveServer,
    ticket: str,
    address: str,
    applicant_type: str = "self",
    *,
    js: bool = True,
) -> str:
    """Step 1 to complete with a fresh page state; returns the emailed link."""
    page.goto("/register/step1")
    choose_type(page, live_server, applicant_type, js=js)
    fill_step1(page, ticket, address)
    submit_step1(page, live_server)
    agree_and_register(page, live_server)
    return live_server.wait_for_link(address)


def open_link_and_see_application(
    page: Page, live_server: LiveServer, link: str, ticket: str
) -> None:
    page.goto(link)
    expect(page).to_have_url(live_server.url("/apply"))
    assert "/apply/t/" not in page.url, f"the token stayed in the address bar: {page.url}"
    expect(page.locator("h1")).to_have_text("発行申請情報入力")
    expect(page.locator(".summary-list")).to_contain_text(ticket)
    expect(page.locator("#application-form")).to_be_visible()
