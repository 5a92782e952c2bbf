"""Fixtures of the failure drills: each drill gets its own redis-server, SMTP sink, queue name,
portal (the app in-process) and `jcan worker` processes; none of them outlives the drill."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RUN_ID, free_port
from tests.drills.services import (
    DrillSink,
    RedisServer,
    WorkerProcess,
    leftover_processes,
    marked_environment,
)


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """The final check: no redis-server or worker started by a drill is still running."""
    yield
    left = leftover_processes()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"drill processes left running (now killed): {left}"


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
    """An httpx client speaking ASGI to the app (web tier) of this drill, with fresh demo data:
    companies ISC and OTHER, three ISC tickets in `portal.tickets`."""
    import httpx

    from app.asgi import create_app
    from app.registration.companies import add_company, issue_tickets
    from tests.conftest import _clean

    application = create_app(drill_settings)
    services = application.state.services
    await services.start()
    try:
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local"
        ) as client:
            await _clean()
            await add_company("ISC", "インタセクト・コミュニケーションズ株式会社")
            await add_company("OTHER", "別会社株式会社")
            client.tickets = await issue_tickets("ISC", 3)  # type: ignore[attr-defined]
            client.captcha_key = services.captcha_key  # type: ignore[attr-defined]
            yield client
    finally:
        await services.stop()


@pytest.fixture
def worker_environment(drill_settings: Any) -> Callable[..., dict[str, str]]:
    """The environment of a `jcan worker` (or any `jcan` command) of this drill."""

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
        }
        return marked_environment(**(values | overrides))

    return environment


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
