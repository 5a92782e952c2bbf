"""Helpers shared by the integration tests: pages, forms, the CAPTCHA answer, the mail."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from app.captcha.service import unseal

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
CAPTCHA = re.compile(r'name="captcha_id" value="([^"]+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
LINK = re.compile(r"(http://testserver.local/apply/t/[A-Za-z0-9_-]+)")
APPROVE_LINK = re.compile(r"(http://testserver.local/approve/t/[A-Za-z0-9_-]+)")


def title(html: str) -> str:
    match = TITLE.search(html)
    return match.group(1).strip() if match else ""


def error_of(html: str, field: str) -> str:
    """The text of <p id="{field}-error"> (or the <div> of several), '' when there is none."""
    pattern = rf'<(p|div) id="{field}-error" class="error-message">(.*?)</\1>'
    match = re.search(pattern, html, re.S)
    if not match:
        return ""
    return re.sub(r"<[^>]+>", "", match.group(2)).replace("エラー:", "").strip()


def summary_links(html: str) -> list[tuple[str, str]]:
    block = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    if not block:
        return []
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', block.group(0))


def input_value(html: str, field_id: str) -> str | None:
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


async def step1_page(client: Any, applicant_type: str = "self") -> tuple[str, str, str]:
    """(html, csrf token, captcha id) of step 1 with the type chosen."""
    response = await client.get(f"/register/step1?applicant_type={applicant_type}")
    assert response.status_code == 200
    html = response.text
    return html, CSRF.search(html).group(1), CAPTCHA.search(html).group(1)


def captcha_answer(client: Any, captcha_id: str) -> str:
    """The answer sealed in a challenge id, opened with the app's key (as the server does)."""
    sealed = unseal(captcha_id, client.captcha_key)
    assert sealed is not None
    return sealed.answer


async def post_step1(client: Any, **overrides: str) -> Any:
    """Post step 1 with good values (the first ISC ticket), overridden by keyword."""
    _html, csrf, captcha_id = await step1_page(client, overrides.get("applicant_type", "self"))
    values = {
        "_csrf_token": csrf,
        "applicant_type": "self",
        "company_code": "ISC",
        "ticket_number": client.tickets[0],
        "email": "taro@example.com",
        "email_confirm": "taro@example.com",
        "captcha_id": captcha_id,
        "captcha_answer": captcha_answer(client, captcha_id),
    }
    values.update(overrides)
    return await client.post("/register/step1", data=values, follow_redirects=False)


async def csrf_of(client: Any, path: str = "/register/step1") -> str:
    response = await client.get(path)
    return CSRF.search(response.text).group(1)


async def register(client: Any, **overrides: str) -> Any:
    """Walk step 1 and confirm; returns the response of the confirm POST (303 to complete)."""
    response = await post_step1(client, **overrides)
    assert response.status_code == 303, error_summary_text(response.text)
    confirm = await client.get("/register/confirm")
    csrf = CSRF.search(confirm.text).group(1)
    return await client.post(
        "/register/confirm", data={"_csrf_token": csrf, "agree": "yes"}, follow_redirects=False
    )


def error_summary_text(html: str) -> str:
    return "; ".join(message for _, message in summary_links(html))


async def wait_for_mail(
    sink: Any, address: str, count: int = 1, timeout: float = 15.0
) -> list[Any]:
    """The messages the SMTP sink received for this address (waits for the job pipeline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        messages = sink.to(address)
        if len(messages) >= count:
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} mail(s) to {address}, got {len(sink.to(address))}")


def text_body(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def html_body(message: Any) -> str:
    return str(message.get_body(("html",)).get_content())


def link_in(message: Any) -> str:
    match = LINK.search(text_body(message))
    assert match, text_body(message)
    return match.group(1).removeprefix("http://testserver.local")


# --- the issuance application -------------------------------------------------------------

GOOD_ANSWERS = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "family_name_roman": "Yamada",
    "given_name_roman": "Taro",
    "cert_email": "taro@example.com",
    "phone": "03-1234-5678",
    "include_org": "yes",
    "org_name": "株式会社サンプル",
    "org_name_en": "Sample Co., Ltd.",
    "corporate_number": "7000012050002",
    "qualification": "none",
    "qualification_number": "",
    "validity_years": "1",
}
AGENT_ANSWERS = {
    **GOOD_ANSWERS,
    "cert_email": "hanako@example.org",
    "agent_name": "代理 次郎",
    "agent_org": "代理行政書士事務所",
    "agent_phone": "06-1234-5678",
}


def png_bytes(size: tuple[int, int] = (64, 40), color: str = "white") -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes(javascript: str | None = None) -> bytes:
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    if javascript:
        pdf.Root.OpenAction = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(javascript))
        )
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


async def open_application(
    client: Any, sink: Any, applicant_type: str = "self", email: str = "taro@example.com"
) -> str:
    """Register, follow the emailed link; returns the CSRF token of the application form."""
    response = await register(
        client, applicant_type=applicant_type, email=email, email_confirm=email
    )
    assert response.status_code == 303
    messages = await wait_for_mail(sink, email)
    opened = await client.get(link_in(messages[-1]), follow_redirects=False)
    assert opened.headers["location"] == "/apply", opened.headers["location"]
    page = await client.get("/apply")
    assert page.status_code == 200, page.text[:500]
    return str(CSRF.search(page.text).group(1))


async def fill_form(client: Any, csrf: str, answers: dict[str, str], **extra: str) -> Any:
    data = {"_csrf_token": csrf, "action": "next", **answers, **extra}
    return await client.post("/apply", data=data, follow_redirects=False)


async def upload(
    client: Any, csrf: str, files: list[tuple[str, bytes, str]], kind: str = "id_front"
) -> Any:
    return await client.post(
        "/apply/documents",
        data={"_csrf_token": csrf, "kind": kind, "action": "upload"},
        files=[("documents", (name, data, ctype)) for name, data, ctype in files],
        follow_redirects=False,
    )


async def ready_application(
    client: Any,
    sink: Any,
    applicant_type: str = "self",
    email: str = "taro@example.com",
) -> str:
    """Registered, answered and with the documents the answers need; returns the CSRF token."""
    csrf = await open_application(client, sink, applicant_type, email)
    answers = AGENT_ANSWERS if applicant_type == "agent" else GOOD_ANSWERS
    response = await fill_form(client, csrf, answers)
    assert response.status_code == 303, error_summary_text(response.text)
    for kind in ("id_front", "employment"):
        uploaded = await upload(client, csrf, [(f"{kind}.png", png_bytes(), "image/png")], kind)
        assert uploaded.status_code == 303, error_summary_text(uploaded.text)
    return csrf


async def submit_application(client: Any, csrf: str) -> Any:
    return await client.post(
        "/apply/confirm", data={"_csrf_token": csrf, "agree": "yes"}, follow_redirects=False
    )


def approval_link_in(message: Any) -> str:
    match = APPROVE_LINK.search(text_body(message))
    assert match, text_body(message)
    return match.group(1).removeprefix("http://testserver.local")
