"""Helpers of the webhook suites: an event announced through the real service in a real
transaction, a queue that notes what it is asked, a receiver on a free port, the job's ctx."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.issuance.webhooks.service import ISSUED, Webhooks, certificate_data
from app.issuance.webhooks.tables import WebhookEvent
from tests.support.receiver import Receiver
from tests.support.services import free_port

SECRET = "whsec_test_0123456789abcdef0123456789"


class NotingQueue:
    """Notes every enqueue (the job itself is run by the test, with its own settings)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None:
        self.jobs.append((function, args, job_id))

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def data(serial: str = "5c1f0a9e3b7d2c41") -> dict[str, Any]:
    return certificate_data(
        serial=serial,
        subject={"CN": "YAMADA TARO", "O": "ISC", "OU": "CN-1234567890123", "C": "JP"},
        not_before=datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        not_after=datetime(2027, 12, 2, 0, 0, tzinfo=UTC),
        pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        company_code="ISC",
        reference="01JREFERENCE0000000000000A",
    )


def webhooks(app: Any, queue: Any) -> Webhooks:
    return Webhooks(replace(app.state.services.outbox, queue=queue))


async def announced(app: Any, event_type: str = ISSUED, **fields: Any) -> tuple[int, str]:
    """One event committed through Webhooks.transaction: (row id, event id)."""
    queue = NotingQueue()
    async with webhooks(app, queue).transaction() as events:
        event_id = await events.announce(event_type, data(**fields))
    return events.ids[0], event_id


async def row(event_id: str) -> dict[str, Any]:
    found = await WebhookEvent.select().where(WebhookEvent.event_id == event_id).first()
    assert found is not None
    return dict(found)


def receiver(secret: str = SECRET, start: bool = True) -> Receiver:
    made = Receiver(secret, free_port())
    return made.start() if start else made


def ctx(variant: Any, url: str, secret: str = SECRET, **hook: Any) -> dict[str, Any]:
    settings = variant(webhooks={"url": url, "secret": secret, "timeout": 3.0, **hook})
    return {"settings": settings, "queue": NotingQueue()}
