"""Cron job: delete expired access tokens and CAPTCHA challenges in bounded batches."""

from __future__ import annotations

import logging
from typing import Any

from app.captcha.service import delete_expired as delete_expired_challenges
from app.db import utcnow
from app.registration.service import delete_dead_tokens

log = logging.getLogger("jcan.jobs")

MAX_BATCHES = 20


async def sweep_expired(ctx: dict[str, Any]) -> dict[str, int]:
    now = utcnow()
    counts = {"captcha_challenges": 0, "access_tokens": 0}
    for _ in range(MAX_BATCHES):
        removed = await delete_expired_challenges(now)
        counts["captcha_challenges"] += removed
        if removed == 0:
            break
    for _ in range(MAX_BATCHES):
        removed = await delete_dead_tokens(now)
        counts["access_tokens"] += removed
        if removed == 0:
            break
    log.info("sweep removed %s", counts)
    return counts
