"""Racing registrations of one ticket: exactly one live token, on either engine."""

from __future__ import annotations

import asyncio

from app.registration import service
from app.registration.form import Step1Data
from app.registration.tables import AccessToken, Registration


async def test_twenty_concurrent_registrations_of_one_ticket_leave_exactly_one_live_token(
    client, app, smtp_sink
):
    s = app.state.services
    # The statements must run on the engine whose transaction serialises them (an in-process
    # arq worker once bound the tables to an engine of its own: this test then failed).
    assert AccessToken._meta.db is s.engine and Registration._meta.db is s.engine
    data = [
        Step1Data("self", "ISC", client.tickets[0], f"racer{i}@example.com", f"nonce-{i}")
        for i in range(20)
    ]
    results = await asyncio.gather(
        *[service.register(d, s) for d in data],
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert await Registration.count() == 20
    live = await AccessToken.select(AccessToken.registration).where(
        AccessToken.used_at.is_null() & AccessToken.superseded_at.is_null()
    )
    assert len(live) == 1
    assert await AccessToken.count().where(AccessToken.superseded_at.is_not_null()) == 19


async def test_concurrent_registrations_over_http_leave_one_live_token(client):
    # Separate clients (sessions) posting the confirm step at the same moment.
    import httpx

    from tests.helpers import register

    async def one(i: int) -> int:
        transport = client._transport
        async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as c:
            c.tickets = client.tickets
            c.captcha_key = client.captcha_key
            address = f"http{i}@example.com"
            response = await register(c, email=address, email_confirm=address)
            return response.status_code

    statuses = await asyncio.gather(*[one(i) for i in range(5)])
    assert statuses == [303] * 5
    live = await AccessToken.count().where(
        AccessToken.used_at.is_null() & AccessToken.superseded_at.is_null()
    )
    assert live == 1
