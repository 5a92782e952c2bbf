"""Writing and reading the audit log: record() appends one hash-chained row in the caller's
transaction; verify() walks the whole chain; head() is the hash to anchor elsewhere."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import TransactionType

from app.console.audit import chain
from app.console.audit.tables import AuditEvent
from app.db import fetch, utcnow, write_transaction

# Appends are serialised: on PostgreSQL by this transaction-scoped advisory lock (held until
# the caller's commit or rollback), on SQLite by the write lock every write transaction takes
# first (BEGIN IMMEDIATE). Two writers therefore never read the same head; and were they to,
# the unique seq and hash would refuse the second row rather than fork the chain.
APPEND_LOCK = 0x6A63616E  # "jcan"
# On PostgreSQL the lock, the head and the insert are one statement, the function
# audit_append() (migration jcan_2026_12_02t15_38_12_504211, the chain's hash computed as
# chain.link does): a view recorded outside a transaction is one round trip, not five.
PG_APPEND = "SELECT audit_append({}, {}, {}, {}, {}, {}, {}) AS seq"
LAST = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
INSERT = (
    "INSERT INTO audit_event "
    "(seq, at, actor, action, target, client, outcome, details, prev_hash, hash) "
    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
)
MAX_TEXT = {"actor": 80, "action": 64, "target": 120, "client": 64, "outcome": 16}
# Keys that would put a secret into the log (details are kept for years and shown to
# auditors): refused, at any depth.
SECRET_KEY = re.compile(r"password|passwd|passphrase|secret|token|otp|^(code|recovery_code)$", re.I)

BATCH = 10_000
COLUMNS = "seq, {at}, actor, action, target, client, outcome, details, prev_hash, hash"
# PostgreSQL formats the time itself (canonical text, UTC, microseconds): cheaper than a
# datetime per row in Python, and the same text chain.canonical_time() gives.
PG_AT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
PG_PAGE = f"SELECT {COLUMNS.format(at=PG_AT)} FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2"
SQLITE_PAGE = (
    f"SELECT {COLUMNS.format(at='at')} FROM audit_event WHERE seq > {{}} ORDER BY seq LIMIT {{}}"
)


class SecretInDetails(ValueError):
    """A details key that names a secret (the log must never hold one)."""


def _check_details(details: Mapping[str, Any]) -> None:
    for key, value in details.items():
        if SECRET_KEY.search(str(key)):
            raise SecretInDetails(f"audit details must not carry secrets: {key!r}")
        if isinstance(value, Mapping):
            _check_details(value)


async def record(
    action: str,
    *,
    actor: str,
    target: str = "",
    outcome: str = "ok",
    client: str = "",
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """Append one event; call inside the write transaction of the change it records (so the
    event and the change commit or vanish together), preferably as its last statement (the
    append lock is held until commit). An event with no change of its own (a refused sign-in,
    a view, an export) may be recorded outside a transaction: it then gets one of its own.
    Never pass passwords, codes, tokens or document contents in `details` (documents by id
    only; keys naming secrets are refused). Returns the row's seq."""
    if details:
        _check_details(details)
    engine = AuditEvent._meta.db
    if isinstance(engine, PostgresEngine):
        # One statement: atomic on its own, or part of the caller's transaction.
        return await _append_pg(action, actor, target, outcome, client, details, now)
    transaction = engine.current_transaction.get()
    if transaction is None:
        async with write_transaction(engine):
            return await _append(action, actor, target, outcome, client, details, now)
    if getattr(transaction, "transaction_type", None) == TransactionType.deferred:
        # A deferred transaction may have read an old head before another writer committed.
        raise RuntimeError("audit.record() needs app.db.write_transaction (BEGIN IMMEDIATE)")
    return await _append(action, actor, target, outcome, client, details, now)


def _fields(action: str, actor: str, target: str, outcome: str, client: str) -> dict[str, str]:
    """The row's texts, each cut to its column's length."""
    fields = {"actor": actor, "action": action, "target": target, "client": client}
    fields |= {"outcome": outcome}
    return {name: value[: MAX_TEXT[name]] for name, value in fields.items()}


async def _append_pg(
    action: str,
    actor: str,
    target: str,
    outcome: str,
    client: str,
    details: Mapping[str, Any] | None,
    now: datetime | None,
) -> int:
    at = now or utcnow()
    chain.canonical_time(at)  # refuses a naive time before anything is written
    f = _fields(action, actor, target, outcome, client)
    rows = await fetch(
        AuditEvent,
        PG_APPEND,
        *(at, f["actor"], f["action"], f["target"], f["client"], f["outcome"]),
        chain.canonical_details(details),
    )
    return int(rows[0]["seq"])


async def _append(
    action: str,
    actor: str,
    target: str,
    outcome: str,
    client: str,
    details: Mapping[str, Any] | None,
    now: datetime | None,
) -> int:
    """The SQLite append (inside its IMMEDIATE transaction): read the head, hash, insert."""
    last = await AuditEvent.raw(LAST)
    seq = int(last[0]["seq"]) + 1 if last else 1
    prev_hash = str(last[0]["hash"]) if last else chain.GENESIS
    at = now or utcnow()
    row = {
        "seq": seq,
        "at": chain.canonical_time(at),  # refuses a naive time before anything is written
        **_fields(action, actor, target, outcome, client),
        "details": chain.canonical_details(details),
    }
    digest = chain.link(prev_hash, row)
    await AuditEvent.raw(
        INSERT,
        *(row["seq"], at, row["actor"], row["action"], row["target"], row["client"]),
        *(row["outcome"], row["details"], prev_hash, digest),
    )
    return seq


async def stored_batches(batch: int = BATCH) -> AsyncGenerator[list[chain.StoredRow], None]:
    """Every row in seq order as chain.StoredRow tuples, `batch` at a time (keyset reads,
    raw SQL, no per-row objects but the tuple). On PostgreSQL the next batch is asked for
    before this one is handed over, so the database reads while the caller hashes."""
    engine = AuditEvent._meta.db
    if not isinstance(engine, PostgresEngine):
        async for rows in _sqlite_batches(batch):
            yield rows
        return
    pool = engine.pool
    connection = await (pool.acquire() if pool is not None else engine.get_new_connection())
    pending: asyncio.Future[Any] | None = None
    try:
        pending = asyncio.ensure_future(connection.fetch(PG_PAGE, 0, batch))
        while True:
            rows = await pending
            if not rows:
                return
            if len(rows) == batch:
                pending = asyncio.ensure_future(connection.fetch(PG_PAGE, rows[-1][0], batch))
                await asyncio.sleep(0)  # let it send the query
            yield rows
            if len(rows) < batch:
                return
    finally:
        if pending is not None and not pending.done():  # the caller stopped early
            await asyncio.gather(pending, return_exceptions=True)
        if pool is not None:
            await pool.release(connection)
        else:
            await connection.close()


async def _sqlite_batches(batch: int) -> AsyncIterator[list[chain.StoredRow]]:
    after = 0
    while True:
        found = await AuditEvent.raw(SQLITE_PAGE, after, batch)
        if not found:
            return
        rows: list[Any] = []
        for r in found:
            values = list(r.values())
            values[1] = chain.canonical_time(values[1])
            rows.append(tuple(values))
        yield rows
        after = int(rows[-1][0])


async def verify(anchor: chain.Anchor | None = None) -> chain.Verdict:
    """Walk the whole chain in seq order; the first row that does not belong, or, against an
    anchor written down earlier, the rows deleted or rewritten since."""
    walk = chain.Walk(anchor)
    batches = stored_batches()
    try:
        async for rows in batches:
            if not walk.feed(rows):
                break
    finally:
        await batches.aclose()
    return walk.verdict()


async def head() -> tuple[int, str]:
    """(rows, hash of the last row): what to write down outside the database."""
    last = await AuditEvent.raw(LAST)
    return (int(last[0]["seq"]), str(last[0]["hash"])) if last else (0, chain.GENESIS)
