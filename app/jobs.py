"""The job pipeline: enqueue "please look at row N" on arq (Redis) or run it in-process.

The database is the source of truth; a lost enqueue is repaired by the relay cron job. The
jobs themselves and their schedule are declared once, in tasks/registry.py, and handed to the
queue by create_app and the CLI (this module never imports tasks/).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Retry

from app.settings import Settings

log = logging.getLogger("jcan.jobs")

JobFunction = Callable[..., Awaitable[Any]]

# The clock fields of a cron time, smallest first: (arq's name, its size in seconds, its span).
_CLOCK = (("second", 1, 60), ("minute", 60, 3600), ("hour", 3600, 86400))


@dataclass(frozen=True)
class Cron:
    """A job run every `every` seconds, `offset` seconds into each period: arq runs it at
    those wall-clock times (every=3600, offset=420: at minute 7 of every hour), the in-process
    runner every `every` seconds from its start. `run_at_startup` is arq's: the in-process
    runner's first run comes one period after the app starts."""

    function: JobFunction
    every: int
    offset: int = 0
    run_at_startup: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.offset < self.every:
            raise ValueError(f"offset {self.offset} is not within the period {self.every}")
        self.clock()  # a period that no cron time can express fails here, not in the worker

    def clock(self) -> dict[str, int | set[int]]:
        """arq's cron fields for this schedule: second, and minute and hour where needed."""
        for index, (name, size, span) in enumerate(_CLOCK):
            if self.every % size == 0 and span % self.every == 0:
                fields: dict[str, int | set[int]] = {
                    smaller: (self.offset // smaller_size) % (smaller_span // smaller_size)
                    for smaller, smaller_size, smaller_span in _CLOCK[:index]
                }
                step, start = self.every // size, self.offset // size
                times = {(start + k * step) % (span // size) for k in range(span // self.every)}
                fields[name] = times.pop() if len(times) == 1 else times
                return fields
        raise ValueError(f"every={self.every}s is no cron period (it must divide a day)")

    def arq_job(self) -> CronJob:
        clock = self.clock()
        return cron(
            cast(WorkerCoroutine, self.function),
            hour=clock.get("hour"),
            minute=clock.get("minute"),
            second=clock["second"],
            run_at_startup=self.run_at_startup,
            unique=True,
        )


@dataclass(frozen=True)
class Jobs:
    """The job functions (by their names) and the schedule: one registry for both runners."""

    functions: tuple[JobFunction, ...]
    schedule: tuple[Cron, ...]

    def by_name(self) -> dict[str, JobFunction]:
        return {f.__name__: f for f in self.functions}


def max_tries(settings: Settings) -> int:
    """Attempts of a job that raises Retry, in arq and in-process alike."""
    return settings.mail.max_attempts


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
    and the same schedule (relay every minute, sweep every hour)."""

    def __init__(self, settings: Settings, jobs: Jobs) -> None:
        self.settings = settings
        self.functions = jobs.by_name()
        self.schedule = jobs.schedule
        self.max_tries = max_tries(settings)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[str] = set()

    def context(self) -> dict[str, Any]:
        return {"settings": self.settings, "queue": self}

    async def start(self) -> None:
        for job in self.schedule:
            self._spawn(self._periodic(job.function, job.every))

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None) -> None:
        key = job_id or ""
        if key and key in self._running:
            return  # like arq: one job per id at a time
        if key:
            self._running.add(key)
        self._spawn(self._run(self.functions[function], args, key))

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


def queue_for(settings: Settings, jobs: Jobs) -> JobQueue:
    """arq on Redis when REDIS_URL is set (`jcan worker` runs the jobs), else in-process."""
    if settings.jobs.redis_url:
        return ArqQueue(settings)
    return InProcessQueue(settings, jobs)
