"""What every page of the portal has, as the browser suites read it: its address and heading,
htmx at rest, the summary list, the flow diagram of each applicant type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer


@dataclass(frozen=True)
class Applicant:
    """What the pages show for one applicant type."""

    label: str  # 申請者 on the confirm page and /apply
    email_hint: str  # part of the e-mail field's hint on step 1
    lanes: tuple[tuple[str, tuple[str, ...]], ...]  # the flow diagram: (title, steps) per lane


_REGISTRATION = (
    "申請者情報入力",
    "確認",
    "完了",
    "確認メール受信",
    "発行申請情報入力",
    "確認",
    "完了",
)
_ISSUANCE = ("数日後", "発行完了", "証明書を自動登録")
APPLICANTS = {
    "self": Applicant(
        "本人", "ご自身のメールアドレス", (("証明書発行までの流れ", _REGISTRATION + _ISSUANCE),)
    ),
    "agent": Applicant(
        "代理人",
        "代理人の方のメールアドレス",
        (
            ("代理人作業", _REGISTRATION),
            ("本人作業", ("確認メール受信", "申請情報承認", "完了", *_ISSUANCE)),
        ),
    ),
}
# The page -> (lane, position in the lane, label) of its step in the flow diagram. Every step
# up to the application's 完了 belongs to the applicant, so to the first lane for both types;
# the approval pages are the principal's (the second lane of 代理人).
CURRENT_STEP = {
    "step1": (0, 0, "申請者情報入力"),
    "confirm": (0, 1, "確認"),
    "complete": (0, 2, "完了"),
    "apply": (0, 4, "発行申請情報入力"),
    "apply-confirm": (0, 5, "確認"),
    "apply-complete": (0, 6, "完了"),
    "approval": (1, 1, "申請情報承認"),
    "approval-complete": (1, 2, "完了"),
}
CURRENT_SUFFIX = "（現在の手順）"


def path_is(live_server: LiveServer, path: str) -> re.Pattern[str]:
    """A URL matcher for exactly this path (and an optional query string)."""
    return re.compile("^" + re.escape(live_server.url(path)) + r"(\?.*)?$")


def see_page(page: Page, live_server: LiveServer, path: str, heading: str) -> None:
    expect(page).to_have_url(path_is(live_server, path))
    expect(page.locator("h1")).to_have_text(heading)


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has settled its last swap.

    htmx binds the hx-* attributes of swapped-in markup only when it settles (20 ms after
    the swap): a key pressed on a new element before that is not seen by htmx.
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def summary_value(page: Page, key: str) -> str:
    """The value of the summary-list row whose key is exactly `key`."""
    exact = re.compile(f"^{re.escape(key)}$")
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text=exact))
    return row.locator("dd.summary-list__value").inner_text().strip()


def flow_diagram(page: Page) -> dict[str, Any]:
    """The flow diagram as the accessibility tree sees it: lanes of list items, aria-current."""
    return page.evaluate(
        """() => {
          const navs = [...document.querySelectorAll('nav.flow')];
          const current = [...document.querySelectorAll('[aria-current]')].map(el => ({
            tag: el.tagName.toLowerCase(), value: el.getAttribute('aria-current'),
            inFlow: !!el.closest('nav.flow')}));
          const lanes = navs.length !== 1 ? [] : [...navs[0].querySelectorAll('.flow__lane')]
            .map(lane => {
              const title = lane.querySelector('.flow__title');
              const lists = [...lane.querySelectorAll('ol, ul')];
              const items = lists.length ? [...lists[0].children] : [];
              return {
                title: title ? title.textContent.trim() : null,
                lists: lists.map(l => l.tagName.toLowerCase()),
                named: !!(title && title.id && lists.length
                          && lists[0].getAttribute('aria-labelledby') === title.id),
                steps: items.map(li => {
                  const hidden = li.querySelector('.visually-hidden');
                  const shown = [...li.childNodes].filter(n => n !== hidden);
                  return {tag: li.tagName.toLowerCase(),
                          label: shown.map(n => n.textContent).join('').trim(),
                          hidden: hidden ? hidden.textContent.trim() : '',
                          current: li.getAttribute('aria-current')};
                }),
              };
            });
          return {navs: navs.length, current, lanes};
        }"""
    )


def assert_flow(page: Page, applicant_type: str, step: str) -> None:
    """One ordered list per lane of this applicant type, and exactly one item of them all
    marked aria-current="step": the one of `step` (a key of CURRENT_STEP)."""
    flow = flow_diagram(page)
    where = f"flow diagram of {applicant_type} on {step} ({page.url})"
    assert flow["navs"] == 1, f"{where}: {flow['navs']} nav.flow elements"
    lanes = flow["lanes"]
    assert [lane["title"] for lane in lanes] == [t for t, _ in APPLICANTS[applicant_type].lanes]
    for lane in lanes:
        assert lane["lists"] == ["ol"], f"{where}: lane {lane['title']} is not one <ol>: {lane}"
        assert lane["named"], f"{where}: the <ol> of {lane['title']} is not labelled by its title"
        assert {s["tag"] for s in lane["steps"]} == {"li"}, f"{where}: {lane['steps']}"
    labels = [tuple(s["label"] for s in lane["steps"]) for lane in lanes]
    assert labels == [s for _, s in APPLICANTS[applicant_type].lanes], f"{where}: {labels}"
    assert flow["current"] == [{"tag": "li", "value": "step", "inFlow": True}], (
        f"{where}: want exactly one aria-current, on a step of the diagram: {flow['current']}"
    )
    marked = [
        (i, j, s["label"], s["hidden"])
        for i, lane in enumerate(lanes)
        for j, s in enumerate(lane["steps"])
        if s["current"] is not None
    ]
    assert marked == [(*CURRENT_STEP[step], CURRENT_SUFFIX)], (
        f"{where}: current step (lane, position, label, hidden text) is {marked}"
    )
