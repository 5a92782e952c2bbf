"""Mail: outbox rows delivered by the arq worker, against a raw aiosmtplib loop.

Both send the same messages to the same SMTP sink. The worker's number runs from the first
enqueue to the last row marked sent, so it includes claiming, recording and arq itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import asyncpg
from arq import create_pool

from app.jobs import deserialize, redis_settings, serialize
from app.mail.compose import build_message, compose
from app.settings import Settings
from app.templating import make_environment

MESSAGES = 5000
COLUMNS = [
    "message_id",
    "template",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
]


@dataclass(frozen=True)
class MailResult:
    messages: int
    worker_seconds: float
    worker_messages: int  # the backlog the worker still had once all jobs were enqueued
    raw_seconds: float

    @property
    def worker_rate(self) -> float:
        return self.worker_messages / self.worker_seconds

    @property
    def raw_rate(self) -> float:
        return self.messages / self.raw_seconds

    @property
    def ratio(self) -> float:
        return self.worker_rate / self.raw_rate


async def _insert_outbox(connection: asyncpg.Connection, settings: Settings, n: int) -> list[int]:
    """n pending guidance mails, as the registration writes them (one composed body)."""
    composed = compose(
        make_environment(settings),
        "registration_link",
        "bench@example.jp",
        {
            "applicant_type": "self",
            "applicant_type_label": "本人",
            "company_code": "BENCH",
            "ticket_number": "ABCD-EFGH-JKMN-2345",
            "link": f"{settings.app.base_url}/apply/t/{'x' * 43}",
            "expires_at": datetime.now(UTC),
            "ttl_hours": 72,
        },
        "bench.localhost",
    )
    now = datetime.now(UTC)
    first = await connection.fetchval("SELECT coalesce(max(id), 0) FROM outbox_message")
    records = [
        (
            make_msgid(idstring=f"bench{i}", domain="bench.localhost"),
            composed.template,
            f"bench+{i}@example.jp",
            composed.subject,
            composed.body_text,
            composed.body_html,
            "pending",
            0,
            "",
            now,
            now,
        )
        for i in range(n)
    ]
    await connection.copy_records_to_table("outbox_message", records=records, columns=COLUMNS)
    rows = await connection.fetch(
        "SELECT id FROM outbox_message WHERE id > $1 ORDER BY id LIMIT $2", first, n
    )
    return [int(r["id"]) for r in rows]


async def _sent_and_failed(connection: asyncpg.Connection, ids: list[int]) -> tuple[int, int]:
    row = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'failed') AS failed "
        "FROM outbox_message WHERE id >= $1 AND id <= $2",
        ids[0],
        ids[-1],
    )
    return int(row["sent"]), int(row["failed"])


async def _deliver_with_worker(
    connection: asyncpg.Connection, settings: Settings, ids: list[int]
) -> tuple[float, int]:
    """(seconds, messages) the worker took for the backlog left once every job was enqueued
    (the enqueueing itself is the web tier's work, not the worker's)."""
    redis = await create_pool(
        redis_settings(settings.jobs.redis_url),
        default_queue_name=settings.jobs.queue_name,
        job_serializer=serialize,
        job_deserializer=deserialize,
    )
    queue = settings.jobs.queue_name

    async def enqueue(chunk: list[int]) -> None:
        for outbox_id in chunk:  # as the web tier does after each commit
            await redis.enqueue_job(
                "send_mail", outbox_id, _job_id=f"{queue}:send_mail:{outbox_id}", _queue_name=queue
            )

    try:
        await asyncio.gather(*(enqueue(ids[i::20]) for i in range(20)))
        started = time.perf_counter()
        sent_before, _ = await _sent_and_failed(connection, ids)
        deadline = started + 600
        while True:
            sent, failed = await _sent_and_failed(connection, ids)
            if failed:
                raise RuntimeError(f"{failed} bench mail(s) failed; see the worker log")
            if sent == len(ids):
                return time.perf_counter() - started, len(ids) - sent_before
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {sent} of {len(ids)} mails sent in time")
            await asyncio.sleep(0.02)
    finally:
        await redis.aclose()


async def _raw_loop(connection: asyncpg.Connection, settings: Settings, ids: list[int]) -> float:
    """The same rows as messages (built before the clock starts, by the worker's own builder),
    sent one after another over one SMTP connection: nothing but aiosmtplib and the sink."""
    rows = await connection.fetch(
        "SELECT * FROM outbox_message WHERE id >= $1 AND id <= $2 ORDER BY id", ids[0], ids[-1]
    )
    messages = [
        build_message(
            mail_from=settings.mail.mail_from,
            recipient=r["recipient"],
            subject=r["subject"],
            text=r["body_text"],
            html=r["body_html"],
            message_id=r["message_id"],
        )
        for r in rows
    ]
    started = time.perf_counter()
    async with aiosmtplib.SMTP(
        hostname=settings.mail.smtp_host, port=settings.mail.smtp_port
    ) as smtp:
        for message in messages:
            await smtp.sendmail(message.sender, [message.recipient], message.data)
    return time.perf_counter() - started


async def run(settings: Settings, messages: int = MESSAGES) -> MailResult:
    connection: Any = await asyncpg.connect(settings.database.url)
    try:
        ids = await _insert_outbox(connection, settings, messages)
        worker_seconds, worker_messages = await _deliver_with_worker(connection, settings, ids)
        raw_seconds = await _raw_loop(connection, settings, ids)
    finally:
        await connection.close()
    return MailResult(messages, worker_seconds, worker_messages, raw_seconds)
