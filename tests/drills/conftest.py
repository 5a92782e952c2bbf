"""Fixtures of the failure drills: each drill gets its own redis-server, SMTP sink, queue name,
portal (the app in-process) and `jcan worker` processes; none of them outlives the drill."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.drills.services import (
    DrillSink,
    RedisServer,
    WorkerProcess,
    command_line,
    leftover_processes,
    marked_environment,
)
from tests.support.services import RUN_ID, free_port


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """The final check: no redis-server or worker started by a drill is still running a few
    seconds after the last drill (a worker stopped at the last teardown may still be ending:
    its pool processes and multiprocessing's resource tracker leave just after it)."""
    yield
    deadline = time.monotonic() + 10.0
    left = leftover_processes()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftover_processes()
    described = [f"{pid}: {command_line(pid)}" for pid in left]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"drill processes left running (now killed): {described}"


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> str:
    """One arq queue per drill, so workers of different drills never share one."""
    return f"jcan:drill:{RUN_ID}:{request.node.name}"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sink() -> Iterator[DrillSink]:
    smtp = DrillSink(free_port())
    smtp.start()
    try:
        yield smtp
    finally:
        smtp.stop()


@pytest.fixture
def drill_settings(
    variant: Any, redis_server: RedisServer, sink: DrillSink, queue_name: str
) -> Any:
    return variant(
        jobs={"redis_url": redis_server.url, "queue_name": queue_name},
        mail={"smtp_port": sink.port, "smtp_timeout": 5.0},
    )


@pytest.fixture
async def portal(drill_settings: Any) -> AsyncIterator[Any]:
    """A client of the app (web tier) of this drill (tests.helpers.client_for), with fresh demo
    data (tests.helpers.add_demo_data): three ISC tickets in `portal.tickets`."""
    from tests.helpers import add_demo_data, client_for

    async with client_for(drill_settings) as client:
        await add_demo_data(client)
        yield client


@pytest.fixture
def worker_environment(drill_settings: Any) -> Callable[..., dict[str, str]]:
    """The environment of a `jcan worker` (or any `jcan` command) of this drill: the same
    database, Redis, queue, SMTP sink and CA as the drill's in-process portal."""

    def environment(**overrides: str) -> dict[str, str]:
        s = drill_settings
        values = {
            "DATABASE_URL": s.database.url,
            "REDIS_URL": s.jobs.redis_url,
            "JOB_QUEUE_NAME": s.jobs.queue_name,
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(s.mail.smtp_port),
            "SMTP_TIMEOUT": "5",
            "MAIL_CLAIM_TIMEOUT": "300",
            "MAIL_RETRY_BASE_SECONDS": "15",
            "MAIL_MAX_ATTEMPTS": "8",
            "PICCOLO_CONF": "app.piccolo_conf",
            "LOG_LEVEL": "INFO",
        } | ca_environment(s)
        return marked_environment(**(values | overrides))

    return environment


def ca_environment(settings: Any) -> dict[str, str]:
    """CA_BACKEND and, for django-ca, the DJANGO_CA_* settings of these settings (the local CA
    is found under VAR_DIR, which the workers inherit from the test process)."""
    if settings.ca.backend != "django-ca":
        return {"CA_BACKEND": settings.ca.backend}
    dca = settings.django_ca
    return {
        "CA_BACKEND": "django-ca",
        "DJANGO_CA_URL": dca.url,
        "DJANGO_CA_CA_SERIAL": dca.ca_serial,
        "DJANGO_CA_USERNAME": dca.username,
        "DJANGO_CA_PASSWORD": dca.password,
        "DJANGO_CA_TIMEOUT": str(dca.timeout),
        "DJANGO_CA_ORDER_TIMEOUT": str(dca.order_timeout),
    }


@pytest.fixture
def spawn_worker(
    worker_environment: Callable[..., dict[str, str]], tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `jcan worker` processes (environment overrides as keywords); all stopped after."""
    workers: list[WorkerProcess] = []

    def spawn(**overrides: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(workers) + 1}.log"
        worker = WorkerProcess(worker_environment(**overrides), log_path)
        workers.append(worker)
        return worker

    try:
        yield spawn
    finally:
        for worker in workers:
            worker.stop()
