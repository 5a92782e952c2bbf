"""Delivering certificate events to a real receiving HTTP server: signed, at least once,
deduplicated by the receiver, with backoff; refusals recorded; nothing sent when disabled."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest

from app.db import utcnow, write_transaction
from app.issuance.webhooks.delivery import deliver
from app.issuance.webhooks.service import REVOKED, NotInTransaction, announce
from app.issuance.webhooks.signing import HEADER, signature_header
from app.issuance.webhooks.tables import DELIVERED, FAILED, PENDING, WebhookEvent
from tasks.webhooks import deliver_webhook, relay_webhooks
from tests.integration.webhooks.webhook_helpers import (
    SECRET,
    NotingQueue,
    announced,
    ctx,
    data,
    receiver,
    row,
    webhooks,
)


class Boom(Exception):
    pass


async def test_an_issued_certificate_reaches_the_receiver_signed_once(client, app, variant):
    queue = NotingQueue()
    async with webhooks(app, queue).transaction() as events:
        event_id = await events.announce("certificate.issued", data())
        assert queue.jobs == []  # nothing leaves before the commit
    row_id = events.ids[0]
    assert queue.jobs == [("deliver_webhook", (row_id,), f"deliver_webhook:{row_id}")]
    hook = receiver()
    try:
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "delivered"
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "skipped"
    finally:
        hook.stop()
    assert hook.received == 1 and hook.refused == 0 and hook.processed == [event_id]
    body = hook.bodies[0]
    assert body["type"] == "certificate.issued" and body["id"] == event_id
    assert body["data"]["serial"] == "5c1f0a9e3b7d2c41"
    assert body["data"]["company_code"] == "ISC"
    assert body["data"]["validity"]["not_after"] == "2027-12-02T00:00:00Z"
    assert body["data"]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert body["created"].endswith("Z")
    assert hook.headers[0]["JCAN-Event-Id"] == event_id
    stored = await row(event_id)
    assert json.loads(stored["body"]) == body  # sent exactly as stored
    assert stored["status"] == DELIVERED and stored["last_status"] == 200
    assert stored["attempts"] == 1 and stored["delivered_at"] is not None


async def test_a_rollback_leaves_no_event_and_enqueues_nothing(client, app):
    queue = NotingQueue()
    with pytest.raises(Boom):
        async with webhooks(app, queue).transaction() as events:
            await events.announce(
                REVOKED, data() | {"revoked_at": utcnow(), "reason": "superseded"}
            )
            assert await WebhookEvent.count() == 1
            raise Boom()
    assert await WebhookEvent.count() == 0 and queue.jobs == []


async def test_announce_belongs_inside_a_transaction_and_checks_its_data(client):
    with pytest.raises(NotInTransaction):
        await announce("certificate.issued", data())
    async with write_transaction(WebhookEvent._meta.db):
        with pytest.raises(ValueError, match="pem"):
            await announce("certificate.issued", {k: v for k, v in data().items() if k != "pem"})
        with pytest.raises(ValueError, match="unknown"):
            await announce("certificate.renamed", data())
        row_id, event_id = await announce("certificate.issued", data())
    assert len(event_id) == 26 and (await row(event_id))["id"] == row_id


async def test_receiver_down_then_back_is_delivered_exactly_once(client, app, variant):
    row_id, event_id = await announced(app)
    hook = receiver(start=False)  # its port is free: connection refused
    job = ctx(variant, hook.url, retry_base_seconds=30.0)["settings"].webhooks
    start = utcnow()
    async with httpx.AsyncClient() as http:
        first = await deliver(row_id, job, http, now=start)
        assert first.outcome == "retry" and first.retry_in == 30.0
        stored = await row(event_id)
        assert stored["status"] == PENDING and stored["attempts"] == 1
        assert "ConnectError" in stored["last_error"] and stored["last_status"] is None
        assert stored["next_attempt_at"] == start + timedelta(seconds=30)
        # Not due yet: nobody sends it early.
        assert (
            await deliver(row_id, job, http, now=start + timedelta(seconds=10))
        ).outcome == "skipped"
        second = await deliver(row_id, job, http, now=start + timedelta(seconds=31))
        assert second.outcome == "retry" and second.retry_in == 60.0  # still down: doubled
        hook.start()
        try:
            later = start + timedelta(seconds=92)
            assert (await deliver(row_id, job, http, now=later)).outcome == "delivered"
            assert (await deliver(row_id, job, http, now=later)).outcome == "skipped"
        finally:
            hook.stop()
    assert hook.processed == [event_id] and hook.received == 1
    stored = await row(event_id)
    assert stored["status"] == DELIVERED and stored["attempts"] == 3 and stored["last_error"] == ""


async def test_a_receiver_that_stored_but_failed_to_answer_dedupes_the_redelivery(
    client, app, variant
):
    row_id, event_id = await announced(app)
    hook = receiver()
    hook.fail_after_store = True
    job = ctx(variant, hook.url, retry_base_seconds=0.0)
    try:
        with pytest.raises(Exception) as retry:  # arq.Retry: the job asks to run again
            await deliver_webhook(job, row_id)
        assert type(retry.value).__name__ == "Retry"
        assert (await row(event_id))["last_status"] == 500
        assert await deliver_webhook(job, row_id) == "delivered"
    finally:
        hook.stop()
    # At least once on the wire, exactly once in the receiver.
    assert hook.received == 2 and hook.processed == [event_id] and hook.duplicates == [event_id]


async def test_a_wrong_secret_is_refused_by_the_receiver_and_recorded(client, app, variant):
    row_id, event_id = await announced(app)
    hook = receiver(secret="the receiver's own secret")
    try:
        assert await deliver_webhook(ctx(variant, hook.url, secret=SECRET), row_id) == "failed"
    finally:
        hook.stop()
    assert hook.refused == 1 and hook.processed == []
    stored = await row(event_id)
    assert stored["status"] == FAILED and stored["last_status"] == 401
    assert stored["last_error"].startswith("HTTP 401")


async def test_the_receiver_refuses_a_signature_outside_its_tolerance(client):
    hook = receiver()
    body = '{"id":"01JOLD0000000000000000000A","type":"certificate.issued","data":{}}'
    try:
        async with httpx.AsyncClient() as http:
            answers = []
            for age in (0, 290, 310, -310):
                header = signature_header(SECRET, body, int(time.time()) - age)
                response = await http.post(hook.url, content=body, headers={HEADER: header})
                answers.append(response.status_code)
    finally:
        hook.stop()
    assert answers == [200, 200, 401, 401]  # the second 200 is the dedupe's


@pytest.mark.parametrize("status", [400, 404, 410, 422])
async def test_a_4xx_answer_fails_the_event_for_good(client, app, variant, status):
    row_id, event_id = await announced(app)
    hook = receiver()
    hook.status = status
    try:
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "failed"
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "skipped"
    finally:
        hook.stop()
    stored = await row(event_id)
    assert stored["status"] == FAILED and stored["last_status"] == status
    assert stored["attempts"] == 1 and hook.received == 1


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_5xx_and_429_are_retried_until_the_attempts_run_out(client, app, variant, status):
    row_id, event_id = await announced(app)
    hook = receiver()
    hook.status = status
    job = ctx(variant, hook.url, max_attempts=3, retry_base_seconds=0.0)
    try:
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(await deliver_webhook(job, row_id))
            except Exception as exc:
                outcomes.append(type(exc).__name__)
    finally:
        hook.stop()
    assert outcomes == ["Retry", "Retry", "failed", "skipped"]
    stored = await row(event_id)
    assert stored["status"] == FAILED and stored["attempts"] == 3
    assert stored["last_error"].startswith(f"gave up after 3 attempts: HTTP {status}")


async def test_the_relay_enqueues_due_and_lost_events_only_when_enabled(client, app, variant):
    row_id, _event_id = await announced(app)
    disabled = ctx(variant, "")
    assert await relay_webhooks(disabled) == 0 and disabled["queue"].jobs == []
    enabled = ctx(variant, "http://127.0.0.1:9/never")
    assert await relay_webhooks(enabled) == 1
    assert enabled["queue"].jobs == [("deliver_webhook", (row_id,), f"deliver_webhook:{row_id}")]
    # A worker that died mid-delivery: the claim goes stale and gets a job id of its own.
    await WebhookEvent.update(
        {WebhookEvent.status: "sending", WebhookEvent.claimed_at: utcnow() - timedelta(hours=1)}
    ).where(WebhookEvent.id == row_id)
    again = ctx(variant, "http://127.0.0.1:9/never")
    assert await relay_webhooks(again) == 1
    assert again["queue"].jobs[0][2] == f"deliver_webhook:{row_id}:lost-claim-0"


async def test_without_a_url_events_are_recorded_but_not_delivered(client, app, variant):
    row_id, event_id = await announced(app)
    assert await deliver_webhook(ctx(variant, ""), row_id) == "disabled"
    stored = await row(event_id)
    assert stored["status"] == PENDING and stored["attempts"] == 0
    # Once a URL is set, what was recorded goes out.
    hook = receiver()
    try:
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "delivered"
    finally:
        hook.stop()
    assert hook.processed == [event_id]


async def test_through_the_apps_own_queue_a_commit_is_delivered(client, variant):
    """The whole path: the app's Webhooks transaction commits, its queue (in-process, or arq
    on the real Redis with a worker of these settings) runs deliver_webhook, the receiver
    gets it once."""
    import asyncio

    from arq.worker import Worker

    from app.asgi import create_app
    from app.issuance.webhooks.service import Webhooks
    from tasks.worker import worker_settings
    from tests.helpers import serving

    hook = receiver()
    base = variant()
    settings = variant(
        webhooks={"url": hook.url, "secret": SECRET},
        jobs={"queue_name": f"{base.jobs.queue_name}:webhooks"},
    )
    application = create_app(settings)
    worker, task = None, None
    if settings.jobs.redis_url:
        options = worker_settings(settings) | {
            "poll_delay": 0.05,
            "cron_jobs": [],
            "ctx": {"settings": settings, "tables_bound": True},
        }
        worker = Worker(**options)
        task = asyncio.create_task(worker.async_run())
    try:
        async with serving(application):
            async with Webhooks(application.state.services.outbox).transaction() as events:
                event_id = await events.announce("certificate.issued", data())
            for _ in range(200):
                if (await row(event_id))["status"] == DELIVERED:
                    break
                await asyncio.sleep(0.05)
    finally:
        hook.stop()
        if worker is not None and task is not None:
            await worker.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert hook.processed == [event_id] and hook.received == 1
    assert (await row(event_id))["status"] == DELIVERED


async def test_a_certificates_deliveries_are_found_by_its_serial(client, app):
    from app.issuance.webhooks.operations import list_events

    _a, issued = await announced(app, serial="00aa11")
    _b, other = await announced(app, serial="00bb22")
    _c, revoked = await announced(app, REVOKED, serial="00aa11")
    found = await list_events(serial="00aa11")
    assert [e["event_id"] for e in found] == [revoked, issued]
    assert [e["event_type"] for e in found] == ["certificate.revoked", "certificate.issued"]
    assert other not in {e["event_id"] for e in found}
    assert "body" not in found[0]
