"""Issuance drills (issue 15): one certificate per approval when the job runs twice, when the
worker is SIGKILLed after the CA answered but before the certificate was committed, and when
Redis is down at the approval. Real PostgreSQL, redis-server, `jcan worker` processes, the
local CA and an SMTP sink."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from app.application.tables import Application
from app.issuance import service
from app.issuance.ca import select
from app.mail.tables import OutboxMessage
from tests.drills.services import DrillSink, RedisServer, WorkerProcess, wait_until
from tests.helpers import submitted
from tests.integration.issuance.issuance_helpers import approve, certificates, pickup_mails_to
from tests.support.services import TEST_DATABASE_URL, TEST_REDIS_URL

if not (TEST_DATABASE_URL and TEST_REDIS_URL):
    pytest.skip(
        "issuance drills need the real services: set TEST_DATABASE_URL and TEST_REDIS_URL",
        allow_module_level=True,
    )

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
async def issuing(drill_settings: Any) -> AsyncIterator[tuple[Any, Any]]:
    """(client, services) of this drill's portal, with demo data and an initialised CA."""
    from app.asgi import create_app
    from app.issuance.ca.commands import init
    from tests.helpers import add_demo_data, serving

    app = create_app(drill_settings)
    init(drill_settings, if_missing=True)
    async with serving(app) as client:
        await add_demo_data(client)
        yield client, app.state.services


async def issued_row(application_id: int, timeout: float, *workers: WorkerProcess) -> Any:
    async def check() -> Any:
        row = await Application.select().where(Application.id == application_id).first()
        return row if row and row["status"] == "issued" else None

    try:
        return await wait_until(check, timeout, "the application to be issued")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {workers}") from None


async def pickup_mails() -> list[dict[str, Any]]:
    rows = await OutboxMessage.select().where(OutboxMessage.template == "certificate_pickup")
    return [dict(r) for r in rows]


async def one_certificate_one_mail(application_id: int, sink: DrillSink) -> dict[str, Any]:
    await pickup_mails_to(sink)
    await asyncio.sleep(1.5)  # room for a second certificate or mail, if one were coming
    [cert] = await certificates(application_id)
    assert cert["status"] == "issued"
    assert len(await pickup_mails()) == 1
    assert len(await pickup_mails_to(sink)) == 1
    return cert


async def test_i1_the_job_enqueued_twice_with_two_workers_issues_once(
    issuing: tuple[Any, Any], sink: DrillSink, spawn_worker: Spawn
) -> None:
    client, services = issuing
    workers = [spawn_worker(), spawn_worker()]
    application = await approve(await submitted(client, sink), services)
    await service.enqueue_issue(services.queue, application["id"], ":second-copy")
    await issued_row(application["id"], 60, *workers)
    await one_certificate_one_mail(application["id"], sink)


async def test_i2_redis_down_at_the_approval_the_relay_issues_once_it_returns(
    issuing: tuple[Any, Any], redis_server: RedisServer, sink: DrillSink, spawn_worker: Spawn
) -> None:
    client, services = issuing
    first = spawn_worker()  # delivers the registration's and the submission's mail
    reference = await submitted(client, sink)
    redis_server.stop()
    assert await first.exited(30) is not None  # arq's worker exits when Redis goes away
    application = await approve(reference, services)  # its enqueue fails (logged)
    assert application["status"] == "approved"
    assert await certificates(application["id"]) == []

    redis_server.start()
    worker = spawn_worker()
    await issued_row(application["id"], 60, worker)
    await one_certificate_one_mail(application["id"], sink)


async def test_i3_a_worker_killed_after_the_ca_answered_is_repaired_with_the_same_certificate(
    issuing: tuple[Any, Any], sink: DrillSink, spawn_worker: Spawn, drill_settings: Any
) -> None:
    client, services = issuing
    mailer = spawn_worker()  # delivers the registration's and the submission's mail
    reference = await submitted(client, sink)
    mailer.send(signal.SIGTERM)
    assert await mailer.exited(30) == 0, mailer
    # The approval's enqueue is lost: the next worker's startup relay runs the job.
    queue, services.queue = services.queue, type("Deaf", (), {"enqueue": _nothing})()
    try:
        application = await approve(reference, services)
    finally:
        services.queue = queue

    # Hold the application row (FOR NO KEY UPDATE: the first transaction's foreign keys may
    # still share it): the second transaction's status change, after the CA's answer, waits
    # on it, and the worker is killed there.
    holder = await asyncpg.connect(drill_settings.database.url)
    blocked = await asyncpg.connect(drill_settings.database.url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT id FROM application WHERE id = $1 FOR NO KEY UPDATE", application["id"]
        )
        first = spawn_worker()

        async def waiting_on_the_lock() -> bool:
            # The CA has signed (its own record) and a session of this database waits.
            signed = await blocked.fetchval("SELECT count(*) FROM local_ca_certificate")
            waiting = await blocked.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
            return bool(signed and waiting)

        await wait_until(waiting_on_the_lock, 60, f"the worker to reach the commit {first}")
        first.send(signal.SIGKILL)
        assert await first.exited(5) == -signal.SIGKILL
        await transaction.rollback()
    finally:
        await holder.close()
        await blocked.close()

    [row] = await certificates(application["id"])
    assert row["status"] == "requested" and row["serial"] is None  # nothing committed
    assert [m["status"] for m in await pickup_mails()] == ["held"]
    signed = await select(drill_settings).issue(await _request(row))  # idempotent: its answer

    second = spawn_worker(ISSUE_RETRY_SECONDS="1")
    await issued_row(application["id"], 60, second)
    cert = await one_certificate_one_mail(application["id"], sink)
    assert cert["serial"] == format(signed.serial, "x")  # the CA's first answer, once
    assert "is retried" in second.log(), second


async def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


async def _request(row: dict[str, Any]) -> Any:
    application = await Application.select().where(Application.id == row["application"]).first()
    assert application is not None
    subject, profile = service.ca_subject(dict(application))
    return service.IssueRequest(row["request_id"], row["csr_pem"].encode(), subject, profile)
