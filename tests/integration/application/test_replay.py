"""A decision posted twice (a double click, or the POST replayed with its cookies) is taken
once, and every copy lands on 完了."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.application.tables import Application, StatusChange
from app.mail.tables import OutboxMessage
from tests.helpers import CSRF, open_approval, submitted_by_agent


async def _post_as(client: Any, cookie: str, data: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as c:
        return await c.post("/approve", data=data, headers={"cookie": cookie})


async def _approval_form(client: Any, smtp_sink: Any) -> tuple[str, str]:
    link = await submitted_by_agent(client, smtp_sink)
    page = await open_approval(client, link)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return cookie, CSRF.search(page).group(1)


async def _outcomes() -> int:
    return int(await OutboxMessage.count().where(OutboxMessage.template == "principal_outcome"))


async def test_a_double_click_on_approve_decides_once_and_lands_on_complete(client, smtp_sink):
    cookie, csrf = await _approval_form(client, smtp_sink)
    data = {"_csrf_token": csrf, "decision": "approve", "agree": "yes"}
    responses = await asyncio.gather(*[_post_as(client, cookie, data) for _ in range(3)])
    assert [r.status_code for r in responses] == [303] * 3
    assert {r.headers["location"] for r in responses} == {"/approve/complete"}
    assert (await Application.select().first())["status"] == "principal_approved"
    assert await StatusChange.count().where(StatusChange.actor == "principal") == 1
    assert await _outcomes() == 1


async def test_a_replayed_decline_lands_on_its_complete_page(client, smtp_sink):
    cookie, csrf = await _approval_form(client, smtp_sink)
    data = {"_csrf_token": csrf, "decision": "decline", "reason": "住所が違います"}
    first = await _post_as(client, cookie, data)
    replay = await _post_as(client, cookie, data)
    assert first.headers["location"] == replay.headers["location"] == "/approve/complete"
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as browser:
        browser.cookies = replay.cookies
        page = await browser.get("/approve/complete")
    assert "申請を承認しないことを代理人の方にお伝えしました。" in page.text
    assert await _outcomes() == 1
