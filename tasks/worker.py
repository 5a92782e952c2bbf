"""arq WorkerSettings: wiring only (functions, cron jobs, startup/shutdown).

Run with `jcan worker`. The worker exits when Redis goes away: run it under a supervisor
that restarts it (the container's restart policy).
"""

from __future__ import annotations

from typing import Any, ClassVar

from arq import cron

from app import db
from app.jobs import ArqQueue, deserialize, redis_settings, serialize
from app.mail.backends import backend_for
from app.settings import Settings
from tasks.relay import relay_outbox
from tasks.send_mail import send_mail
from tasks.sweep import sweep_expired

FUNCTIONS = [send_mail, relay_outbox, sweep_expired]
# Jobs run at once (arq's default is ten): see worker_settings.
MAX_JOBS = 20
# (function, seconds between runs) for the in-process runner; arq uses cron_jobs below.
CRON_SCHEDULE = [(relay_outbox, 60.0), (sweep_expired, 3600.0)]


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or Settings.from_env()
    if not ctx.get("tables_bound"):
        # A worker process: its own engine and pool for every table. (A worker inside a
        # process whose tables are bound already, the tests', must not take them over: the
        # app's transactions would then run their statements on another engine's pool.)
        engine = db.engine_for(settings.database)
        db.bind_tables(engine)
        await db.start(engine, settings.database)
        ctx["engine"] = engine
    ctx.update(settings=settings, queue=ArqQueue(settings, ctx["redis"]))
    # One backend for the worker's life, so SMTP connections are reused between jobs.
    ctx.setdefault("mail_backend", backend_for(settings.mail, concurrency=MAX_JOBS))


async def shutdown(ctx: dict[str, Any]) -> None:
    close = getattr(ctx.get("mail_backend"), "close", None)
    if close is not None:
        await close()
    if "engine" in ctx:
        await db.stop(ctx["engine"])


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq.Worker, from our settings."""
    return {
        "functions": FUNCTIONS,
        "cron_jobs": [
            cron(relay_outbox, second=0, run_at_startup=True, unique=True),
            cron(sweep_expired, minute=7, second=0, unique=True),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.jobs.redis_url),
        "queue_name": settings.jobs.queue_name,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "max_tries": settings.mail.max_attempts,
        "keep_result": 60,
        "job_timeout": 120,
        "job_completion_wait": 60,
        "health_check_interval": 30,
        # arq sleeps poll_delay after each batch it picks (default 0.5 s): with a backlog the
        # worker sat idle a third of the time (`make bench`); idle polling stays cheap.
        "poll_delay": 0.05,
        # A send mostly waits on the SMTP server, the database and Redis: twenty at a time
        # (arq's default is ten) keep the worker busy; each holds a pooled connection briefly.
        "max_jobs": MAX_JOBS,
        "ctx": {"settings": settings},
    }


class WorkerSettings:
    """For `arq tasks.worker.WorkerSettings` (and `--check`); `jcan worker` is the usual way."""

    functions: ClassVar[list[Any]] = FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = serialize
    job_deserializer = deserialize
