"""The outbox helper: rows written in the caller's transaction, enqueued once after commit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from app.db import utcnow
from app.mail.outbox import Outbox
from app.mail.tables import SENT, OutboxMessage
from tests.helpers import wait_for_mail


class CountingQueue:
    """The app's real job queue, with a note of every enqueue it is asked for."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.jobs: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None:
        self.jobs.append((function, args, job_id))
        await self.queue.enqueue(function, *args, job_id=job_id)

    async def start(self) -> None:
        await self.queue.start()

    async def close(self) -> None:
        await self.queue.close()


def _context() -> dict[str, Any]:
    return {
        "applicant_type": "self",
        "applicant_type_label": "本人",
        "company_code": "ISC",
        "ticket_number": "ABCD-EFGH-JKMN-2345",
        "link": "http://testserver.local/apply/t/x",
        "expires_at": utcnow(),
        "ttl_hours": 72,
    }


def _counting_outbox(app: Any) -> tuple[Outbox, CountingQueue]:
    outbox: Outbox = app.state.services.outbox
    queue = CountingQueue(outbox.queue)
    return replace(outbox, queue=queue), queue


class Boom(Exception):
    pass


async def test_an_exception_after_add_leaves_no_row_and_enqueues_nothing(client, app, smtp_sink):
    outbox, queue = _counting_outbox(app)
    with pytest.raises(Boom):
        async with outbox.transaction() as letters:
            await letters.add("registration_link", "rolled@example.com", _context())
            assert await OutboxMessage.count() == 1  # written, inside the transaction
            raise Boom()
    assert await OutboxMessage.count() == 0
    assert queue.jobs == []
    assert smtp_sink.to("rolled@example.com") == []


async def test_a_commit_enqueues_each_message_exactly_once(client, app, smtp_sink):
    outbox, queue = _counting_outbox(app)
    async with outbox.transaction() as letters:
        first = await letters.add("registration_link", "one@example.com", _context())
        second = await letters.add("registration_link", "two@example.com", _context())
        assert queue.jobs == []  # nothing leaves before the commit
    assert letters.ids == [first, second]
    assert queue.jobs == [
        ("send_mail", (first,), f"send_mail:{first}"),
        ("send_mail", (second,), f"send_mail:{second}"),
    ]
    await wait_for_mail(smtp_sink, "one@example.com")
    await wait_for_mail(smtp_sink, "two@example.com")
    assert len(smtp_sink.to("one@example.com")) == len(smtp_sink.to("two@example.com")) == 1
    assert await _sent(2)


async def _sent(count: int) -> bool:
    """True once `count` rows are marked sent (the mark follows the SMTP reply)."""
    for _ in range(100):
        if await OutboxMessage.count().where(OutboxMessage.status == SENT) == count:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_without_a_queue_the_rows_wait_for_the_relay(client, app, smtp_sink):
    """The CLI without Redis: the committed row stays pending for the app's relay cron."""
    outbox = replace(app.state.services.outbox, queue=None)
    async with outbox.transaction() as letters:
        outbox_id = await letters.add("registration_link", "later@example.com", _context())
    row = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.id == outbox_id)
    assert row == [{"status": "pending"}]
