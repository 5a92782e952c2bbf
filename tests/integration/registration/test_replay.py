"""One solved CAPTCHA registers at most once: the step-1 draft is consumed by its registration.

The session is an encrypted cookie, so replaying the 申請登録 POST with the cookies it was sent
with replays the draft too; a double click sends the same cookies twice. Either lands on 完了
(or step 1) without a second registration or mail, on either engine.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.mail.tables import OutboxMessage
from app.registration import service
from app.registration.form import Step1Data
from app.registration.tables import AccessToken, Registration
from tests.helpers import CSRF, link_in, post_step1, wait_for_mail


async def _at_confirm(client: Any) -> tuple[str, str]:
    """Step 1 done: (the Cookie header the browser holds, the confirm page's CSRF token)."""
    response = await post_step1(client)
    assert response.status_code == 303
    confirm = await client.get("/register/confirm")
    csrf = CSRF.search(confirm.text).group(1)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return cookie, csrf


async def _post_register(client: Any, cookie: str, csrf: str) -> httpx.Response:
    """The 申請登録 POST exactly as the browser sent it: these cookies, this token."""
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as c:
        return await c.post(
            "/register/confirm",
            data={"_csrf_token": csrf, "agree": "yes"},
            headers={"cookie": cookie},
            follow_redirects=False,
        )


async def test_replaying_the_register_post_with_its_cookies_registers_once(client, smtp_sink):
    cookie, csrf = await _at_confirm(client)
    first = await _post_register(client, cookie, csrf)
    assert first.status_code == 303 and first.headers["location"] == "/register/complete"
    for _ in range(2):
        replay = await _post_register(client, cookie, csrf)
        assert replay.status_code == 303
        assert replay.headers["location"] in ("/register/complete", "/register/step1")
    assert await Registration.count() == 1
    assert await OutboxMessage.count() == 1
    [message] = await wait_for_mail(smtp_sink, "taro@example.com")
    # The one link still works: nothing superseded it.
    opened = await client.get(link_in(message), follow_redirects=False)
    assert opened.headers["location"] == "/apply"


async def test_a_replay_lands_on_the_complete_page_of_the_first_registration(client):
    cookie, csrf = await _at_confirm(client)
    await _post_register(client, cookie, csrf)
    replay = await _post_register(client, cookie, csrf)
    assert replay.headers["location"] == "/register/complete"
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as browser:
        browser.cookies = replay.cookies
        page = await browser.get("/register/complete")
    assert page.status_code == 200
    assert "taro@example.com" in page.text


async def test_a_double_click_on_register_registers_once(client, smtp_sink):
    cookie, csrf = await _at_confirm(client)
    responses = await asyncio.gather(*[_post_register(client, cookie, csrf) for _ in range(4)])
    assert [r.status_code for r in responses] == [303] * 4
    assert {r.headers["location"] for r in responses} <= {"/register/complete", "/register/step1"}
    assert await Registration.count() == 1
    assert await OutboxMessage.count() == 1
    live = await AccessToken.count().where(
        AccessToken.used_at.is_null() & AccessToken.superseded_at.is_null()
    )
    assert live == 1
    assert len(await wait_for_mail(smtp_sink, "taro@example.com")) == 1


async def test_a_draft_registers_once_even_when_the_service_is_called_concurrently(client, app):
    s = app.state.services
    data = Step1Data("self", "ISC", client.tickets[0], "taro@example.com", nonce="n" * 16)
    results = await asyncio.gather(
        *[service.register(data, s) for _ in range(5)],
        return_exceptions=True,
    )
    registered = [r for r in results if isinstance(r, service.Registered)]
    replays = [r for r in results if isinstance(r, service.AlreadyRegistered)]
    assert len(registered) == 1 and len(replays) == 4, results
    assert {r.email for r in replays} == {"taro@example.com"}
    assert await Registration.count() == 1
    assert await OutboxMessage.count() == 1


async def test_a_replay_after_the_ticket_was_used_still_lands_on_complete(client, app):
    from app.registration.tables import Ticket

    s = app.state.services
    data = Step1Data("self", "ISC", client.tickets[0], "taro@example.com", nonce="u" * 16)
    await service.register(data, s)
    await Ticket.update({Ticket.used_at: Ticket.issued_at}).where(
        Ticket.number == client.tickets[0]
    )
    try:
        await service.register(data, s)
    except service.AlreadyRegistered as replay:
        assert replay.email == "taro@example.com"
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("a replayed draft registered again")
    assert await Registration.count() == 1


async def test_a_new_captcha_registers_the_same_ticket_again(client, smtp_sink):
    # Registering again (a new step 1, a new CAPTCHA) is allowed: it supersedes the old link.
    for _ in range(2):
        cookie, csrf = await _at_confirm(client)
        assert (await _post_register(client, cookie, csrf)).status_code == 303
    assert await Registration.count() == 2
    assert len(await wait_for_mail(smtp_sink, "taro@example.com", count=2)) == 2
