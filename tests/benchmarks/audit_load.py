"""Audit: `jcan audit verify`'s walk over a million chained rows, against a raw hashlib loop
over the same rows read the same way (the same batched reads; per row one sha256 of the
previous hash and the row's fields joined, with no canonical JSON and no checks). The rows
are chained in Python and COPYed in.

    python -m tests.benchmarks.audit_load      # alone, in a scratch database of its own
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app import db
from app.console.audit import chain, service
from app.schema import TABLES
from app.settings import Settings

ROWS = 1_000_000
ROUNDS = 2  # each side twice, alternating; the best of each (the machine is shared)
ACTIONS = ("operator.sign_in", "application.view", "document.view", "application.decide")
COLUMNS = ["seq", "at", "actor", "action", "target", "client", "outcome", "details"]


@dataclass(frozen=True)
class AuditResult:
    rows: int
    verify_seconds: float
    raw_seconds: float

    @property
    def ratio(self) -> float:
        return self.verify_seconds / self.raw_seconds


def _chained_rows(count: int) -> list[tuple[Any, ...]]:
    """`count` rows like the console's, each linked to the one before."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    head = chain.GENESIS
    rows = []
    for seq in range(1, count + 1):
        at = start + timedelta(milliseconds=37 * seq)
        values = (
            seq,
            chain.canonical_time(at),
            f"operator:{seq % 40}",
            ACTIONS[seq % len(ACTIONS)],
            f"application:JC-{seq % 9973:04d}-{seq % 7919:04d}",
            f"192.0.2.{seq % 250}",
            "ok" if seq % 17 else "refused",
            chain.canonical_details({"document": seq % 5000, "reason": "閲覧"}),
        )
        digest = hashlib.sha256(head.encode() + chain.canonical_values(*values)).hexdigest()
        rows.append((seq, at, *values[2:], head, digest))
        head = digest
    return rows


async def _load(url: str, count: int) -> None:
    connection: Any = await asyncpg.connect(url)
    try:
        await connection.execute("TRUNCATE audit_event")
        await connection.copy_records_to_table(
            "audit_event", records=_chained_rows(count), columns=[*COLUMNS, "prev_hash", "hash"]
        )
        await connection.execute("VACUUM ANALYZE audit_event")
    finally:
        await connection.close()


async def raw_loop() -> tuple[int, str]:
    """The floor: the same reads, one sha256 per row, nothing else."""
    sha256 = hashlib.sha256
    head = chain.GENESIS
    rows = 0
    async for batch in service.stored_batches():
        for row in batch:
            head = sha256((head + "\x1f".join(map(str, row[:8]))).encode()).hexdigest()
        rows += len(batch)
    return rows, head


async def run(settings: Settings, count: int = ROWS) -> AuditResult:
    await _load(settings.database.url, count)
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    verify_times, raw_times = [], []
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            verdict = await service.verify()
            verify_times.append(time.perf_counter() - started)
            assert verdict.ok and verdict.rows == count, verdict
            started = time.perf_counter()
            rows, _head = await raw_loop()
            raw_times.append(time.perf_counter() - started)
            assert rows == count
    finally:
        await db.stop(engine)
    return AuditResult(count, min(verify_times), min(raw_times))


async def _standalone(count: int) -> AuditResult:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    admin_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"jcan_bench_audit_{secrets.token_hex(4)}"
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    admin: Any = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ.update(DATABASE_URL=url, PICCOLO_CONF="app.piccolo_conf")
        migrated = await run_forwards(app_name="all", migration_id="all", fake=False)
        assert migrated.success, migrated.message
        return await run(Settings.from_env({"DATABASE_URL": url, "APP_ENV": "test"}), count)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else ROWS
    result = asyncio.run(_standalone(count))
    print(
        f"audit verify: {result.rows:,} rows in {result.verify_seconds:.2f} s, raw hashlib loop "
        f"{result.raw_seconds:.2f} s: {result.ratio:.2f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
