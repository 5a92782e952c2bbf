"""Delivering one event at least once: claim the row with a conditional UPDATE, POST it signed,
record the answer (2xx delivered; network errors, 5xx and 429 retried with backoff; any other
answer failed for good)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.db import utcnow
from app.settings import WebhookSettings

from .signing import HEADER, signature_header
from .tables import DELIVERED, FAILED, PENDING, SENDING, WebhookEvent

log = logging.getLogger("jcan.webhooks")

MAX_DELAY = 3600.0
USER_AGENT = "jcan-portal-webhooks/1"


@dataclass(frozen=True)
class Delivery:
    outcome: str  # delivered | retry | failed | skipped | disabled
    retry_in: float = 0.0


def backoff(attempts: int, base: float) -> float:
    """Seconds before the next try: base, 2 x base, 4 x base ... at most an hour."""
    return float(min(base * 2 ** max(attempts - 1, 0), MAX_DELAY))


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else 0.0


async def claim(row_id: int, now: datetime, stale_after: timedelta) -> dict[str, Any] | None:
    """Take the event for this worker with one conditional UPDATE: pending and due, or claimed
    by a worker that died mid-delivery (a claim older than `stale_after`)."""
    t = WebhookEvent
    rows = (
        await t.update(
            {t.status: SENDING, t.claimed_at: now, t.attempts: t.attempts + 1},
        )
        .where(
            (t.id == row_id)
            & (
                ((t.status == PENDING) & (t.next_attempt_at <= now))
                | ((t.status == SENDING) & (t.claimed_at < now - stale_after))
            )
        )
        .returning(t.id, t.event_id, t.event_type, t.body, t.attempts)
    )
    return dict(rows[0]) if rows else None


async def deliver(
    row_id: int,
    settings: WebhookSettings,
    client: httpx.AsyncClient,
    now: datetime | None = None,
) -> Delivery:
    """POST one event at most once per claim, signed at the moment it leaves; record the
    outcome on the row. Disabled (no ECONTRACT_WEBHOOK_URL): the row waits, untouched."""
    if not settings.enabled:
        return Delivery("disabled")
    now = now or utcnow()
    row = await claim(row_id, now, timedelta(seconds=settings.claim_timeout_seconds))
    if row is None:
        return Delivery("skipped")
    body: str = row["body"]
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "JCAN-Event-Id": row["event_id"],
        "JCAN-Event-Type": row["event_type"],
        HEADER: signature_header(settings.secret, body),
    }
    try:
        response = await client.post(
            settings.url, content=body.encode(), headers=headers, timeout=settings.timeout
        )
    except httpx.HTTPError as exc:
        return await _transient(row, settings, now, None, f"{type(exc).__name__}: {exc}", 0.0)
    status = response.status_code
    if 200 <= status < 300:
        await _record(
            row_id,
            {WebhookEvent.status: DELIVERED, WebhookEvent.delivered_at: utcnow()},
            status,
            "",
        )
        log.info("webhook %s delivered (%s)", row["event_id"], status)
        return Delivery("delivered")
    error = f"HTTP {status}: {response.text[:200]}".strip()
    if status == 429 or status >= 500:
        return await _transient(row, settings, now, status, error, _retry_after(response))
    await _record(row_id, {WebhookEvent.status: FAILED}, status, error)
    log.error("webhook %s refused by the receiver: %s", row["event_id"], error)
    return Delivery("failed")


async def _transient(
    row: dict[str, Any],
    settings: WebhookSettings,
    now: datetime,
    status: int | None,
    error: str,
    retry_after: float,
) -> Delivery:
    attempts = int(row["attempts"])
    if attempts >= settings.max_attempts:
        await _record(
            row["id"],
            {WebhookEvent.status: FAILED},
            status,
            f"gave up after {attempts} attempts: {error}",
        )
        log.error("webhook %s failed after %s attempts: %s", row["event_id"], attempts, error)
        return Delivery("failed")
    delay = min(max(backoff(attempts, settings.retry_base_seconds), retry_after), MAX_DELAY)
    await _record(
        row["id"],
        {
            WebhookEvent.status: PENDING,
            WebhookEvent.claimed_at: None,
            WebhookEvent.next_attempt_at: now + timedelta(seconds=delay),
        },
        status,
        error,
    )
    log.warning("webhook %s deferred (%s), retry in %.0f s", row["event_id"], error, delay)
    return Delivery("retry", delay)


async def _record(row_id: int, values: dict[Any, Any], status: int | None, error: str) -> None:
    """Write the outcome while the row is still being sent (an operator's change in between,
    or a retry, is never overwritten by a late answer)."""
    values |= {WebhookEvent.last_status: status, WebhookEvent.last_error: error[:1000]}
    await WebhookEvent.update(values).where(
        (WebhookEvent.id == row_id) & (WebhookEvent.status == SENDING)
    )


async def due_ids(now: datetime, limit: int = 100) -> list[int]:
    """Events the relay should (re-)enqueue: pending and due, oldest first."""
    rows = (
        await WebhookEvent.select(WebhookEvent.id)
        .where((WebhookEvent.status == PENDING) & (WebhookEvent.next_attempt_at <= now))
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return [int(r["id"]) for r in rows]


async def lost_claims(
    now: datetime, stale_after: timedelta, limit: int = 100
) -> list[tuple[int, int]]:
    """(id, attempts) of events claimed by a worker that died mid-delivery."""
    rows = (
        await WebhookEvent.select(WebhookEvent.id, WebhookEvent.attempts)
        .where((WebhookEvent.status == SENDING) & (WebhookEvent.claimed_at < now - stale_after))
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return [(int(r["id"]), int(r["attempts"])) for r in rows]
