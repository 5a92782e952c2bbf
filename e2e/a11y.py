"""Accessibility checks shared by the browser suites: axe and pa11y, reflow at 320 px, text at
200 %, screenshots, and the keyboard focus (visible on every stop)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ElementHandle, Page

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, NARROW, ROOT

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_axe = Axe()


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


PA11Y = ROOT / "e2e" / "pa11y"


def pa11y_issues(url: str, cookie: str = "") -> list[dict[str, Any]]:
    assert (PA11Y / "node_modules" / "pa11y").is_dir(), (
        "pa11y is not installed: run `make test-e2e` (or `npm ci` in e2e/pa11y)"
    )
    done = subprocess.run(
        ["node", "run.mjs", url, cookie],
        cwd=PA11Y,
        env={
            **os.environ,
            "CHROMIUM": CHROMIUM,
            "CHROMIUM_ARGS": json.dumps(CHROMIUM_ARGS),
            "PUPPETEER_SKIP_DOWNLOAD": "1",
        },
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, f"pa11y failed on {url}: {done.stderr[-2000:]}"
    return list(json.loads(done.stdout))


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


TEXT_SCALE = 2.0  # WCAG 1.4.4: text resized to 200 %
_ENLARGE_TEXT = "document.documentElement.style.setProperty('font-size', '%s%%')"


def enlarge_text(page: Page, scale: float = TEXT_SCALE) -> None:
    """Resize text only, as a browser's font-size setting does (the root font size), on the
    document shown."""
    page.evaluate(_ENLARGE_TEXT % round(scale * 100))


def clipped_elements(page: Page) -> dict[str, Any]:
    """Elements that clip their own content (overflow hidden/clip on an axis where it is larger
    than the box), except .visually-hidden, which clips on purpose; and the root font size."""
    return page.evaluate(
        r"""() => {
          const clips = v => v === 'hidden' || v === 'clip';
          const found = [];
          for (const el of [document.body, ...document.body.querySelectorAll('*')]) {
            if (el.closest('.visually-hidden')) continue;
            const s = getComputedStyle(el);
            const dx = el.scrollWidth - el.clientWidth, dy = el.scrollHeight - el.clientHeight;
            if ((clips(s.overflowX) && dx > 1) || (clips(s.overflowY) && dy > 1)) {
              const cls = typeof el.className === 'string' && el.className
                ? '.' + el.className.trim().split(/\s+/).join('.') : '';
              const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + cls;
              found.push(`${name} overflow ${s.overflowX}/${s.overflowY} content `
                + `${el.scrollWidth}x${el.scrollHeight} box ${el.clientWidth}x${el.clientHeight}`
                + ` "${(el.innerText || el.value || '').trim().slice(0, 30)}"`);
            }
          }
          return {rootFontSize: parseFloat(getComputedStyle(document.documentElement).fontSize),
                  clipped: found};
        }"""
    )


def assert_text_resizes(page: Page, label: str, scale: float = TEXT_SCALE) -> None:
    """At `scale` times the text size: no horizontal scroll and no text cut off."""
    found = clipped_elements(page)
    assert found["rootFontSize"] == 16 * scale, (
        f"{label}: root font size is {found['rootFontSize']}px, the resize did not apply"
    )
    assert_no_horizontal_scroll(page, f"{label} at {scale:.0%} text")
    clipped = "\n".join(found["clipped"])
    assert not clipped, f"{label}: text cut off at {scale:.0%} text size:\n{clipped}"


def screenshot(page: Page, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"empty screenshot {path}"
    return path


def shoot(page: Page, directory: Path, name: str) -> None:
    """Full-page screenshots at 1280 and 320 px; the narrow one must not scroll sideways."""
    page.set_viewport_size(DESKTOP)
    screenshot(page, directory, f"{name}-1280")
    page.set_viewport_size(NARROW)
    assert_no_horizontal_scroll(page, name)
    screenshot(page, directory, f"{name}-320")
    page.set_viewport_size(DESKTOP)


def focus_info(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          return {id: el.id, tag: el.tagName.toLowerCase(), cls: el.className || '',
                  text: (el.innerText || el.value || '').trim().slice(0, 40),
                  outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
                  boxShadow: s.boxShadow, focusVisible: el.matches(':focus-visible'),
                  // Focus on a part of a native control (the audio player's buttons) sits in
                  // its closed shadow tree: activeElement is the control, and it is not :focus.
                  inShadow: el !== document.body && !el.matches(':focus'),
                  inView: (() => { const r = el.getBoundingClientRect();
                    return r.bottom > 0 && r.right > 0 && r.top < innerHeight
                      && r.left < innerWidth; })()};
        }"""
    )


def assert_focus_visible(page: Page, expected_id: str | None = None) -> dict[str, Any]:
    info = focus_info(page)
    if expected_id is not None:
        assert info["id"] == expected_id, f"focus is on {info}, expected #{expected_id}"
    assert not info["inShadow"], f"focus is inside a native control, see tab_to: {info}"
    outlined = info["outlineStyle"] != "none" and info["outlineWidth"] >= 2
    # Buttons carry a box-shadow at rest, so for them only an outline counts.
    shadowed = info["boxShadow"] != "none" and "button" not in str(info["cls"])
    assert outlined or shadowed, f"focused element has no visible focus indicator: {info}"
    assert info["inView"], f"focused element is outside the viewport: {info}"
    return info


def press(page: Page, key: str, expected_id: str | None = None) -> dict[str, Any]:
    """Press one key; wherever focus lands, it must be visible."""
    page.keyboard.press(key)
    return assert_focus_visible(page, expected_id)


def tab_to(
    page: Page, *, id: str | None = None, text: str | None = None, limit: int = 15
) -> dict[str, Any]:
    """Tab until focus is on the element with this id or text, checking every stop on the way.

    Chromium draws the focus ring of a native control's inner parts (the audio player's play
    button) in a closed shadow tree that no style query reaches: for those stops the control
    must look different while a part of it has focus than once focus has left it.
    """
    stops: list[str] = []
    inside: list[tuple[str, ElementHandle, bytes]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focus_info(page)
        stop = info["id"] or f"{info['tag']}:{info['text']}"
        if info["inShadow"]:
            control = page.evaluate_handle("document.activeElement").as_element()
            assert control is not None
            inside.append((f"{stop} (part {len(inside) + 1})", control, control.screenshot()))
        else:
            for part, control, focused in inside:
                assert control.screenshot() != focused, (
                    f"no visible focus on {part}: it looks the same without focus"
                )
            inside.clear()
            assert_focus_visible(page)
            if (id is None or info["id"] == id) and (text is None or info["text"] == text):
                return info
        stops.append(stop)
    raise AssertionError(f"{limit} Tabs did not reach id={id!r} text={text!r}; stops: {stops}")
