"""Announcing certificates to the e-contract service: the event row written in the caller's
write transaction (`announce`), its delivery enqueued after the commit (`Webhooks`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any

from ulid import ULID

from app.db import utcnow
from app.jobs import JobQueue
from app.mail.outbox import Letters, Outbox

from .tables import PENDING, WebhookEvent

ISSUED = "certificate.issued"
REVOKED = "certificate.revoked"
EVENT_TYPES = (ISSUED, REVOKED)
# What every certificate event's `data` carries (more keys are allowed: revoked_at, reason).
REQUIRED = ("serial", "subject", "validity", "pem", "company_code", "reference")
DELIVER_WEBHOOK = "deliver_webhook"


class NotInTransaction(RuntimeError):
    """announce() outside a write transaction: the event would not commit with its change."""


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z: 2026-12-02T01:02:03Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def certificate_data(
    *,
    serial: str,
    subject: Mapping[str, str] | str,
    not_before: datetime,
    not_after: datetime,
    pem: str,
    company_code: str,
    reference: str,
    **extra: Any,
) -> dict[str, Any]:
    """The `data` of a certificate event, in the shape receivers are told about (README)."""
    return {
        "serial": serial,
        "subject": dict(subject) if isinstance(subject, Mapping) else subject,
        "validity": {"not_before": iso_utc(not_before), "not_after": iso_utc(not_after)},
        "pem": pem,
        "company_code": company_code,
        "reference": reference,
        **extra,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def event_body(event_id: str, event_type: str, payload: Mapping[str, Any], now: datetime) -> str:
    """The JSON text exactly as it is stored, signed and sent."""
    body = {"id": event_id, "type": event_type, "created": iso_utc(now), "data": dict(payload)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default)


async def announce(
    event_type: str, payload: Mapping[str, Any], now: datetime | None = None
) -> tuple[int, str]:
    """Write the event row inside the caller's open write transaction: (row id, event id).
    The delivery is enqueued after the commit by `Webhooks.transaction` (or, for a caller with
    a transaction of its own, `enqueue_delivery(queue, row_id)` after its commit; the relay
    cron delivers it within a minute otherwise)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    missing = [key for key in REQUIRED if key not in payload]
    if missing:
        raise ValueError(f"event data lacks {', '.join(missing)}")
    if WebhookEvent._meta.db.current_transaction.get() is None:
        raise NotInTransaction("announce() belongs inside the write transaction of the change")
    now = now or utcnow()
    event_id = str(ULID())
    rows = await WebhookEvent.insert(
        WebhookEvent(
            event_id=event_id,
            event_type=event_type,
            serial=str(payload["serial"])[:64],
            body=event_body(event_id, event_type, payload, now),
            status=PENDING,
            created_at=now,
            next_attempt_at=now,
        )
    ).returning(WebhookEvent.id)
    return int(rows[0]["id"]), event_id


def delivery_job_id(row_id: int, suffix: str = "") -> str:
    """`deliver_webhook:{id}`: one job per event at a time (a suffix for deliberate second
    jobs: a retry by hand, a lost claim)."""
    return f"{DELIVER_WEBHOOK}:{row_id}{suffix}"


async def enqueue_delivery(queue: JobQueue, row_id: int, suffix: str = "") -> None:
    """Ask the queue to deliver this event (best effort: the relay cron covers a lost one)."""
    await queue.enqueue(DELIVER_WEBHOOK, row_id, job_id=delivery_job_id(row_id, suffix))


@dataclass
class Events:
    """The mail and the events of one open transaction (what `Webhooks.transaction` yields)."""

    letters: Letters
    ids: list[int] = field(default_factory=list)

    async def announce(self, event_type: str, payload: Mapping[str, Any]) -> str:
        """Write the event in this transaction; its event id (enqueued after the commit)."""
        row_id, event_id = await announce(event_type, payload, self.letters.now)
        self.ids.append(row_id)
        return event_id


@dataclass(frozen=True)
class Webhooks:
    """`async with webhooks.transaction(now) as events:` opens the outbox's write transaction
    for the business rows; `events.announce(type, data)` and `events.letters.add(...)` write
    the event and the mail in it; after a commit each is enqueued once, after a rollback
    nothing is."""

    outbox: Outbox

    def transaction(self, now: datetime | None = None) -> _Transaction:
        return _Transaction(self.outbox, now)


class _Transaction:
    __slots__ = ("_mail", "events", "queue")

    def __init__(self, outbox: Outbox, now: datetime | None) -> None:
        self._mail = outbox.transaction(now)
        self.queue = outbox.queue
        self.events = Events(self._mail.letters)

    async def __aenter__(self) -> Events:
        await self._mail.__aenter__()
        return self.events

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        suppressed = await self._mail.__aexit__(kind, exc, tb)  # commit (mail enqueued) or not
        if kind is None and self.queue is not None:
            for row_id in self.events.ids:
                await enqueue_delivery(self.queue, row_id)
        return suppressed
