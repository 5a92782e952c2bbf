"""Cron job: enqueue outbox rows still pending, so delivery never depends on the first enqueue."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from app.db import utcnow
from app.mail.outbox import enqueue_delivery
from app.mail.service import due_ids, lost_claims
from app.settings import Settings

log = logging.getLogger("jcan.jobs")


async def relay_outbox(ctx: dict[str, Any]) -> int:
    settings: Settings = ctx["settings"]
    now = utcnow()
    ids = await due_ids(now)
    for outbox_id in ids:
        await enqueue_delivery(ctx["queue"], outbox_id)
    if ids:
        log.info("relay enqueued %d pending message(s)", len(ids))
    # A worker killed mid-send leaves its job id taken in Redis (arq keeps the job "in
    # progress" until its job timeout has passed), so that id would be refused: each lost
    # claim gets a job id of its own.
    lost = await lost_claims(now, timedelta(seconds=settings.mail.claim_timeout_seconds))
    for outbox_id, attempts in lost:
        await enqueue_delivery(ctx["queue"], outbox_id, f":lost-claim-{attempts}")
    if lost:
        log.info("relay re-enqueued %d message(s) whose worker died mid-send", len(lost))
    return len(ids) + len(lost)
