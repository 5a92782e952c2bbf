"""Jobs of 証明書を自動登録: deliver one webhook event; the relay cron for events whose enqueue was
lost, that wait for a retry, or whose worker died mid-delivery."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
from arq.worker import Retry

from app.db import utcnow
from app.issuance.webhooks.delivery import deliver, due_ids, lost_claims
from app.issuance.webhooks.service import enqueue_delivery
from app.settings import Settings

log = logging.getLogger("jcan.jobs")


async def deliver_webhook(ctx: dict[str, Any], row_id: int) -> str:
    settings: Settings = ctx["settings"]
    client: httpx.AsyncClient | None = ctx.get("http_client")
    if client is None:
        async with httpx.AsyncClient(follow_redirects=False) as own:
            result = await deliver(int(row_id), settings.webhooks, own)
    else:
        result = await deliver(int(row_id), settings.webhooks, client)
    if result.outcome == "retry":
        raise Retry(defer=result.retry_in)
    return result.outcome


async def relay_webhooks(ctx: dict[str, Any]) -> int:
    settings: Settings = ctx["settings"]
    if not settings.webhooks.enabled:
        return 0  # recorded, not delivered: they wait for ECONTRACT_WEBHOOK_URL
    now = utcnow()
    ids = await due_ids(now)
    for row_id in ids:
        await enqueue_delivery(ctx["queue"], row_id)
    # A worker killed mid-delivery leaves its job id taken in Redis (as for mail): each lost
    # claim gets a job id of its own.
    stale = timedelta(seconds=settings.webhooks.claim_timeout_seconds)
    lost = await lost_claims(now, stale)
    for row_id, attempts in lost:
        await enqueue_delivery(ctx["queue"], row_id, f":lost-claim-{attempts}")
    if ids or lost:
        log.info("webhook relay enqueued %d due and %d lost event(s)", len(ids), len(lost))
    return len(ids) + len(lost)
