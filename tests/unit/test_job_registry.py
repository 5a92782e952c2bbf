"""The one registry of jobs and schedule: arq's worker and the in-process runner both use it."""

from __future__ import annotations

import asyncio

import pytest
from arq.utils import import_string
from arq.worker import create_worker

from app.jobs import Cron, InProcessQueue, Jobs, queue_for
from app.settings import Settings
from tasks.registry import JOBS
from tasks.worker import worker_settings


async def _job(ctx: dict) -> None:
    ctx["queue"].runs.append(ctx.get("job_try", "cron"))


def test_a_schedule_is_written_as_cron_times():
    assert Cron(_job, every=60).clock() == {"second": 0}
    assert Cron(_job, every=3600, offset=7 * 60).clock() == {"second": 0, "minute": 7}
    assert Cron(_job, every=900, offset=90).clock() == {"second": 30, "minute": {1, 16, 31, 46}}
    assert Cron(_job, every=86400, offset=3 * 3600).clock() == {
        "second": 0,
        "minute": 0,
        "hour": 3,
    }
    assert Cron(_job, every=20, offset=5).clock() == {"second": {5, 25, 45}}
    with pytest.raises(ValueError):
        Cron(_job, every=90)  # no wall-clock period
    with pytest.raises(ValueError):
        Cron(_job, every=60, offset=60)


def test_arq_tasks_worker_worker_settings_is_complete(monkeypatch):
    """`arq tasks.worker.WorkerSettings` builds the same worker as `jcan worker`."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("JOB_QUEUE_NAME", "jcan:registry-check")
    monkeypatch.setenv("MAIL_MAX_ATTEMPTS", "5")
    worker = create_worker(import_string("tasks.worker.WorkerSettings"))  # as arq's CLI does
    assert worker.queue_name == "jcan:registry-check"
    assert worker.redis_settings is not None and worker.redis_settings.database == 9
    assert {"send_mail", "relay_outbox", "sweep_expired", "deliver_webhook"} <= set(
        worker.functions
    )
    crons = {job.name: job for job in worker.cron_jobs}
    assert set(crons) == {
        "cron:relay_outbox",
        "cron:relay_issuance",
        "cron:relay_webhooks",
        "cron:sweep_expired",
        "cron:publish_crl",
        "cron:relay_revocations",
    }
    assert crons["cron:relay_webhooks"].second == 30 and crons["cron:relay_webhooks"].minute is None
    assert {"issue_certificate", "relay_issuance"} <= set(worker.functions)
    assert crons["cron:relay_issuance"].run_at_startup
    assert crons["cron:relay_issuance"].second == 30
    assert crons["cron:relay_outbox"].second == 0 and crons["cron:relay_outbox"].minute is None
    assert crons["cron:relay_outbox"].run_at_startup
    assert (crons["cron:sweep_expired"].minute, crons["cron:sweep_expired"].second) == (7, 0)
    assert worker.max_tries == 5
    assert worker.on_startup is not None and worker.on_shutdown is not None
    # JSON, never pickle.
    assert worker.job_serializer is not None and worker.job_serializer({"a": 1}) == b'{"a": 1}'
    same = worker_settings(Settings.from_env())
    assert same["queue_name"] == worker.queue_name
    assert [c.name for c in same["cron_jobs"]] == [c.name for c in worker.cron_jobs]


def test_the_in_process_runner_uses_the_same_registry():
    settings = Settings.from_env({"MAIL_MAX_ATTEMPTS": "5"})
    queue = queue_for(settings, JOBS)
    assert isinstance(queue, InProcessQueue)
    assert queue.functions == {f.__name__: f for f in JOBS.functions}
    assert queue.schedule == JOBS.schedule
    assert queue.max_tries == 5
    arq_options = worker_settings(Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/9"}))
    assert [c.coroutine for c in arq_options["cron_jobs"]] == [c.function for c in JOBS.schedule]
    assert arq_options["functions"] == list(JOBS.functions)


async def test_the_in_process_runner_runs_the_schedule():
    queue = InProcessQueue(
        Settings.from_env({}), Jobs(functions=(), schedule=(Cron(_job, every=1),))
    )
    queue.runs = []  # type: ignore[attr-defined]
    await queue.start()
    try:
        await asyncio.sleep(1.3)
    finally:
        await queue.close()
    assert queue.runs == ["cron"]  # type: ignore[attr-defined]
