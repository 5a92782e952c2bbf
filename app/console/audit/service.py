"""Writing and reading the audit log: record() appends one hash-chained row in the caller's
transaction; verify() walks the whole chain; head() is the hash to anchor elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from app.console.audit import chain
from app.console.audit.tables import AuditEvent
from app.db import utcnow

# Appends are serialised: on PostgreSQL by this transaction-scoped advisory lock (held until
# the caller's commit or rollback), on SQLite by the write lock every write transaction takes
# first (BEGIN IMMEDIATE). Two writers therefore never read the same head.
APPEND_LOCK = 0x6A63616E  # "jcan"
LAST = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
INSERT = (
    "INSERT INTO audit_event "
    "(seq, at, actor, action, target, client, outcome, details, prev_hash, hash) "
    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id"
)
BATCH = 10_000
PAGE = (
    "SELECT seq, at, actor, action, target, client, outcome, details, prev_hash, hash "
    "FROM audit_event WHERE seq > {} ORDER BY seq LIMIT {}"
)
MAX_TEXT = {"actor": 80, "action": 64, "target": 120, "client": 64, "outcome": 16}


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
    event and the change commit or vanish together). Never pass passwords, codes, tokens or
    document contents in `details` (documents by id only). Returns the row's seq."""
    engine = AuditEvent._meta.db
    if isinstance(engine, PostgresEngine):
        await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", APPEND_LOCK)
    last = await AuditEvent.raw(LAST)
    seq = int(last[0]["seq"]) + 1 if last else 1
    prev_hash = str(last[0]["hash"]) if last else chain.GENESIS
    fields = {"actor": actor, "action": action, "target": target, "client": client}
    fields |= {"outcome": outcome}
    row = {
        "seq": seq,
        "at": now or utcnow(),
        **{name: value[: MAX_TEXT[name]] for name, value in fields.items()},
        "details": chain.canonical_details(details),
    }
    digest = chain.link(prev_hash, row)
    await AuditEvent.raw(
        INSERT,
        *(row["seq"], row["at"], row["actor"], row["action"], row["target"], row["client"]),
        *(row["outcome"], row["details"], prev_hash, digest),
    )
    return seq


async def verify() -> chain.Verdict:
    """Walk the chain in seq order, in keyset batches; the first row that does not belong."""
    walk = chain.Walk()
    after = 0
    while True:
        rows = await AuditEvent.raw(PAGE, after, BATCH)
        if not rows or not walk.feed(rows):
            return walk.verdict()
        after = int(rows[-1]["seq"])


async def head() -> tuple[int, str]:
    """(rows, hash of the last row): what to write down outside the database."""
    last = await AuditEvent.raw(LAST)
    return (int(last[0]["seq"]), str(last[0]["hash"])) if last else (0, chain.GENESIS)
