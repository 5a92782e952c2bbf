"""One-time link tokens on a real table: mint (superseding), resolve, state, consume once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from app.db import utcnow
from app.links import tokens
from app.links.tokens import LinkState
from app.registration.tables import AccessToken, Registration
from tests.helpers import register


async def _registration(client: Any) -> dict[str, Any]:
    response = await register(client)
    assert response.status_code == 303
    row = await Registration.select().first()
    assert row is not None
    return row


async def test_mint_supersedes_the_owners_live_links_and_resolves_by_token(client: Any) -> None:
    registration = await _registration(client)
    now = utcnow()
    values = {"registration": registration["id"], "ticket": registration["ticket"]}
    first = await tokens.mint(
        AccessToken, values, timedelta(hours=1), now, supersede_by=AccessToken.registration
    )
    second = await tokens.mint(
        AccessToken, values, timedelta(hours=1), now, supersede_by=AccessToken.registration
    )
    assert (await tokens.resolve(AccessToken, first.token)).state is LinkState.SUPERSEDED
    resolved = await tokens.resolve(AccessToken, second.token)
    assert resolved.state is LinkState.VALID
    assert second.expires_at == now + timedelta(hours=1)
    stored = await AccessToken.select().where(AccessToken.id == resolved.token_id).first()
    assert stored is not None and stored["token_hash"] == tokens.hash_token(second.token)
    assert second.token not in str(await AccessToken.select())


async def test_resolve_never_raises_for_junk(client: Any) -> None:
    for junk in ["", "x", "a" * 43, "é" * 43, "a" * 43 + "\x00", "../" * 20, "A" * 200]:
        assert (await tokens.resolve(AccessToken, junk)).state is LinkState.INVALID


async def test_consume_is_once_even_when_twenty_race(client: Any) -> None:
    registration = await _registration(client)
    now = utcnow()
    minted = await tokens.mint(
        AccessToken,
        {"registration": registration["id"], "ticket": registration["ticket"]},
        timedelta(hours=1),
        now,
        supersede_by=AccessToken.registration,
    )
    token_id = (await tokens.resolve(AccessToken, minted.token)).token_id
    assert token_id is not None
    results = await asyncio.gather(
        *[tokens.consume(AccessToken, token_id, now, AccessToken.registration) for _ in range(20)]
    )
    won = [r for r in results if r is not None]
    assert won == [{"id": token_id, "registration": registration["id"]}]
    assert await tokens.state(AccessToken, token_id) is LinkState.USED


async def test_expired_and_superseded_links_cannot_be_consumed(client: Any) -> None:
    registration = await _registration(client)
    now = utcnow()
    values = {"registration": registration["id"], "ticket": registration["ticket"]}
    old = await tokens.mint(AccessToken, values, timedelta(hours=1), now)
    old_id = (await tokens.resolve(AccessToken, old.token)).token_id
    assert old_id is not None
    later = now + timedelta(hours=2)
    assert await tokens.state(AccessToken, old_id, later) is LinkState.EXPIRED
    assert await tokens.consume(AccessToken, old_id, later) is None
    await tokens.supersede(AccessToken, AccessToken.registration, registration["id"], now)
    assert await tokens.state(AccessToken, old_id, now) is LinkState.SUPERSEDED
    assert await tokens.consume(AccessToken, old_id, now) is None
