"""The job pipeline: enqueue "please look at row N" on arq (Redis) or run it in-process.

The database is the source of truth; a lost enqueue is repaired by the relay cron job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Retry

from app.settings import Settings

log = logging.getLogger("jcan.jobs")

JobFunction = Callable[..., Awaitable[Any]]


def serialize(data: dict[str, Any]) -> bytes:
    """arq's job serializer: JSON, never pickle."""
    return json.dumps(data, default=str).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(data)
    return result


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


class JobQueue(Protocol):
    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class ArqQueue:
    """Enqueues onto Redis for `jcan worker`. Best effort: failures are logged, never raised."""

    def __init__(self, settings: Settings, redis: ArqRedis | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self._owns_redis = redis is None

    async def start(self) -> None:
        if self.redis is None:
            try:
                self.redis = await self._connect()
            except Exception as exc:  # Redis down: the relay delivers later
                log.warning("Redis unavailable at start (%s); jobs wait for the relay", exc)

    async def _connect(self) -> ArqRedis:
        return await create_pool(
            redis_settings(self.settings.jobs.redis_url),
            default_queue_name=self.settings.jobs.queue_name,
            job_serializer=serialize,
            job_deserializer=deserialize,
            retry=0,
        )

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None:
        try:
            if self.redis is None:
                self.redis = await self._connect()
            queue_name = self.settings.jobs.queue_name
            # arq job ids are global to the Redis database: scope them to our queue.
            await self.redis.enqueue_job(
                function,
                *args,
                _job_id=f"{queue_name}:{job_id}" if job_id else None,
                _queue_name=queue_name,
            )
        except Exception as exc:
            log.warning("enqueue of %s failed (%s); the relay will pick it up", function, exc)

    async def close(self) -> None:
        if self.redis is not None and self._owns_redis:
            await self.redis.aclose()
            self.redis = None


class InProcessQueue:
    """Runs the same job functions in this process (no REDIS_URL), with the same retries
    and the same cron jobs (relay every minute, sweep every hour)."""

    def __init__(
        self,
        settings: Settings,
        functions: dict[str, JobFunction] | None = None,
        cron: list[tuple[JobFunction, float]] | None = None,
        max_tries: int = 8,
    ) -> None:
        self.settings = settings
        self._functions = functions
        self._cron = cron
        self.max_tries = max_tries
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[str] = set()

    def _load(self) -> None:
        if self._functions is None or self._cron is None:
            from tasks.worker import CRON_SCHEDULE, FUNCTIONS

            functions: dict[str, JobFunction] = {
                f.__name__: cast(JobFunction, f) for f in FUNCTIONS
            }
            cron: list[tuple[JobFunction, float]] = list(CRON_SCHEDULE)
            self._functions = self._functions or functions
            self._cron = self._cron if self._cron is not None else cron

    def context(self) -> dict[str, Any]:
        return {"settings": self.settings, "queue": self}

    async def start(self) -> None:
        self._load()
        for function, every in self._cron or []:
            self._spawn(self._periodic(function, every))

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None:
        self._load()
        assert self._functions is not None
        key = job_id or ""
        if key and key in self._running:
            return  # like arq: one job per id at a time
        if key:
            self._running.add(key)
        self._spawn(self._run(self._functions[function], args, key))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, function: JobFunction, args: tuple[Any, ...], key: str) -> None:
        try:
            for attempt in range(1, self.max_tries + 1):
                ctx = {**self.context(), "job_try": attempt}
                try:
                    await function(ctx, *args)
                    return
                except Retry as retry:
                    delay = retry.defer_score / 1000 if retry.defer_score else 1.0
                    await asyncio.sleep(delay)
                except Exception:
                    log.exception("job %s failed", function.__name__)
                    return
        finally:
            self._running.discard(key)

    async def _periodic(self, function: JobFunction, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await function(self.context())
            except Exception:
                log.exception("periodic job %s failed", function.__name__)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the one-off jobs under way (tests, graceful shutdown)."""
        pending = [t for t in self._tasks if not t.get_coro().__qualname__.endswith("_periodic")]  # type: ignore[union-attr]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def close(self) -> None:
        await self.drain()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def queue_for(settings: Settings) -> JobQueue:
    if settings.jobs.redis_url:
        return ArqQueue(settings)
    return InProcessQueue(settings)
