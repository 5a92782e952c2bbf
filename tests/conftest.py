"""Test wiring: a fresh database (SQLite file, or a new PostgreSQL database when
TEST_DATABASE_URL is set), jobs in-process or through arq on the real Redis (TEST_REDIS_URL),
and a real SMTP sink (aiosmtpd) receiving every mail."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.services import RUN_ID, TEST_DATABASE_URL, TEST_REDIS_URL, Sink

_TMP = Path(tempfile.mkdtemp(prefix="jcan-test-"))


def _database_url() -> str:
    if not TEST_DATABASE_URL:
        return ""
    parts = urlsplit(TEST_DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/jcan_test_{RUN_ID}"))


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _xdist_controller(config: pytest.Config) -> bool:
    """The pytest-xdist process that only hands tests to its workers (each worker makes its
    own database, VAR_DIR and SMTP sink under its own RUN_ID)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # Piccolo's tooling reads its engine from the environment: set it before any import.
    os.environ["PICCOLO_CONF"] = "app.piccolo_conf"
    os.environ["APP_ENV"] = "test"
    os.environ["VAR_DIR"] = str(_TMP)
    if _xdist_controller(config):
        return
    if TEST_DATABASE_URL:
        os.environ["DATABASE_URL"] = _database_url()
        asyncio.run(_admin(f'CREATE DATABASE "jcan_test_{RUN_ID}"'))
    else:
        os.environ.pop("DATABASE_URL", None)
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = asyncio.run(run_forwards(app_name="all", migration_id="all", fake=False))
    assert result.success, result.message


def pytest_unconfigure(config: pytest.Config) -> None:
    if _xdist_controller(config):
        return
    from tests.support import cli

    cli.stop()
    if TEST_DATABASE_URL:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "jcan_test_{RUN_ID}" WITH (FORCE)'))


def pytest_report_header(config: pytest.Config) -> str:
    database = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
    jobs = "arq on Redis" if TEST_REDIS_URL else "in-process runner"
    return f"jcan: database={database}, jobs={jobs}, mail=SMTP sink"


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[Sink]:
    sink = Sink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="session")
def settings(smtp_sink: Sink) -> Any:
    from app.settings import Settings

    base = Settings.from_env(
        {
            "APP_ENV": "test",
            "VAR_DIR": str(_TMP),
            "DATABASE_URL": _database_url(),
            "REDIS_URL": TEST_REDIS_URL,
            "JOB_QUEUE_NAME": f"jcan:test:{RUN_ID}",
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_sink.port),
            "SMTP_TIMEOUT": "5",
            "RATE_LIMIT_PER_MINUTE": "100000",
            "CONSOLE_LOGIN_PER_MINUTE": "100000",
            "BASE_URL": "http://testserver.local",
            "DOCUMENT_KEY": "dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE",
        }
    )
    return base


@pytest.fixture(scope="session")
async def arq_worker(settings: Any) -> AsyncIterator[Any]:
    """The real arq worker on the real Redis, in this event loop (only with TEST_REDIS_URL)."""
    if not settings.jobs.redis_url:
        yield None
        return
    from arq.worker import Worker

    from tasks.worker import worker_settings

    options = worker_settings(settings) | {
        "poll_delay": 0.05,
        "cron_jobs": [],
        # The app of each test binds the tables to its engine; the worker uses that binding.
        "ctx": {"settings": settings, "tables_bound": True},
    }
    worker = Worker(**options)
    task = asyncio.create_task(worker.async_run())
    yield worker
    await worker.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def app(settings: Any, arq_worker: Any) -> AsyncIterator[Any]:
    from app.asgi import create_app

    application = create_app(settings)
    yield application


@pytest.fixture
async def client(app: Any, smtp_sink: Sink) -> AsyncIterator[Any]:
    """The app's client (tests.helpers.serving) with fresh demo data and an empty SMTP sink."""
    from tests.helpers import add_demo_data, clean_database, serving

    async with serving(app) as test_client:
        # The database first: an outbox row a previous test left can then no longer be
        # claimed and delivered into this test's sink after it was emptied.
        await clean_database()
        smtp_sink.messages.clear()
        smtp_sink.reply = None
        await add_demo_data(test_client)
        yield test_client


@pytest.fixture
def variant(settings: Any) -> Any:
    """Build settings variants for one test: variant(security=..., registration=...)."""

    def make(**sections: dict[str, Any]) -> Any:
        result = settings
        for name, changes in sections.items():
            result = replace(result, **{name: replace(getattr(result, name), **changes)})
        return result

    return make


@pytest.fixture(scope="session")
def django_ca_server() -> Iterator[Any]:
    """A real django-ca 3.2 server (own cached virtualenv, a fresh test CA, a free port),
    started on first use and stopped at the end of the session. JCAN_SKIP_DJANGO_CA=1 skips
    the tests that need it."""
    if os.environ.get("JCAN_SKIP_DJANGO_CA") == "1":
        pytest.skip("JCAN_SKIP_DJANGO_CA=1")
    from tests.support.django_ca import running_server

    with running_server() as server:
        yield server
