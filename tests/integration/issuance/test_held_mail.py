"""The pickup mail: held (never sent, not even by the relay) until released in a later
transaction, and its body (the token that unwraps the key) emptied once it has been sent."""

from __future__ import annotations

import asyncio
from typing import Any

from app.db import utcnow
from app.mail.service import due_ids
from app.mail.tables import HELD, SENT, OutboxMessage
from tests.helpers import text_body, wait_for_mail

TOKEN = "pickup-token-that-must-not-stay-readable-0123456789"


def _context() -> dict[str, Any]:
    return {
        "reference": "R-TEST",
        "common_name": "Taro Yamada",
        "link": f"http://testserver.local/pickup/t/{TOKEN}",
        "expires_at": utcnow(),
    }


async def _row(outbox_id: int) -> dict[str, Any]:
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert row is not None
    return dict(row)


async def test_a_held_letter_waits_for_its_release_then_leaves_without_its_secret(
    client: Any, app: Any, smtp_sink: Any
) -> None:
    outbox = app.state.services.outbox
    async with outbox.transaction() as letters:
        outbox_id = await letters.add_held("certificate_pickup", "holder@example.jp", _context())
        assert letters.ids == []  # nothing to enqueue at commit
    assert (await _row(outbox_id))["status"] == HELD
    assert outbox_id not in await due_ids(utcnow())  # the relay does not send it either
    await asyncio.sleep(0.3)
    assert smtp_sink.to("holder@example.jp") == []

    async with outbox.transaction() as letters:
        await letters.release(outbox_id)
    [message] = await wait_for_mail(smtp_sink, "holder@example.jp")
    assert TOKEN in text_body(message)
    for _ in range(100):
        row = await _row(outbox_id)
        if row["status"] == SENT and row["body_text"] == "":
            break
        await asyncio.sleep(0.05)
    assert row["status"] == SENT
    assert TOKEN not in row["body_text"] + row["body_html"]
    assert row["body_text"] == row["body_html"] == ""
    assert row["subject"]  # the rest of the record stays for the operators


async def test_release_of_a_letter_not_held_does_nothing(client: Any, app: Any) -> None:
    outbox = app.state.services.outbox
    async with outbox.transaction() as letters:
        outbox_id = await letters.add_held("certificate_pickup", "holder@example.jp", _context())
    async with outbox.transaction() as letters:
        await letters.release(outbox_id)
        await letters.release(outbox_id)
        assert letters.ids == [outbox_id]
