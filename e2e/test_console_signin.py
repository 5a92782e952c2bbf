"""The operators' console in Chromium: setup link → password → authenticator (code computed
from the secret shown, as an authenticator app would) → recovery codes → sign-in → code →
console → sign-out, with and without JavaScript; axe-clean at 1280 and 320 px."""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
from playwright.sync_api import Page, expect

from e2e.a11y import assert_no_horizontal_scroll, axe_violations, describe_violations
from e2e.conftest import DESKTOP, NARROW, LiveServer

PASSWORD = "a quiet lantern by the sea 42"
SETUP_LINK = re.compile(r"https?://\S+/console/setup/t/[A-Za-z0-9_-]+")


def add_operator(live_server: LiveServer, role: str) -> tuple[str, str]:
    email = f"e2e-{role}-{uuid.uuid4().hex[:8]}@example.jp"
    out = live_server.jcan("operators", "add", email, "試験 太郎", "--role", role)
    match = SETUP_LINK.search(out)
    assert match, out
    return email, match.group(0)


def accessible_at_both_widths(page: Page, label: str, js: bool = True) -> None:
    """axe at 1280 px and 320 px and no horizontal scrolling at 320 px. axe injects a script
    tag, which never runs with JavaScript off (it waited forever): there the markup, the same
    either way, is checked for reflow only."""
    if not js:
        page.set_viewport_size(NARROW)
        assert_no_horizontal_scroll(page, label)
        page.set_viewport_size(DESKTOP)
        return
    for viewport in (DESKTOP, NARROW):
        page.set_viewport_size(viewport)
        violations = axe_violations(page)
        assert not violations, f"{label} at {viewport['width']}px:\n" + describe_violations(
            violations
        )
        if viewport is NARROW:
            assert_no_horizontal_scroll(page, label)
    page.set_viewport_size(DESKTOP)


def next_code(secret: str) -> str:
    """The authenticator's code for the next 30 s step (setup took the current one)."""
    return str(pyotp.TOTP(secret).at(time.time() + 30))


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_setup_sign_in_code_console_sign_out(
    open_page: object, live_server: LiveServer, js: bool
) -> None:
    page: Page = open_page(js=js)  # type: ignore[operator]
    email, link = add_operator(live_server, "admin")

    page.goto(link)
    expect(page).to_have_url(live_server.url("/console/setup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("アカウントの設定: パスワード")
    accessible_at_both_widths(page, "setup: password", js)
    page.get_by_label("パスワード", exact=True).fill("short")
    page.get_by_label("パスワード（確認）").fill("short")
    page.get_by_role("button", name="次へ").click()
    expect(page).to_have_title(re.compile("^エラー: "))
    accessible_at_both_widths(page, "setup: password refused", js)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_label("パスワード（確認）").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("アカウントの設定: 認証アプリ")
    expect(page.get_by_role("img", name=re.compile("QRコード"))).to_be_visible()
    accessible_at_both_widths(page, "setup: authenticator", js)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("確認コード").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="確認").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("アカウントの設定が完了しました")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    accessible_at_both_widths(page, "setup: recovery codes", js)
    page.get_by_role("link", name="ログイン画面へ").click()

    expect(page).to_have_url(live_server.url("/console/login"))
    accessible_at_both_widths(page, "sign-in", js)
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill("wrong password entirely")
    page.get_by_role("button", name="ログイン").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "メールアドレスまたはパスワードが正しくありません"
    )
    accessible_at_both_widths(page, "sign-in refused", js)
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    expect(page).to_have_url(live_server.url("/console/mfa"))
    accessible_at_both_widths(page, "code", js)
    page.get_by_label("確認コード").fill(next_code(secret))
    page.get_by_role("button", name="確認").click()

    expect(page).to_have_url(live_server.url("/console"))
    expect(page.get_by_role("heading", level=1)).to_have_text("ホーム")
    expect(page.locator(".console-header")).to_contain_text("管理者")
    accessible_at_both_widths(page, "console home", js)
    page.get_by_role("navigation").get_by_role("link", name="オペレーター管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("オペレーター管理")
    accessible_at_both_widths(page, "operators", js)

    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(live_server.url("/console/login"))
    page.goto(live_server.url("/console"))
    expect(page).to_have_url(live_server.url("/console/login"))


def test_a_reviewer_is_refused_the_operators_page(
    open_page: object, live_server: LiveServer
) -> None:
    page: Page = open_page(js=True)  # type: ignore[operator]
    email, link = add_operator(live_server, "reviewer")
    page.goto(link)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_label("パスワード（確認）").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("確認コード").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="確認").click()
    page.goto(live_server.url("/console/login"))
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("確認コード").fill(next_code(secret))
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請の審査")
    expect(page.get_by_role("link", name="オペレーター管理")).to_have_count(0)
    response = page.goto(live_server.url("/console/operators"))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("この画面を表示する権限がありません")
    accessible_at_both_widths(page, "forbidden")
