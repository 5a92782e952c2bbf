"""The audit log's core: record() chains rows in the caller's transaction; verify() finds the
first row that does not belong."""

from __future__ import annotations

from typing import Any

from app.console.audit import service as audit
from app.console.audit.chain import GENESIS
from app.console.audit.tables import AuditEvent
from app.db import write_transaction


async def _three(app: Any) -> None:
    engine = app.state.services.engine
    for n in range(3):
        async with write_transaction(engine):
            await audit.record(
                "test.event",
                actor="operator:1",
                target=f"application:{n}",
                client="127.0.0.1",
                details={"n": n, "名前": "山田"},
            )


async def test_rows_chain_from_genesis_and_verify(client: Any, app: Any) -> None:
    assert (await audit.verify()).ok and await audit.head() == (0, GENESIS)
    await _three(app)
    rows = await AuditEvent.select().order_by(AuditEvent.seq)
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    verdict = await audit.verify()
    assert verdict.ok and verdict.rows == 3 and verdict.head == rows[-1]["hash"]
    assert await audit.head() == (3, rows[-1]["hash"])


async def test_a_rolled_back_change_leaves_no_event(client: Any, app: Any) -> None:
    engine = app.state.services.engine
    try:
        async with write_transaction(engine):
            await audit.record("test.event", actor="operator:1")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert await AuditEvent.count() == 0


async def test_a_modified_row_is_found(client: Any, app: Any) -> None:
    await _three(app)
    await AuditEvent.update({AuditEvent.target: "application:other"}).where(AuditEvent.seq == 2)
    verdict = await audit.verify()
    assert not verdict.ok and verdict.bad_seq == 2 and verdict.rows == 1
