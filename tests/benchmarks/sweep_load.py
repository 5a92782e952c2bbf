"""Sweep: a million dead access tokens (beside 100,000 live ones) removed by the sweep job,
against one raw DELETE of the same rows. Rows are made inside PostgreSQL (generate_series)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app import db
from app.registration.links import EXPIRED_TOKEN_GRACE
from app.schema import TABLES
from app.settings import Settings
from tasks.sweep import sweep_expired

DEAD = 1_000_000
LIVE = 100_000


@dataclass(frozen=True)
class SweepResult:
    job_seconds: float
    job_runs: int
    raw_seconds: float
    dead: int
    live: int

    @property
    def ratio(self) -> float:
        return self.job_seconds / self.raw_seconds


async def _registration(connection: asyncpg.Connection) -> tuple[int, int]:
    """(registration id, ticket id): one registration that every bench token belongs to."""
    ticket = await connection.fetchrow("SELECT id, company FROM ticket ORDER BY id LIMIT 1")
    registration = await connection.fetchval(
        "INSERT INTO registration (public_id, applicant_type, company, ticket, email, created_at)"
        " VALUES ('BENCHSWEEP0000000000000000', 'self', $1, $2, 'sweep@example.jp', now())"
        " RETURNING id",
        ticket["company"],
        ticket["id"],
    )
    return int(registration), int(ticket["id"])


async def _insert_tokens(
    connection: asyncpg.Connection, label: str, count: int, expires: str, owner: tuple[int, int]
) -> None:
    """`count` unused tokens expiring at `expires` (an SQL expression of i), made in one
    statement. Their hashes ascend (64 hex digits, distinct), so the unique index is
    appended to rather than split at random: the rows come fast, and deleting does not
    touch that index anyway."""
    await connection.execute(
        "INSERT INTO access_token (token_hash, registration, ticket, created_at, expires_at)"
        f" SELECT left(md5('{label}'), 16) || lpad(to_hex(i), 48, '0'), $1, $2, now(), {expires}"
        " FROM generate_series(1, $3) AS i",
        owner[0],
        owner[1],
        count,
    )
    await connection.execute("VACUUM ANALYZE access_token")
    # Both deletions start from the same state: no checkpoint of the inserts under way.
    await connection.execute("CHECKPOINT")


async def _dead_tokens(connection: asyncpg.Connection, label: str, owner: tuple[int, int]) -> None:
    # Expired 8 to 38 days ago: past the sweep's 7-day grace, spread like real expiries.
    expires = "now() - interval '8 days' - (i % 43200) * interval '1 minute'"
    await _insert_tokens(connection, label, DEAD, expires, owner)


async def _remaining(connection: asyncpg.Connection, owner: tuple[int, int]) -> tuple[int, int]:
    """(live, expired) bench tokens left (the registration load's own tokens aside)."""
    row = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE expires_at > now()) AS live,"
        " count(*) FILTER (WHERE expires_at <= now()) AS dead"
        " FROM access_token WHERE registration = $1",
        owner[0],
    )
    return int(row["live"]), int(row["dead"])


async def run(settings: Settings) -> SweepResult:
    connection: Any = await asyncpg.connect(settings.database.url)
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        owner = await _registration(connection)
        await _insert_tokens(
            connection, "live", LIVE, "now() + (1 + i % 72) * interval '1 hour'", owner
        )

        await _dead_tokens(connection, "dead-a", owner)
        cutoff = datetime.now(UTC) - EXPIRED_TOKEN_GRACE
        started = time.perf_counter()
        await connection.execute(
            "DELETE FROM access_token WHERE expires_at <= $1 AND used_at IS NULL", cutoff
        )
        raw_seconds = time.perf_counter() - started
        assert await _remaining(connection, owner) == (LIVE, 0), "the raw DELETE missed rows"

        await _dead_tokens(connection, "dead-b", owner)
        runs = 0
        started = time.perf_counter()
        while True:  # the job runs again and again (as its cron would) until nothing is left
            runs += 1
            counts = await sweep_expired({"settings": settings})
            if counts["access_tokens"] == 0:
                break
        job_seconds = time.perf_counter() - started
        assert await _remaining(connection, owner) == (LIVE, 0), (
            "the sweep left dead tokens or ate live"
        )
    finally:
        await db.stop(engine)
        await connection.close()
    return SweepResult(job_seconds, runs, raw_seconds, DEAD, LIVE)
