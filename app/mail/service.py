"""Mail operations: queue a message in the caller's transaction; deliver one outbox row once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jinja2

from app.db import utcnow
from app.mail.backends import MailBackend, PermanentMailError, TransientMailError
from app.mail.compose import build_message, compose
from app.mail.tables import FAILED, HELD, PENDING, SENDING, SENT, OutboxMessage
from app.settings import MailSettings

log = logging.getLogger("jcan.mail")

# Messages whose bodies carry a secret that must not stay readable once the message has left
# (or can never leave): the pickup link, whose token unwraps the applicant's private key. Their
# bodies are emptied when the row is marked sent or failed.
SECRET_TEMPLATES = frozenset({"certificate_pickup"})


# As SQL (a Piccolo raw query): the query builder took longer to build it than the database
# to run it, in every registration's transaction (`make bench`).
INSERT_OUTBOX = (
    "INSERT INTO outbox_message (message_id, template, recipient, subject, body_text, "
    "body_html, status, attempts, last_error, created_at, next_attempt_at) "
    "VALUES ({}, {}, {}, {}, {}, {}, {}, 0, '', {}, {}) RETURNING id"
)


async def queue_message(
    env: jinja2.Environment,
    template: str,
    recipient: str,
    context: dict[str, Any],
    domain: str,
    now: datetime | None = None,
) -> int:
    """Write the outbox row (call inside the transaction of the change that causes it)."""
    now = now or utcnow()
    composed = compose(env, template, recipient, context, domain)
    rows = await OutboxMessage.raw(
        INSERT_OUTBOX,
        composed.message_id,
        composed.template,
        composed.recipient,
        composed.subject,
        composed.body_text,
        composed.body_html,
        PENDING,
        now,
        now,
    )
    return int(rows[0]["id"])


async def hold(outbox_id: int) -> None:
    """A pending row (just written, in the caller's transaction) becomes held."""
    await OutboxMessage.update({OutboxMessage.status: HELD}).where(
        (OutboxMessage.id == outbox_id) & (OutboxMessage.status == PENDING)
    )


async def release(outbox_id: int, now: datetime) -> bool:
    """A held row becomes pending and due now; False when it was not held."""
    rows = (
        await OutboxMessage.update(
            {OutboxMessage.status: PENDING, OutboxMessage.next_attempt_at: now}
        )
        .where((OutboxMessage.id == outbox_id) & (OutboxMessage.status == HELD))
        .returning(OutboxMessage.id)
    )
    return bool(rows)


async def wipe_body(outbox_id: int) -> None:
    await OutboxMessage.update({OutboxMessage.body_text: "", OutboxMessage.body_html: ""}).where(
        OutboxMessage.id == outbox_id
    )


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent | retry | failed | skipped
    retry_in: float = 0.0


def backoff(attempts: int, base: float = 15.0) -> float:
    """Seconds before the next try: 15 s, 30 s, 1 min, 2 min ... at most 30 min."""
    return float(min(base * 2 ** max(attempts - 1, 0), 1800.0))


# Each message's two statements as SQL (Piccolo raw queries, either engine): building them
# took the worker longer than the database took to run them (`make bench`).
CLAIM = (
    "UPDATE outbox_message SET status = {}, claimed_at = {}, attempts = attempts + 1 "
    "WHERE id = {} AND ((status = {} AND next_attempt_at <= {}) "
    "OR (status = {} AND claimed_at < {})) "
    "RETURNING id, message_id, template, recipient, subject, body_text, body_html, attempts"
)
MARK_SENT = "UPDATE outbox_message SET status = {}, sent_at = {}, last_error = '' WHERE id = {}"


async def claim(outbox_id: int, now: datetime, stale_after: timedelta) -> dict[str, Any] | None:
    """Take the row for this worker with one conditional UPDATE: pending and due, or claimed
    by a worker that died mid-send (a claim older than `stale_after`)."""
    rows = await OutboxMessage.raw(
        CLAIM, SENDING, now, outbox_id, PENDING, now, SENDING, now - stale_after
    )
    return dict(rows[0]) if rows else None


async def deliver(
    outbox_id: int, settings: MailSettings, backend: MailBackend, now: datetime | None = None
) -> Delivery:
    """Send one outbox row at most once per claim; record the outcome on the row."""
    now = now or utcnow()
    row = await claim(outbox_id, now, timedelta(seconds=settings.claim_timeout_seconds))
    if row is None:
        return Delivery("skipped")
    message = build_message(
        mail_from=settings.mail_from,
        recipient=row["recipient"],
        subject=row["subject"],
        text=row["body_text"],
        html=row["body_html"],
        message_id=row["message_id"],
    )
    try:
        await backend.send(message)
    except PermanentMailError as exc:
        await _finish(outbox_id, FAILED, str(exc), row["template"])
        log.error("mail %s failed permanently: %s", outbox_id, exc)
        return Delivery("failed")
    except TransientMailError as exc:
        if row["attempts"] >= settings.max_attempts:
            error = f"gave up after {row['attempts']} attempts: {exc}"
            await _finish(outbox_id, FAILED, error, row["template"])
            log.error("mail %s failed after %s attempts: %s", outbox_id, row["attempts"], exc)
            return Delivery("failed")
        delay = backoff(row["attempts"], settings.retry_base_seconds)
        await OutboxMessage.update(
            {
                OutboxMessage.status: PENDING,
                OutboxMessage.last_error: str(exc),
                OutboxMessage.claimed_at: None,
                OutboxMessage.next_attempt_at: utcnow() + timedelta(seconds=delay),
            }
        ).where((OutboxMessage.id == outbox_id) & (OutboxMessage.status == SENDING))
        log.warning("mail %s deferred (%s), retry in %.0f s", outbox_id, exc, delay)
        return Delivery("retry", delay)
    await OutboxMessage.raw(MARK_SENT, SENT, utcnow(), outbox_id)
    if row["template"] in SECRET_TEMPLATES:
        await wipe_body(outbox_id)
    log.info("mail %s sent", outbox_id)
    return Delivery("sent")


async def _finish(outbox_id: int, status: str, error: str, template: str = "") -> None:
    await OutboxMessage.update(
        {OutboxMessage.status: status, OutboxMessage.last_error: error[:1000]}
    ).where(OutboxMessage.id == outbox_id)
    if template in SECRET_TEMPLATES:
        await wipe_body(outbox_id)


async def due_ids(now: datetime, limit: int = 100) -> list[int]:
    """Rows the relay should (re-)enqueue: pending and due."""
    rows = (
        await OutboxMessage.select(OutboxMessage.id)
        .where((OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [int(r["id"]) for r in rows]


async def lost_claims(
    now: datetime, stale_after: timedelta, limit: int = 100
) -> list[tuple[int, int]]:
    """(id, attempts) of rows claimed by a worker that died mid-send (claim older than
    `stale_after`); attempts numbers the lost claim."""
    rows = (
        await OutboxMessage.select(OutboxMessage.id, OutboxMessage.attempts)
        .where((OutboxMessage.status == SENDING) & (OutboxMessage.claimed_at < now - stale_after))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [(int(r["id"]), int(r["attempts"])) for r in rows]


async def list_messages(status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Outbox rows for operators (no bodies), newest first."""
    query = OutboxMessage.select(
        OutboxMessage.id,
        OutboxMessage.template,
        OutboxMessage.recipient,
        OutboxMessage.status,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
        OutboxMessage.created_at,
        OutboxMessage.sent_at,
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    return [dict(r) for r in await query.order_by(OutboxMessage.id, ascending=False).limit(limit)]


async def requeue_failed(outbox_id: int, now: datetime | None = None) -> bool:
    """Give a failed row a fresh start (attempts reset); True when it was failed."""
    now = now or utcnow()
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: PENDING,
                OutboxMessage.attempts: 0,
                OutboxMessage.next_attempt_at: now,
                OutboxMessage.claimed_at: None,
            }
        )
        # A secret message's body is gone once it failed: nothing left to send.
        .where(
            (OutboxMessage.id == outbox_id)
            & (OutboxMessage.status == FAILED)
            & (OutboxMessage.body_text != "")
        )
        .returning(OutboxMessage.id)
    )
    return bool(rows)
