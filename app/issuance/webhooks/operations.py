"""What operators do with deliveries (console and CLI): list them with their state, and send a
failed event again (attempts reset, recorded in the audit log in the same transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.console.audit.service import record
from app.db import utcnow, write_transaction
from app.i18n import _

from .tables import DELIVERED, FAILED, PENDING, SENDING, WebhookEvent

COLUMNS = (
    WebhookEvent.id,
    WebhookEvent.event_id,
    WebhookEvent.event_type,
    WebhookEvent.serial,
    WebhookEvent.status,
    WebhookEvent.attempts,
    WebhookEvent.last_status,
    WebhookEvent.last_error,
    WebhookEvent.created_at,
    WebhookEvent.next_attempt_at,
    WebhookEvent.delivered_at,
)


def state_label(state: str) -> str:
    return {
        PENDING: _("配信待ち"),
        SENDING: _("配信中"),
        DELIVERED: _("配信済み"),
        FAILED: _("失敗"),
    }.get(state, state)


async def list_events(
    failed_only: bool = False, serial: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Events without their bodies (certificates and subjects stay out of lists), newest
    first; only failed ones, or only one certificate's (its page's webhook deliveries)."""
    query = WebhookEvent.select(*COLUMNS)
    if failed_only:
        query = query.where(WebhookEvent.status == FAILED)
    if serial is not None:
        query = query.where(WebhookEvent.serial == serial)
    rows = await query.order_by(WebhookEvent.id, ascending=False).limit(limit)
    return [dict(r) | {"state_label": state_label(r["status"])} for r in rows]


async def requeue_failed(
    event_id: str, actor: str, client: str = "", now: datetime | None = None
) -> int | None:
    """Give a failed event a fresh start (attempts reset, due now) and record who did it;
    the row id to enqueue, or None when the event is not failed (or does not exist)."""
    now = now or utcnow()
    async with write_transaction(WebhookEvent._meta.db):
        rows = (
            await WebhookEvent.update(
                {
                    WebhookEvent.status: PENDING,
                    WebhookEvent.attempts: 0,
                    WebhookEvent.next_attempt_at: now,
                    WebhookEvent.claimed_at: None,
                }
            )
            .where((WebhookEvent.event_id == event_id) & (WebhookEvent.status == FAILED))
            .returning(WebhookEvent.id, WebhookEvent.event_type)
        )
        if not rows:
            return None
        await record(
            "webhook.retry",
            actor=actor,
            target=f"webhook:{event_id}",
            client=client,
            details={"type": rows[0]["event_type"]},
            now=now,
        )
    return int(rows[0]["id"])
