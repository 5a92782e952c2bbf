"""Steps of the registration journey as a person takes them in the browser, shared by the suites."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from e2e.conftest import CAPTCHA_ANSWER, COMPANY, LiveServer

TYPE_RADIO = {"self": "#applicant-type", "agent": "#applicant-type-agent"}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_axe = Axe()


def path_is(live_server: LiveServer, path: str) -> re.Pattern[str]:
    """A URL matcher for exactly this path (and an optional query string)."""
    return re.compile("^" + re.escape(live_server.url(path)) + r"(\?.*)?$")


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
    page: Page, live_server: LiveServer, ticket: str, address: str, applicant_type: str = "self"
) -> str:
    """Step 1 to complete with a fresh page state; returns the emailed link."""
    page.goto("/register/step1")
    choose_type(page, live_server, applicant_type)
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


def summary_value(page: Page, key: str) -> str:
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text=key))
    return row.locator("dd").inner_text().strip()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    result = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert result.response["passes"], f"axe checked nothing on {page.url}"
    return list(result.response["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} -> {targets}")
    return "\n".join(lines)


def horizontal_overflow(page: Page) -> dict[str, Any]:
    """scrollWidth vs clientWidth of the page, and the widest offenders if it overflows."""
    return page.evaluate(
        r"""() => {
          const root = document.documentElement;
          const width = root.clientWidth;
          const wide = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > width + 0.5) {
              const cls = typeof el.className === 'string' && el.className
                ? '.' + el.className.trim().split(/\s+/).join('.') : '';
              const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + cls;
              wide.push(name + ' right=' + Math.round(r.right));
            }
          }
          return {scrollWidth: root.scrollWidth, clientWidth: width, offenders: wide.slice(0, 8)};
        }"""
    )


def assert_no_horizontal_scroll(page: Page, label: str) -> None:
    o = horizontal_overflow(page)
    assert o["scrollWidth"] <= o["clientWidth"], (
        f"{label}: scrolls horizontally at {o['clientWidth']}px "
        f"(scrollWidth {o['scrollWidth']}); widest: {o['offenders']}"
    )


def screenshot(page: Page, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"empty screenshot {path}"
    return path


def focus_info(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          return {id: el.id, tag: el.tagName.toLowerCase(), cls: el.className || '',
                  text: (el.innerText || el.value || '').trim().slice(0, 40),
                  outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
                  boxShadow: s.boxShadow, focusVisible: el.matches(':focus-visible')};
        }"""
    )


def assert_focus_visible(page: Page, expected_id: str | None = None) -> dict[str, Any]:
    info = focus_info(page)
    if expected_id is not None:
        assert info["id"] == expected_id, f"focus is on {info}, expected #{expected_id}"
    outlined = info["outlineStyle"] != "none" and info["outlineWidth"] >= 2
    # Buttons carry a box-shadow at rest, so for them only an outline counts.
    shadowed = info["boxShadow"] != "none" and "button" not in str(info["cls"])
    assert outlined or shadowed, f"focused element has no visible focus indicator: {info}"
    return info
