"""Issuance drills (issue 15): one certificate per approval when the job runs twice, when the
worker is SIGKILLed after the CA answered but before the certificate was committed, and when
Redis is down at the approval. Real PostgreSQL, redis-server, `jcan worker` processes, an SMTP
sink, and each drill twice: with the local CA and with a real django-ca server (the session's
`django_ca_server`; JCAN_SKIP_DJANGO_CA=1 skips those variants only). Each drill also asks the
CA itself what it signed for the request: the stored certificate is the first, and the only one
not revoked.

django-ca's request ids (its tags) stay distinct across the drills of a session: the drills run
on PostgreSQL only, whose sequences go on counting after the tests' DELETEs."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from arq.jobs import Job

from app.application.tables import Application
from app.issuance import service
from app.issuance.ca import select
from app.jobs import deserialize
from app.mail.tables import OutboxMessage
from tests.drills.cas import BACKENDS, CARecord, Held, record_of, with_ca
from tests.drills.services import DrillSink, RedisServer, WorkerProcess, wait_until
from tests.helpers import submitted
from tests.integration.issuance.issuance_helpers import (
    approve,
    certificates,
    no_queue,
    pickup_mails_to,
)
from tests.support.services import TEST_DATABASE_URL, TEST_REDIS_URL

if not (TEST_DATABASE_URL and TEST_REDIS_URL):
    pytest.skip(
        "issuance drills need the real services: set TEST_DATABASE_URL and TEST_REDIS_URL",
        allow_module_level=True,
    )

Spawn = Callable[..., WorkerProcess]


@pytest.fixture(params=BACKENDS)
def ca_backend(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(CA_BACKEND, the django-ca server or None) of this variant of a drill."""
    if request.param == "django-ca":
        return request.param, request.getfixturevalue("django_ca_server")
    return request.param, None


@pytest.fixture
def drill_settings(drill_settings: Any, ca_backend: tuple[str, Any]) -> Any:
    """The drills' settings with this variant's CA: the in-process portal's and, through
    worker_environment, the `jcan worker` processes'."""
    return with_ca(drill_settings, *ca_backend)


@pytest.fixture
def ca_record(drill_settings: Any) -> CARecord:
    return record_of(drill_settings)


@pytest.fixture
async def issuing(drill_settings: Any) -> AsyncIterator[tuple[Any, Any]]:
    """(client, services) of this drill's portal, with demo data (and an initialised local CA
    when that is the drill's CA)."""
    from app.asgi import create_app
    from app.issuance.ca.commands import init
    from tests.helpers import add_demo_data, serving

    app = create_app(drill_settings)
    if drill_settings.ca.backend == "local":
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


async def one_certificate_one_mail(
    application_id: int, sink: DrillSink, record: CARecord
) -> tuple[dict[str, Any], list[Held]]:
    """The one certificate stored and mailed, and what the CA holds for its request: the stored
    one is the first the CA signed and the only one not revoked (were a race to make a
    duplicate, the caller that lost revokes it)."""
    await pickup_mails_to(sink)
    await asyncio.sleep(1.5)  # room for a second certificate or mail, if one were coming
    [cert] = await certificates(application_id)
    assert cert["status"] == "issued"
    assert len(await pickup_mails()) == 1
    assert len(await pickup_mails_to(sink)) == 1
    held = await record.held(cert["request_id"])
    assert held and held[0].serial == cert["serial"], (cert["serial"], held)
    assert [h.serial for h in held if not h.revoked] == [cert["serial"]], held
    return cert, held


async def job_results(services: Any, queue_name: str, *job_ids: str, timeout: float) -> list[Any]:
    """The results arq keeps of these jobs (what the job returned), once all have one."""
    redis = services.queue.redis
    jobs = [
        Job(f"{queue_name}:{job_id}", redis, _queue_name=queue_name, _deserializer=deserialize)
        for job_id in job_ids
    ]

    async def finished() -> list[Any] | None:
        infos = [await job.result_info() for job in jobs]
        return infos if all(infos) else None

    infos = await wait_until(finished, timeout, f"the jobs {job_ids} to finish", every=0.2)
    return list(infos)


async def test_i1_the_job_enqueued_twice_with_two_workers_issues_once(
    issuing: tuple[Any, Any],
    sink: DrillSink,
    spawn_worker: Spawn,
    ca_record: CARecord,
    queue_name: str,
) -> None:
    client, services = issuing
    workers = [spawn_worker(), spawn_worker()]
    application = await approve(await submitted(client, sink), services)
    await service.enqueue_issue(services.queue, application["id"], ":second-copy")
    await issued_row(application["id"], 60, *workers)
    # Both copies ran to their end (the twin that found the CA being asked waited, then found
    # the certificate stored).
    ids = [service.issue_job_id(application["id"], s) for s in ("", ":second-copy")]
    results = await job_results(services, queue_name, *ids, timeout=60)
    assert all(r.success for r in results), results
    assert sorted(r.result for r in results) == ["issued", "issued already"], results
    _cert, held = await one_certificate_one_mail(application["id"], sink, ca_record)
    assert len(held) == 1, held  # the CA was asked once: the twin waited for the first call


async def test_i2_redis_down_at_the_approval_the_relay_issues_once_it_returns(
    issuing: tuple[Any, Any],
    redis_server: RedisServer,
    sink: DrillSink,
    spawn_worker: Spawn,
    ca_record: CARecord,
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
    _cert, held = await one_certificate_one_mail(application["id"], sink, ca_record)
    assert len(held) == 1, held  # signed once


async def test_i3_a_worker_killed_after_the_ca_answered_is_repaired_with_the_same_certificate(
    issuing: tuple[Any, Any],
    sink: DrillSink,
    spawn_worker: Spawn,
    drill_settings: Any,
    ca_record: CARecord,
) -> None:
    client, services = issuing
    mailer = spawn_worker()  # delivers the registration's and the submission's mail
    reference = await submitted(client, sink)
    mailer.send(signal.SIGTERM)
    assert await mailer.exited(30) == 0, mailer
    # The approval's enqueue is lost: the next worker's startup relay runs the job.
    async with no_queue(services):
        application = await approve(reference, services)

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
            # A session of this database waits, and the CA has signed this request (its own
            # record: the local CA's table, django-ca's API).
            waiting = await blocked.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
            request_id = await blocked.fetchval(
                "SELECT request_id FROM certificate WHERE application = $1", application["id"]
            )
            return bool(waiting and request_id and await ca_record.held(request_id))

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
    first_answer = format(signed.serial, "x")
    assert await ca_record.held(row["request_id"]) == [Held(first_answer, revoked=False)]

    second = spawn_worker(ISSUE_RETRY_SECONDS="1")
    await issued_row(application["id"], 60, second)
    cert, held = await one_certificate_one_mail(application["id"], sink, ca_record)
    assert cert["serial"] == first_answer  # the CA's first answer, once
    assert held == [Held(first_answer, revoked=False)], held  # and never signed again
    assert "is retried" in second.log(), second


async def _request(row: dict[str, Any]) -> Any:
    application = await Application.select().where(Application.id == row["application"]).first()
    assert application is not None
    subject, profile = service.ca_subject(dict(application))
    return service.IssueRequest(row["request_id"], row["csr_pem"].encode(), subject, profile)
