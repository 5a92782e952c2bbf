"""The one support module of the integration suite: the test client and its demo data, what
pages and forms say, the CAPTCHA answer, the mail, and factories (a registration, an application
ready to submit, one waiting for the principal, uploads, outbox rows)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pikepdf
from PIL import Image

from app.asgi import create_app
from app.captcha.service import unseal
from app.db import utcnow
from app.mail.tables import OutboxMessage
from app.registration.companies import add_company, issue_tickets
from app.registration.tables import Registration
from app.schema import TABLES
from app.settings import DjangoCASettings

BASE_URL = "http://testserver.local"

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
CAPTCHA = re.compile(r'name="captcha_id" value="([^"]+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
LINK = re.compile(r"(http://testserver.local/apply/t/[A-Za-z0-9_-]+)")
APPROVE_LINK = re.compile(r"(http://testserver.local/approve/t/[A-Za-z0-9_-]+)")


# --- the test client --------------------------------------------------------------------------


@asynccontextmanager
async def serving(app: Any, base_url: str = BASE_URL) -> AsyncIterator[Any]:
    """An httpx client speaking ASGI to `app` in this event loop (so tests and app share the
    database pool), with the app's services started around it and its CAPTCHA key in
    `client.captcha_key`. (Litestar's own lifespan uses a task group that cannot span fixture
    setup/teardown.)"""
    services = app.state.services
    await services.start()
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            client.captcha_key = services.captcha_key  # type: ignore[attr-defined]
            yield client
    finally:
        await services.stop()


@asynccontextmanager
async def client_for(settings: Any, base_url: str = BASE_URL) -> AsyncIterator[Any]:
    """A client for an app built from these settings (its services started and stopped)."""
    async with serving(create_app(settings), base_url) as client:
        yield client


async def clean_database() -> None:
    for table in reversed(TABLES):
        await table.delete(force=True)


async def add_demo_data(client: Any) -> None:
    """An emptied database with the demo data: companies ISC and OTHER, three ISC tickets in
    `client.tickets`, one OTHER ticket in `client.other_tickets`."""
    await clean_database()
    await add_company("ISC", "インタセクト・コミュニケーションズ株式会社")
    await add_company("OTHER", "別会社株式会社")
    client.tickets = await issue_tickets("ISC", 3)
    client.other_tickets = await issue_tickets("OTHER", 1)


# --- pages and forms ----------------------------------------------------------------------------


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


async def check_step1_field(client: Any, name: str, **values: str) -> Any:
    """htmx's inline check of one step-1 field, with these answers and the page's CSRF token."""
    data = {"_csrf_token": await csrf_of(client), **values}
    return await client.post(
        f"/register/step1/fields/{name}", data=data, headers={"HX-Request": "true"}
    )


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


async def newest_link(sink: Any, address: str, timeout: float = 15.0) -> str:
    """The link of the newest registration mail to this address. An earlier test's mail to
    the same address that arrives late (a receipt the worker sends after its commit) is not
    taken for it, as messages[-1] was."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for message in reversed(sink.to(address)):
            if LINK.search(text_body(message)):
                return link_in(message)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no registration mail to {address} in {timeout} s")


def link_in(message: Any) -> str:
    match = LINK.search(text_body(message))
    assert match, text_body(message)
    return match.group(1).removeprefix(BASE_URL)


# A value for every path parameter of the app's routes, for the suites that walk every route
# (the security headers, CSRF, the console's permission table): a new parameter goes here.
SAMPLE_PARAMS = {
    "token": "x" * 43,
    "link_state": "expired",
    "public_id": "01JNOSUCHAPPLICATION00000",  # guards answer before the lookup
    "document_id": "nosuchdocument",
    "number": "1",
    "code": "ISC",
    "name": "email",
    "challenge_id": "nosuchchallenge",
    "file_path": "css/site.css",
    "event_id": "01JNOSUCHEVENT000000000000",
    "request_number": "R-0000-0000",
    "kind": "pem",
    "encoded": "bm90LWFuLW9jc3AtcmVxdWVzdA==",  # not an OCSP request: malformedRequest
}


async def clear_of_minute_boundary(margin: float = 20.0) -> None:
    """Wait, when needed, until a fixed one-minute window (the console's sign-in throttle)
    has at least `margin` seconds left, so a test's attempts all fall in one window."""
    import time

    left = 60 - time.time() % 60
    if left < margin:
        await asyncio.sleep(left + 0.05)


async def wait_for_status(status: str, timeout: float = 10.0) -> dict:
    """The (first) outbox row, once it has this status."""
    for _ in range(int(timeout / 0.05)):
        row = await OutboxMessage.select().first()
        if row and row["status"] == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox row never reached {status}: {row}")


def mail_context() -> dict:
    """What the registration_link message needs, for outbox rows made directly."""
    return {
        "applicant_type": "self",
        "applicant_type_label": "本人",
        "company_code": "ISC",
        "ticket_number": "ABCD-EFGH-JKMN-2345",
        "link": f"{BASE_URL}/apply/t/x",
        "expires_at": utcnow(),
        "ttl_hours": 72,
    }


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
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes(javascript: str | None = None) -> bytes:
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
    client: Any,
    sink: Any,
    applicant_type: str = "self",
    email: str = "taro@example.com",
    **overrides: str,
) -> str:
    """Register, follow the emailed link; returns the CSRF token of the application form."""
    response = await register(
        client, applicant_type=applicant_type, email=email, email_confirm=email, **overrides
    )
    assert response.status_code == 303
    opened = await client.get(await newest_link(sink, email), follow_redirects=False)
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
    **overrides: str,
) -> str:
    """Registered, answered and with the documents the answers need; returns the CSRF token."""
    csrf = await open_application(client, sink, applicant_type, email, **overrides)
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
    return match.group(1).removeprefix(BASE_URL)


# --- factories ------------------------------------------------------------------------------

AGENT = "agent@example.net"  # the 代理人 of submitted_by_agent()
PRINCIPAL = AGENT_ANSWERS["cert_email"]


async def submitted_by_agent(client: Any, smtp_sink: Any) -> str:
    """An agent's application submitted; returns the principal's approval link (path)."""
    csrf = await ready_application(client, smtp_sink, "agent", AGENT)
    response = await submit_application(client, csrf)
    assert response.headers["location"] == "/apply/complete"
    done = await client.get("/apply/complete")
    assert PRINCIPAL in done.text
    request = (await wait_for_mail(smtp_sink, PRINCIPAL))[-1]
    assert "代理 次郎" in text_body(request)
    return approval_link_in(request)


async def open_approval(client: Any, link: str) -> str:
    """The principal (in another browser: no cookies) follows the link; the page's HTML."""
    client.cookies.clear()
    response = await client.get(link, follow_redirects=False)
    assert response.headers["location"] == "/approve"
    page = await client.get("/approve")
    assert page.status_code == 200
    assert title(page.text).startswith("申請情報の承認")
    return str(page.text)


async def insert_registration(
    ticket: dict[str, Any], public_id: str, email: str, created_at: datetime
) -> int:
    """A registration row of this ticket (from Ticket.select(Ticket.id, Ticket.company));
    returns its id."""
    rows = await Registration.insert(
        Registration(
            public_id=public_id,
            applicant_type="self",
            company=ticket["company"],
            ticket=ticket["id"],
            email=email,
            created_at=created_at,
        )
    ).returning(Registration.id)
    return int(rows[0]["id"])


# --- the console: operators and applications waiting for review -----------------------------


async def add_operator(role: str, email: str = "", name: str = "審査 花子") -> int:
    """An enrolled operator row of `role`; returns its id."""
    from app.console.accounts.tables import Operator

    rows = await Operator.insert(
        Operator(email=email or f"{role}@example.jp", name=name, role=role, enrolled_at=utcnow())
    ).returning(Operator.id)
    return int(rows[0]["id"])


async def console_cookie(settings: Any, operator_id: int) -> str:
    """The raw console session id of a session that passed both steps (what sign-in leaves)."""
    from app.console import sessions
    from app.console.accounts.tables import Operator
    from app.db import write_transaction

    async with write_transaction(Operator._meta.db):
        raw = await sessions.start(operator_id, utcnow())
        row = await sessions.load(raw, settings)
        assert row is not None
        return await sessions.rotate(row, utcnow(), mfa_done=True)


@asynccontextmanager
async def operator_client(app: Any, role: str, email: str = "", name: str = "審査 花子") -> Any:
    """A second browser on the same (started) app, signed in as a new operator of `role`;
    `client.operator_id` is its id."""
    from app.console import sessions

    operator_id = await add_operator(role, email, name)
    raw = await console_cookie(app.state.services.settings, operator_id)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        browser.cookies.set(sessions.COOKIE, raw, path=sessions.PATH)
        browser.operator_id = operator_id  # type: ignore[attr-defined]
        yield browser


async def submitted(client: Any, smtp_sink: Any, applicant_type: str = "self", **kw: str) -> str:
    """An application submitted through the applicant's pages (for 代理人: approved by its
    principal too, so it waits for the LRA); returns its reference."""
    from app.application.tables import Application

    if applicant_type == "agent":
        link = await submitted_by_agent(client, smtp_sink)
        await open_approval(client, link)
        csrf = CSRF.search((await client.get("/approve")).text).group(1)
        done = await client.post(
            "/approve",
            data={"_csrf_token": csrf, "decision": "approve", "agree": "yes"},
            follow_redirects=False,
        )
        assert done.headers.get("location") == "/approve/complete", done.text[:300]
        client.cookies.clear()
    else:
        email = kw.pop("email", "taro@example.com")
        csrf = await ready_application(client, smtp_sink, "self", email, **kw)
        response = await submit_application(client, csrf)
        assert response.headers["location"] == "/apply/complete"
        client.cookies.clear()
    row = (
        await Application.select(Application.reference)
        .order_by(Application.id, ascending=False)
        .first()
    )
    assert row is not None
    return str(row["reference"])


def django_ca_settings(server: Any) -> DjangoCASettings:
    """The portal's DJANGO_CA_* settings for the suite's django-ca server
    (tests.support.django_ca): its URL, CA, API user, and the suite's timeouts."""
    return DjangoCASettings(
        url=f"{server.url}/django_ca",
        ca_serial=server.ca_serial,
        username=server.username,
        password=server.password,
        timeout=10.0,
        order_timeout=30.0,
    )
