"""Steps of the registration journey as a person takes them in the browser, shared by the suites."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import ElementHandle, FilePayload, Page, expect

from e2e.conftest import CAPTCHA_ANSWER, COMPANY, LiveServer

TYPE_RADIO = {"self": "#applicant-type", "agent": "#applicant-type-agent"}


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


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has settled its last swap.

    htmx binds the hx-* attributes of swapped-in markup only when it settles (20 ms after
    the swap): a key pressed on a new element before that is not seen by htmx.
    """
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


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


def summary_value(page: Page, key: str) -> str:
    """The value of the summary-list row whose key is exactly `key`."""
    exact = re.compile(f"^{re.escape(key)}$")
    row = page.locator(".summary-list__row").filter(has=page.locator("dt", has_text=exact))
    return row.locator("dd.summary-list__value").inner_text().strip()


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


TEXT_SCALE = 2.0  # WCAG 1.4.4: text resized to 200 %
_ENLARGE_TEXT = """(() => {
  const size = () => document.documentElement.style.setProperty('font-size', '%s%%');
  if (document.documentElement) size();
  document.addEventListener('DOMContentLoaded', size);
})()"""


def enlarge_text(page: Page, scale: float = TEXT_SCALE) -> None:
    """Resize text only, as a browser's font-size setting does: the root font size, on
    every document the page loads from now on (htmx swaps keep the <html> element)."""
    page.add_init_script(_ENLARGE_TEXT % round(scale * 100))


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


# --- The issuance application: form, documents, 確認, 完了, and the principal's approval --------

APPLY_FORM = "発行申請情報入力"
DOCUMENTS = "本人確認書類のアップロード"
APPLY_CONFIRM = "発行申請内容の確認"
APPLY_COMPLETE = "発行申請の完了"
APPROVAL = "申請情報の承認"
APPROVAL_COMPLETE = "申請情報承認の完了"
REFERENCE = re.compile(r"^JC-[0-9A-Z]{4}-[0-9A-Z]{4}$")
TEXT_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "family_name_roman",
    "given_name_roman",
    "cert_email",
    "phone",
    "org_name",
    "org_name_en",
    "corporate_number",
    "qualification_number",
    "agent_name",
    "agent_org",
    "agent_phone",
)
# 本人 with an organisation (needs an employment document); 代理人 with a qualification.
SELF_ANSWERS = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "family_name_roman": "Yamada",
    "given_name_roman": "Taro",
    "phone": "03-1234-5678",
    "include_org": "yes",
    "org_name": "株式会社サンプル",
    "org_name_en": "Sample Co., Ltd.",
    "corporate_number": "7000012050002",
    "qualification": "none",
    "validity_years": "1",
}
AGENT_ANSWERS = {
    "family_name": "佐藤",
    "given_name": "花子",
    "family_name_kana": "サトウ",
    "given_name_kana": "ハナコ",
    "family_name_roman": "Sato",
    "given_name_roman": "Hanako",
    "phone": "06-1234-5678",
    "include_org": "no",
    "qualification": "JFBA",
    "qualification_number": "12345",
    "validity_years": "2",
    "agent_name": "鈴木 一郎",
    "agent_org": "鈴木法律事務所",
    "agent_phone": "03-9876-5432",
}


def field_id(name: str) -> str:
    return name.replace("_", "-")


def answers_for(applicant_type: str, cert_email: str) -> dict[str, str]:
    """A complete set of answers; cert_email is the registered address (本人) or the
    principal's (代理人)."""
    base = SELF_ANSWERS if applicant_type == "self" else AGENT_ANSWERS
    return {**base, "cert_email": cert_email}


def expected_subject(answers: dict[str, str]) -> list[tuple[str, str]]:
    """The subject lines (CN, O, OU, E) these answers make."""
    lines = [("CN", f"{answers['given_name_roman']} {answers['family_name_roman']}")]
    if answers.get("include_org") == "yes":
        lines += [("O", answers["org_name_en"]), ("OU", f"CN-{answers['corporate_number']}")]
    if answers.get("qualification", "none") != "none":
        lines.append(("OU", f"{answers['qualification']}-{answers['qualification_number']}"))
    return [*lines, ("E", answers["cert_email"])]


def subject_lines(page: Page, within: str = "main") -> list[tuple[str, str]]:
    rows = page.locator(f"{within} .subject__row")
    return [
        (row.locator("dt").inner_text().strip(), row.locator("dd").inner_text().strip())
        for row in rows.all()
    ]


def expect_preview(page: Page, lines: list[tuple[str, str]]) -> None:
    """The subject preview shows these lines, once htmx has brought it up to date (it asks
    200 ms after the last change, so waiting for quiet is not enough)."""
    rows = page.locator("#subject-preview .subject__row")
    expect(rows.locator("dt")).to_have_text([attribute for attribute, _ in lines])
    expect(rows.locator("dd")).to_have_text([value for _, value in lines])


def see_page(page: Page, live_server: LiveServer, path: str, heading: str) -> None:
    expect(page).to_have_url(path_is(live_server, path))
    expect(page.locator("h1")).to_have_text(heading)


def fill_application(page: Page, answers: dict[str, str], *, js: bool = True) -> None:
    """Answer the form in page order. With JS each field left is checked inline (and saved);
    ends with focus off the last text field, so no check is left to start on submit."""
    for name, value in answers.items():
        if name == "include_org":
            page.locator("#include-org" if value == "yes" else "#include-org-no").check()
        elif name == "validity_years":
            page.locator("#validity-years" if value == "1" else "#validity-years-2").check()
        elif name == "qualification":
            page.locator("#qualification").select_option(value)
        else:
            page.locator(f"#{field_id(name)}").fill(value)
    page.locator("h1").click()  # leaves the last field: its change event fires now
    if js:
        htmx_settled(page)


def expect_answers(page: Page, answers: dict[str, str]) -> None:
    """The form shows these answers (a draft reopened, or the page after a failed submit)."""
    for name, value in answers.items():
        if name in TEXT_FIELDS:
            expect(page.locator(f"#{field_id(name)}")).to_have_value(value)
        elif name == "qualification":
            expect(page.locator("#qualification")).to_have_value(value)
        else:
            radio = page.locator(f"input[name={name}][value='{value}']")
            expect(radio).to_be_checked()


def next_to_documents(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="次へ（本人確認書類）").click()
    see_page(page, live_server, "/apply/documents", DOCUMENTS)


def png_file(name: str, color: tuple[int, int, int] = (40, 90, 160)) -> FilePayload:
    """A small PNG, as a phone photo of an ID card would be (only much smaller)."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def pdf_file(name: str) -> FilePayload:
    """A one-page PDF, as a scanned certificate would be."""
    buffer = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(buffer)
    return {"name": name, "mimeType": "application/pdf", "buffer": buffer.getvalue()}


def fake_pdf_file(name: str = "fake.pdf") -> FilePayload:
    """Plain text wearing a .pdf name: the server judges by content and refuses it."""
    return {"name": name, "mimeType": "application/pdf", "buffer": b"not a PDF at all\n" * 20}


def upload(page: Page, live_server: LiveServer, kind: str, *files: FilePayload) -> None:
    """Choose the kind and the files, press アップロード: back on the list with them in it."""
    page.locator("#kind").select_option(kind)
    page.locator("#documents").set_input_files(list(files))
    page.get_by_role("button", name="アップロード").click()
    see_page(page, live_server, "/apply/documents", DOCUMENTS)
    expect(page.locator("#error-summary")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text(f"{len(files)}件のファイルをアップロード")
    names = page.locator(".documents__name")
    for file in files:
        expect(names.filter(has_text=file["name"])).to_have_count(1)


def upload_refused(page: Page, live_server: LiveServer, file: FilePayload) -> None:
    """A file the server refuses: 422, the reason next to the file field, nothing stored."""
    page.locator("#kind").select_option("other")
    page.locator("#documents").set_input_files([file])
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url == live_server.url("/apply/documents")
    ) as answered:
        page.get_by_role("button", name="アップロード").click()
    assert answered.value.status == 422, answered.value.status
    expect(page.locator("h1")).to_have_text(DOCUMENTS)
    expect(page).to_have_title(re.compile(r"^エラー: "))
    expect(page.locator("#documents-error")).to_contain_text(file["name"])
    described = page.locator("#documents").get_attribute("aria-describedby") or ""
    assert "documents-error" in described.split(), described
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator(".documents__name").filter(has_text=file["name"])).to_have_count(0)


def upload_required(
    page: Page, live_server: LiveServer, answers: dict[str, str]
) -> list[FilePayload]:
    """The documents this application needs (and an ID back side): returns what was sent."""
    sent = [png_file("menkyo-omote.png"), png_file("menkyo-ura.png", (90, 40, 160))]
    upload(page, live_server, "id_front", sent[0])
    upload(page, live_server, "id_back", sent[1])
    if answers.get("include_org") == "yes":
        sent.append(pdf_file("zaiseki-shomei.pdf"))
        upload(page, live_server, "employment", sent[-1])
    if answers.get("qualification", "none") != "none":
        sent.append(pdf_file("shikakusha-sho.pdf"))
        upload(page, live_server, "qualification", sent[-1])
    return sent


def next_to_confirm(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="次へ（確認）").click()
    see_page(page, live_server, "/apply/confirm", APPLY_CONFIRM)


def submit_application(page: Page, live_server: LiveServer) -> str:
    """Agree and 申請する on 確認: 完了 with the 受付番号, which is returned."""
    page.locator("#agree").check()
    page.get_by_role("button", name="申請する").click()
    see_page(page, live_server, "/apply/complete", APPLY_COMPLETE)
    reference = page.locator(".reference strong").inner_text().strip()
    assert REFERENCE.match(reference), reference
    return reference


def apply_until_complete(
    page: Page,
    live_server: LiveServer,
    applicant_type: str,
    *,
    principal: str = "",
    js: bool = True,
) -> tuple[str, dict[str, str]]:
    """Registration to 発行申請の完了 along the happy path. Returns (agent's/applicant's
    address, answers). The reference is on the page."""
    ticket = live_server.issue_ticket()
    address = f"e2e-apply-{applicant_type}-{uuid.uuid4().hex[:10]}@example.com"
    link = register(page, live_server, ticket, address, applicant_type, js=js)
    open_link_and_see_application(page, live_server, link, ticket)
    answers = answers_for(applicant_type, principal or address)
    fill_application(page, answers, js=js)
    next_to_documents(page, live_server)
    upload_required(page, live_server, answers)
    next_to_confirm(page, live_server)
    submit_application(page, live_server)
    return address, answers


def open_approval(page: Page, live_server: LiveServer, link: str) -> None:
    page.goto(link)
    see_page(page, live_server, "/approve", APPROVAL)
    assert "/approve/t/" not in page.url, f"the token stayed in the address bar: {page.url}"


def decide(
    page: Page, live_server: LiveServer, decision: str, *, reason: str = "", agree: bool = True
) -> None:
    """Approve (with the agreement) or decline (with a reason) on the approval page."""
    page.locator("#decision" if decision == "approve" else "#decision-decline").check()
    if decision == "approve" and agree:
        page.locator("#agree").check()
    if reason:
        page.locator("#reason").fill(reason)
    page.get_by_role("button", name="送信する").click()
    see_page(page, live_server, "/approve/complete", APPROVAL_COMPLETE)
