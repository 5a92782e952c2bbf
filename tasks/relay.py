"""Cron job: enqueue outbox rows still pending, so delivery never depends on the first enqueue."""

from __future__ import annotations

import logging
from typing import Any

from app.db import utcnow
from app.mail.service import due_ids

log = logging.getLogger("jcan.jobs")


async def relay_outbox(ctx: dict[str, Any]) -> int:
    ids = await due_ids(utcnow())
    for outbox_id in ids:
        await ctx["queue"].enqueue("send_mail", outbox_id, job_id=f"send_mail:{outbox_id}")
    if ids:
        log.info("relay enqueued %d pending message(s)", len(ids))
    return len(ids)
