"""Cron job: delete expired access tokens, CAPTCHA challenges, abandoned drafts, console sessions
nobody came back to, dead operator setup links and unclaimed keys (their pickup link expired),
in batches."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.application.storage import store_for
from app.application.uploads import delete_abandoned_drafts
from app.captcha.service import delete_expired as delete_expired_challenges
from app.console import sessions as console_sessions
from app.console.accounts.operators import delete_dead_setup_links
from app.db import Cursor, utcnow
from app.issuance.expiry import destroy_unclaimed
from app.registration.links import delete_dead_tokens
from tasks.issue_certificate import outbox_for

log = logging.getLogger("jcan.jobs")

# A batch looks at 50,000 consecutive ids with one count and one range DELETE (see
# app.db.delete_expired_batch): some 30 ms on PostgreSQL, so a run gets through 2 million
# rows of each kind in a second or two, holding no lock for long.
MAX_BATCHES = 40
BATCH_SIZE = 50_000
DRAFT_BATCH_SIZE = 200
# The cursor of sweeps that find their rows afresh each batch: "a full batch, maybe more".
MORE: Cursor = (0, 0)

Sweep = Callable[[datetime, int, Cursor | None], Awaitable[tuple[int, Cursor | None]]]


async def sweep_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Delete what can no longer be used, at most MAX_BATCHES batches of each kind a run
    (the next run goes on), so one sweep never holds the database for long. Idempotent."""
    now = ctx.get("now") or utcnow()
    batch_size = int(ctx.get("sweep_batch_size", BATCH_SIZE))
    sweeps: dict[str, Sweep] = {
        "captcha_challenges": delete_expired_challenges,
        "access_tokens": delete_dead_tokens,
        "operator_setup_links": delete_dead_setup_links,
    }
    if "settings" in ctx:
        store = store_for(ctx["settings"])

        async def drafts(
            now: datetime, batch: int, after: Cursor | None
        ) -> tuple[int, Cursor | None]:
            # Drafts go with their files and child rows, by lists of ids: smaller batches.
            size = min(batch, DRAFT_BATCH_SIZE)
            removed = await delete_abandoned_drafts(now, store, size)
            return removed, (MORE if removed == size else None)

        sweeps["abandoned_drafts"] = drafts
        console = ctx["settings"].console

        async def console_sessions_(
            now: datetime, batch: int, after: Cursor | None
        ) -> tuple[int, Cursor | None]:
            # Each expired session is audited as it goes: small batches, found afresh.
            size = min(batch, DRAFT_BATCH_SIZE)
            removed = await console_sessions.delete_expired(now, console, size)
            return removed, (MORE if removed == size else None)

        sweeps["console_sessions"] = console_sessions_

        async def unclaimed_keys(
            now: datetime, batch: int, after: Cursor | None
        ) -> tuple[int, Cursor | None]:
            # Each key goes with two mails (holder and LRA) in its own transaction.
            size = min(batch, DRAFT_BATCH_SIZE)
            removed = await destroy_unclaimed(now, ctx["settings"], outbox_for(ctx), size)
            return removed, (MORE if removed == size else None)

        sweeps["unclaimed_keys"] = unclaimed_keys
    counts = dict.fromkeys(sweeps, 0)
    for name, sweep in sweeps.items():
        cursor: Cursor | None = None  # where the last batch of this kind stopped
        for _ in range(MAX_BATCHES):
            removed, cursor = await sweep(now, batch_size, cursor)
            counts[name] += removed
            if cursor is None:
                break
    log.info("sweep removed %s", counts)
    return counts
