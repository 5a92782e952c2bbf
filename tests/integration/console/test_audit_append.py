"""Appending to the audit log: concurrent writers leave one unforked chain; record() refuses
what would weaken the log (secrets in details, naive times, a deferred SQLite transaction);
the canonical JSON is exactly json.dumps' canonical form."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from app.console.audit import chain
from app.console.audit import service as audit
from app.console.audit.tables import AuditEvent
from app.db import write_transaction
from app.registration.tables import Company

WRITERS = 20


async def test_twenty_concurrent_writers_leave_one_unforked_chain(client: Any, app: Any) -> None:
    engine = app.state.services.engine
    started = asyncio.Event()

    async def writer(n: int) -> int:
        async with write_transaction(engine):
            # The change the event records (a row of its own: no row lock orders the writers),
            # then a pause so that all the transactions are open at once.
            await Company.update({Company.name: f"名前{n}"}).where(Company.code == f"W{n}")
            await started.wait()
            return await audit.record("company.change", actor=f"operator:{n}", target="OTHER")

    tasks = [asyncio.ensure_future(writer(n)) for n in range(WRITERS)]
    await asyncio.sleep(0.05)
    started.set()
    seqs = await asyncio.gather(*tasks)
    assert sorted(seqs) == list(range(1, WRITERS + 1))
    rows = await AuditEvent.select().order_by(AuditEvent.seq)
    assert [r["seq"] for r in rows] == list(range(1, WRITERS + 1))
    assert len({r["prev_hash"] for r in rows}) == WRITERS  # no two rows share a parent
    assert {r["actor"] for r in rows} == {f"operator:{n}" for n in range(WRITERS)}
    verdict = await audit.verify()
    assert verdict.ok and verdict.rows == WRITERS and verdict.head == rows[-1]["hash"]


async def test_an_event_recorded_outside_a_transaction_gets_its_own(client: Any) -> None:
    assert await audit.record("operator.sign_in", actor="operator:1", outcome="refused") == 1
    assert await audit.record("operator.sign_in", actor="operator:1") == 2
    assert (await audit.verify()).rows == 2


@pytest.mark.parametrize(
    "details",
    [
        {"password": "hunter2hunter2"},
        {"totp_code": "123456"},
        {"code": "123456"},
        {"link": {"token": "abc"}},
        {"setup_token_hash": "ab12"},
    ],
)
async def test_details_naming_a_secret_are_refused_and_nothing_is_written(
    client: Any, details: dict[str, Any]
) -> None:
    with pytest.raises(audit.SecretInDetails):
        await audit.record("operator.sign_in", actor="operator:1", details=details)
    assert await AuditEvent.count() == 0


async def test_a_naive_time_is_refused(client: Any) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await audit.record("x", actor="system", now=datetime(2026, 12, 1, 9, 0))
    assert await AuditEvent.count() == 0


async def test_a_deferred_sqlite_transaction_is_refused(client: Any, app: Any) -> None:
    engine = app.state.services.engine
    if not isinstance(engine, SQLiteEngine):
        pytest.skip("PostgreSQL serialises through its advisory lock in any transaction")
    with pytest.raises(RuntimeError, match="write_transaction"):
        async with engine.transaction():
            await audit.record("x", actor="system")
    assert await AuditEvent.count() == 0


async def test_times_in_another_zone_are_hashed_as_utc(client: Any) -> None:
    from zoneinfo import ZoneInfo

    tokyo = datetime(2026, 12, 1, 18, 0, 0, 5, tzinfo=ZoneInfo("Asia/Tokyo"))
    await audit.record("x", actor="system", now=tokyo)
    assert chain.canonical_time(tokyo) == "2026-12-01T09:00:00.000005Z"
    assert (await audit.verify()).ok
    stored = await AuditEvent.select(AuditEvent.at).first()
    assert stored is not None and stored["at"] == tokyo.astimezone(UTC)


@pytest.mark.parametrize(
    "text", ["plain", "名前 山田\u3000太郎", 'quote " back \\ slash', "\n\t\x00\x1f", "\u2028😀"]
)
def test_canonical_json_is_json_dumps_canonical_form(text: str) -> None:
    row = {
        "seq": 12,
        "at": "2026-12-01T09:00:00.000000Z",
        "actor": text,
        "action": text,
        "target": text,
        "client": text,
        "outcome": text,
        "details": chain.canonical_details({"k": text, "a": [1, {"b": text}]}),
    }
    expected = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert chain.canonical(row) == expected.encode()


TRICKY = [
    "plain",
    "名前 山田\u3000太郎",
    'quote " back \\ slash / solidus',
    "\n\r\t\b\f\x01\x1f\x7f",
    "\u2028\u2029😀\ufeff",
    "x" * 300,  # cut to the column's length first
]


async def test_every_stored_row_hashes_as_the_python_chain_computes_it(client: Any) -> None:
    """On PostgreSQL rows are appended by the database function audit_append(): its canonical
    JSON, time text and hash must be chain.link's to the byte, or verify() would fail."""
    from zoneinfo import ZoneInfo

    times = [
        datetime(2026, 12, 1, 9, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 18, 0, 0, 5, tzinfo=ZoneInfo("Asia/Tokyo")),
        datetime(1999, 1, 2, 3, 4, 5, 999999, tzinfo=UTC),
    ]
    for n, text in enumerate(TRICKY):
        await audit.record(
            text,
            actor=text,
            target=text,
            outcome=text,
            client=text,
            details={"k": text, "nested": {"b": [text, n, None, True, 1.5]}},
            now=times[n % len(times)],
        )
    rows = await AuditEvent.select().order_by(AuditEvent.seq)
    assert [r["seq"] for r in rows] == list(range(1, len(TRICKY) + 1))
    prev = chain.GENESIS
    for row in rows:
        assert row["prev_hash"] == prev
        assert row["hash"] == chain.link(prev, row), row["seq"]
        prev = row["hash"]
    assert rows[-1]["actor"] == "x" * audit.MAX_TEXT["actor"]
    assert json.loads(rows[1]["details"])["k"] == TRICKY[1]
    verdict = await audit.verify()
    assert verdict.ok and verdict.rows == len(TRICKY) and verdict.head == prev


async def test_on_postgresql_a_view_is_one_statement_under_the_append_lock(
    client: Any, app: Any
) -> None:
    """The lock, the head and the insert in one round trip, under the same lock key as
    always (APPEND_LOCK), committed on its own outside a transaction."""
    engine = app.state.services.engine
    if not isinstance(engine, PostgresEngine):
        pytest.skip("SQLite appends in Python inside its IMMEDIATE transaction")
    [source] = await AuditEvent.raw("SELECT prosrc FROM pg_proc WHERE proname = 'audit_append'")
    assert f"pg_advisory_xact_lock({audit.APPEND_LOCK})" in source["prosrc"]
    statements: list[str] = []
    original = asyncpg.connection.Connection._execute

    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await original(self, query, *args, **kwargs)

    asyncpg.connection.Connection._execute = counted  # type: ignore[method-assign]
    try:
        assert await audit.record("application.view", actor="operator:1", target="x") == 1
    finally:
        asyncpg.connection.Connection._execute = original  # type: ignore[method-assign]
    assert statements == [audit.PG_APPEND.format(*(f"${n}" for n in range(1, 8)))]
    assert (await audit.verify()).rows == 1
