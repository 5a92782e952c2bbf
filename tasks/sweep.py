"""Cron job: delete expired access tokens, CAPTCHA challenges and abandoned drafts in batches."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.application.storage import store_for
from app.application.uploads import delete_abandoned_drafts
from app.captcha.service import delete_expired as delete_expired_challenges
from app.db import utcnow
from app.registration.service import delete_dead_tokens

log = logging.getLogger("jcan.jobs")

MAX_BATCHES = 20
BATCH_SIZE = 500


async def sweep_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Delete what can no longer be used, at most MAX_BATCHES batches of each kind a run
    (the next run goes on), so one sweep never holds the database for long. Idempotent."""
    now = ctx.get("now") or utcnow()
    batch_size = int(ctx.get("sweep_batch_size", BATCH_SIZE))
    sweeps: dict[str, Callable[[datetime, int], Awaitable[int]]] = {
        "captcha_challenges": delete_expired_challenges,
        "access_tokens": delete_dead_tokens,
    }
    if "settings" in ctx:
        store = store_for(ctx["settings"])

        async def drafts(now: datetime, batch: int) -> int:
            return await delete_abandoned_drafts(now, store, batch)

        sweeps["abandoned_drafts"] = drafts
    counts = dict.fromkeys(sweeps, 0)
    for name, sweep in sweeps.items():
        for _ in range(MAX_BATCHES):
            removed = await sweep(now, batch_size)
            counts[name] += removed
            if removed < batch_size:
                break
    log.info("sweep removed %s", counts)
    return counts
