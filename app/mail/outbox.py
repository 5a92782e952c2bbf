"""The outbox helper: mail added in the caller's write transaction, enqueued after commit."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import jinja2
from piccolo.engine.base import Engine

from app.db import utcnow, write_transaction
from app.jobs import JobQueue
from app.mail.service import hold, queue_message, release

SEND_MAIL = "send_mail"


def delivery_job_id(outbox_id: int, suffix: str = "") -> str:
    """The job id of a row's delivery: `send_mail:{id}`, so that one row has one job at a time
    (a suffix for deliberate second jobs: a retry by hand, a lost claim)."""
    return f"{SEND_MAIL}:{outbox_id}{suffix}"


async def enqueue_delivery(queue: JobQueue, outbox_id: int, suffix: str = "") -> None:
    """Ask the queue to deliver this row (best effort: the relay cron covers a lost enqueue)."""
    await queue.enqueue(SEND_MAIL, outbox_id, job_id=delivery_job_id(outbox_id, suffix))


@dataclass
class Letters:
    """The messages of one open transaction (what `Outbox.transaction` yields)."""

    outbox: Outbox
    now: datetime
    ids: list[int] = field(default_factory=list)

    async def add(self, template: str, recipient: str, context: dict[str, Any]) -> int:
        """Write the outbox row in this transaction; its id (enqueued once the transaction
        commits)."""
        outbox = self.outbox
        outbox_id = await queue_message(
            outbox.env, template, recipient, context, outbox.domain, self.now
        )
        self.ids.append(outbox_id)
        return outbox_id

    async def add_held(self, template: str, recipient: str, context: dict[str, Any]) -> int:
        """Write the row held: never sent (nor enqueued) until a later transaction releases it."""
        outbox = self.outbox
        outbox_id = await queue_message(
            outbox.env, template, recipient, context, outbox.domain, self.now
        )
        await hold(outbox_id)
        return outbox_id

    async def release(self, outbox_id: int) -> None:
        """Make a held row sendable in this transaction; enqueued once it commits."""
        if await release(outbox_id, self.now):
            self.ids.append(outbox_id)


@dataclass(frozen=True)
class Outbox:
    """Where services put mail: `async with outbox.transaction(now) as letters:` opens the write
    transaction (db.write_transaction) for the business rows and `letters.add(...)`; after a
    commit each added row is enqueued once, after a rollback nothing is. Without a queue (the
    CLI with no REDIS_URL) the relay cron of the running app enqueues the rows."""

    engine: Engine
    env: jinja2.Environment
    domain: str
    queue: JobQueue | None

    def transaction(self, now: datetime | None = None) -> _Transaction:
        return _Transaction(Letters(self, now or utcnow()))


class _Transaction:
    """`Outbox.transaction`: a plain class rather than a generator-based context manager, which
    cost the registration hot path a few microseconds more (`make bench` counts those)."""

    __slots__ = ("_write", "letters")

    def __init__(self, letters: Letters) -> None:
        self.letters = letters
        self._write: AbstractAsyncContextManager[None] = write_transaction(letters.outbox.engine)

    async def __aenter__(self) -> Letters:
        await self._write.__aenter__()
        return self.letters

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        suppressed = await self._write.__aexit__(kind, exc, tb)  # commit, or roll back
        queue = self.letters.outbox.queue
        if kind is None and queue is not None:  # committed: each row's delivery, once
            for outbox_id in self.letters.ids:
                await enqueue_delivery(queue, outbox_id)
        return suppressed
