"""Cron job: enqueue outbox rows still pending, so delivery never depends on the first enqueue."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from app.db import utcnow
from app.mail.service import due_ids
from app.settings import Settings

log = logging.getLogger("jcan.jobs")


async def relay_outbox(ctx: dict[str, Any]) -> int:
    settings: Settings = ctx["settings"]
    ids = await due_ids(utcnow(), timedelta(seconds=settings.mail.claim_timeout_seconds))
    for outbox_id in ids:
        await ctx["queue"].enqueue("send_mail", outbox_id, job_id=f"send_mail:{outbox_id}")
    if ids:
        log.info("relay enqueued %d pending message(s)", len(ids))
    return len(ids)
