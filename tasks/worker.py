"""arq WorkerSettings: wiring only (functions, cron jobs, startup/shutdown).

Run with `jcan worker` (or `arq tasks.worker.WorkerSettings`: the same options, read from the
environment when arq asks for them). The worker exits when Redis goes away: run it under a
supervisor that restarts it (the container's restart policy).
"""

from __future__ import annotations

from typing import Any

import httpx

from app import cpu, db
from app.jobs import ArqQueue, deserialize, max_tries, redis_settings, serialize
from app.mail.backends import backend_for
from app.schema import TABLES
from app.settings import Settings
from tasks.issue_certificate import prepare_worker
from tasks.registry import JOBS

# Jobs run at once (arq's default is ten): see worker_settings.
MAX_JOBS = 20


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or Settings.from_env()
    if not ctx.get("tables_bound"):
        # A worker process: its own engine and pool for every table. (A worker inside a
        # process whose tables are bound already, the tests', must not take them over: the
        # app's transactions would then run their statements on another engine's pool.)
        engine = db.engine_for(settings.database)
        db.bind_tables(engine, TABLES)
        await db.start(engine, settings.database)
        ctx["engine"] = engine
    ctx.update(settings=settings, queue=ArqQueue(settings, ctx["redis"]))
    # One backend for the worker's life, so SMTP connections are reused between jobs.
    ctx.setdefault("mail_backend", backend_for(settings.mail, concurrency=MAX_JOBS))
    # One HTTP client for the webhooks: a client per delivery built its TLS context (the CA
    # bundle parsed, ~3 ms of CPU) and a new connection every time.
    ctx.setdefault("http_client", httpx.AsyncClient(follow_redirects=False))
    await prepare_worker(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    cpu.shutdown()
    client = ctx.get("http_client")
    if client is not None:
        await client.aclose()
    close = getattr(ctx.get("mail_backend"), "close", None)
    if close is not None:
        await close()
    if "engine" in ctx:
        await db.stop(ctx["engine"])


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq.Worker, from our settings."""
    return {
        "functions": list(JOBS.functions),
        "cron_jobs": [job.arq_job() for job in JOBS.schedule],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.jobs.redis_url),
        "queue_name": settings.jobs.queue_name,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "max_tries": max_tries(settings),
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


def __getattr__(name: str) -> Any:
    """`WorkerSettings` for `arq tasks.worker.WorkerSettings` (and its `--check`): arq accepts
    a dict of Worker options. Built when arq asks for it, so importing this module reads no
    environment."""
    if name == "WorkerSettings":
        return worker_settings(Settings.from_env())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
