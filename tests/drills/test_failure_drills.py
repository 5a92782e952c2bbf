"""Failure drills (issue 3): Redis, the worker and the SMTP server fail; no mail is lost or
sent more often than promised. Real PostgreSQL, redis-server, `jcan worker` processes and an
SMTP server (aiosmtpd) the drill controls.

Each drill runs its own redis-server without persistence, on a free port: R1 stops and
restarts it, and R2's killed worker leaves its job behind in Redis; the shared Redis of
TEST_REDIS_URL is never touched (TEST_REDIS_URL only says the real services are there).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app import cpu
from app.db import utcnow
from app.mail.tables import FAILED, PENDING, SENDING, SENT, OutboxMessage
from tests.drills.services import JCAN, DrillSink, RedisServer, WorkerProcess, wait_until
from tests.helpers import register
from tests.support.services import TEST_DATABASE_URL, TEST_REDIS_URL

if not (TEST_DATABASE_URL and TEST_REDIS_URL):
    pytest.skip(
        "failure drills need the real services: set TEST_DATABASE_URL and TEST_REDIS_URL "
        "(make test-drills)",
        allow_module_level=True,
    )


Spawn = Callable[..., WorkerProcess]
APPLICANT = "taro@example.com"
RELAY_DONE = "← cron:relay_outbox ●"


async def the_row() -> dict[str, Any]:
    rows = await OutboxMessage.select()
    assert len(rows) == 1, rows
    return dict(rows[0])


async def row_when(
    condition: Callable[[dict[str, Any]], bool], timeout: float, *workers: WorkerProcess
) -> dict[str, Any]:
    """The outbox row once `condition` holds; on timeout the row and the worker logs say why."""

    async def check() -> dict[str, Any] | None:
        row = await the_row()
        return row if condition(row) else None

    try:
        result: dict[str, Any] = await wait_until(check, timeout, "the outbox row")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {await the_row()}\n{workers}") from None
    return result


async def registered(portal: Any) -> dict[str, Any]:
    response = await register(portal)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"].endswith("/register/complete")
    return await the_row()


def copies_of(sink: DrillSink) -> list[str]:
    """The Message-ID of every copy the applicant's mail server received."""
    return [m["Message-ID"].strip() for m in sink.to(APPLICANT)]


async def test_r1_redis_down_at_registration_the_relay_delivers_once_it_returns(
    portal: Any, redis_server: RedisServer, sink: DrillSink, spawn_worker: Spawn
) -> None:
    redis_server.stop()

    row = await registered(portal)
    assert (row["status"], row["attempts"]) == (PENDING, 0)

    redis_server.start()  # the same port
    worker = spawn_worker()
    row = await row_when(lambda r: r["status"] == SENT, 30, worker)
    await asyncio.sleep(1.5)  # room for a second copy, if one were coming

    assert copies_of(sink) == [row["message_id"]]
    assert row["attempts"] == 1
    assert "relay enqueued 1 pending message(s)" in worker.log(), worker


async def test_r2_a_worker_killed_mid_send_is_replaced_and_sends_at_most_twice(
    portal: Any, sink: DrillSink, spawn_worker: Spawn
) -> None:
    sink.delays = [30.0]  # the first DATA answer never comes while the first worker lives
    await registered(portal)
    first = spawn_worker()
    await wait_until(lambda: sink.messages, 30, f"the first send to reach DATA {first}")
    claimed = await row_when(lambda r: r["status"] == SENDING, 5, first)

    first.send(signal.SIGKILL)
    assert await first.exited(5) == -signal.SIGKILL
    # The new worker's startup relay must see the claim as stale (older than 2 s).
    stale_at = claimed["claimed_at"] + timedelta(seconds=2.5)
    await asyncio.sleep(max((stale_at - utcnow()).total_seconds(), 0))
    second = spawn_worker(MAIL_CLAIM_TIMEOUT="2")

    row = await row_when(lambda r: r["status"] == SENT, 30, second)
    assert "re-enqueued 1 message(s) whose worker died mid-send" in second.log(), second
    assert row["attempts"] == 2
    copies = copies_of(sink)
    assert 1 <= len(copies) <= 2
    assert set(copies) == {row["message_id"]}


async def test_r3_an_unreachable_smtp_server_is_retried_with_backoff_until_it_returns(
    portal: Any, sink: DrillSink, spawn_worker: Spawn
) -> None:
    sink.stop()
    await registered(portal)
    worker = spawn_worker(MAIL_RETRY_BASE_SECONDS="1", SMTP_TIMEOUT="2")

    first_seen: dict[int, float] = {}

    async def third_failure() -> dict[str, Any] | None:
        row = await the_row()
        first_seen.setdefault(row["attempts"], time.monotonic())
        return row if row["attempts"] >= 3 and row["status"] == PENDING else None

    row = await wait_until(third_failure, 30, f"three failed attempts {worker}")
    assert "SMTPConnectError" in row["last_error"], row
    assert row["next_attempt_at"] > utcnow()
    assert row["sent_at"] is None
    # Backoff: 1 s before the second attempt, 2 s before the third (plus arq's poll delay).
    assert 0.9 <= first_seen[2] - first_seen[1] < first_seen[3] - first_seen[2]
    assert first_seen[3] - first_seen[2] >= 1.9

    sink.start()  # back on the same port
    row = await row_when(lambda r: r["status"] == SENT, 30, worker)
    assert row["attempts"] >= 4
    assert copies_of(sink) == [row["message_id"]]


async def test_r3_a_permanent_refusal_fails_the_row_once_and_operators_see_it(
    portal: Any,
    sink: DrillSink,
    spawn_worker: Spawn,
    worker_environment: Callable[..., dict[str, str]],
) -> None:
    sink.data_reply = "554 5.7.1 Message rejected"
    await registered(portal)
    worker = spawn_worker(MAIL_RETRY_BASE_SECONDS="1")

    row = await row_when(lambda r: r["status"] == FAILED, 30, worker)
    assert row["attempts"] == 1 and "554" in row["last_error"]
    # No retry storm: with 1 s backoff a retry would show within these seconds.
    for _ in range(30):
        await asyncio.sleep(0.1)
        again = await the_row()
        assert (again["status"], again["attempts"]) == (FAILED, 1), again
    assert sink.data_commands == 1 and sink.messages == []

    listing = await asyncio.create_subprocess_exec(
        str(JCAN),
        "outbox",
        "list",
        "--failed",
        env=worker_environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(listing.communicate(), 30)
    finally:
        if listing.returncode is None:
            listing.kill()
            await listing.wait()
    text = output.decode()
    assert listing.returncode == 0, text
    line = next(line for line in text.splitlines() if line.startswith(f"{row['id']}\t"))
    assert "\tfailed\t" in line and "attempts=1" in line and "554" in line
    assert APPLICANT not in text  # operators see the domain only


async def test_r4_sigterm_lets_the_send_under_way_finish_before_the_worker_exits(
    portal: Any, sink: DrillSink, spawn_worker: Spawn
) -> None:
    sink.delays = [2.0]
    await registered(portal)
    worker = spawn_worker()
    await wait_until(lambda: sink.messages, 30, f"the send to reach DATA {worker}")
    await row_when(lambda r: r["status"] == SENDING, 5, worker)

    worker.send(signal.SIGTERM)
    assert await worker.exited(30) == 0, worker
    assert sink.answered == 1
    row = await the_row()  # the worker is gone: it recorded this before exiting
    assert row["status"] == SENT and row["attempts"] == 1

    # A fresh worker's relay does not send it again.
    fresh = spawn_worker(MAIL_CLAIM_TIMEOUT="2")
    await wait_until(lambda: RELAY_DONE in fresh.log(), 30, f"the startup relay {fresh}")
    await asyncio.sleep(0.5)
    assert copies_of(sink) == [row["message_id"]]
    assert (await the_row())["attempts"] == 1


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def test_the_worker_runs_niced_and_its_key_pool_lower_still(spawn_worker: Spawn) -> None:
    """WORKER_NICENESS lowers `jcan worker`'s CPU priority; the key-generation processes its
    startup spawns (app.issuance.cpu BACKGROUND) run 10 lower still (nice caps at 19)."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    worker = spawn_worker(WORKER_NICENESS="4")
    pid = worker.process.pid
    pool_nice = min(19, base + 4 + cpu.NICENESS[cpu.BACKGROUND])

    def pool_started() -> bool:
        niceness = []
        for child in _children(pid):
            with contextlib.suppress(ProcessLookupError):  # a child that ended meanwhile
                niceness.append(os.getpriority(os.PRIO_PROCESS, child))
        return niceness.count(pool_nice) >= cpu.size()

    await wait_until(pool_started, 60, f"the key pool's processes {worker}")
    assert os.getpriority(os.PRIO_PROCESS, pid) == base + 4


async def test_a_worker_killed_while_its_key_pool_starts_leaves_no_process(
    spawn_worker: Spawn,
) -> None:
    """SIGKILL while the pool's interpreters are still starting (before they could ask to die
    with their parent): they notice the orphaning themselves and end, with the tracker."""
    worker = spawn_worker()
    pid = worker.process.pid
    await wait_until(lambda: len(_children(pid)) >= 2, 60, f"the key pool to spawn {worker}")
    children = _children(pid)
    worker.send(signal.SIGKILL)
    assert await worker.exited(5) == -signal.SIGKILL

    def all_gone() -> bool:
        return not any(Path(f"/proc/{child}").exists() and _alive(child) for child in children)

    await wait_until(all_gone, 60, f"the pool's processes {children} to end")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
