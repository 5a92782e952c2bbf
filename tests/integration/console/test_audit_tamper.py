"""`verify()` finds each kind of tampering done with raw SQL behind the application's back:
edits of every hashed column, deletes, inserts and reorders; the last row's deletion and a
rewritten tail only against an anchored head."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.console.audit import chain
from app.console.audit import service as audit
from app.console.audit.tables import AuditEvent
from app.db import write_transaction

ROWS = 5
T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)


async def _chain(app: Any, rows: int = ROWS) -> list[dict[str, Any]]:
    engine = app.state.services.engine
    for n in range(1, rows + 1):
        async with write_transaction(engine):
            await audit.record(
                "application.view",
                actor=f"operator:{n % 2 + 1}",
                target=f"application:JC-{n:04d}",
                client="192.0.2.7",
                details={"n": n, "書類": [n, n + 1]},
                now=T0 + timedelta(minutes=n),
            )
    verdict = await audit.verify()
    assert verdict.ok and verdict.rows == rows
    return list(await AuditEvent.select().order_by(AuditEvent.seq))


async def sql(statement: str, *args: Any) -> None:
    await AuditEvent.raw(statement, *args)


async def _renumber_from(seq: int, by: int) -> None:
    """seq += by for every row from `seq` on, in two steps (the unique index holds each)."""
    await sql("UPDATE audit_event SET seq = -seq - {} WHERE seq >= {}", by, seq)
    await sql("UPDATE audit_event SET seq = -seq WHERE seq < 0")


def _failed(verdict: chain.Verdict, seq: int, word: str) -> None:
    assert not verdict.ok, verdict
    assert verdict.bad_seq == seq, verdict
    assert word in verdict.problem, verdict


EDITS = {
    "seq": ("seq", 99),
    "at": ("at", T0 + timedelta(minutes=3, microseconds=1)),
    "actor": ("actor", "operator:9"),
    "action": ("action", "application.decide"),
    "target": ("target", "application:JC-9999"),
    "client": ("client", "198.51.100.1"),
    "outcome": ("outcome", "refused"),
    "details": ("details", '{"n":9}'),
    "prev_hash": ("prev_hash", "1" * 64),
    "hash": ("hash", "2" * 64),
}


@pytest.mark.parametrize("column", sorted(EDITS))
async def test_an_edit_of_any_hashed_column_is_found_at_its_row(
    client: Any, app: Any, column: str
) -> None:
    await _chain(app)
    name, value = EDITS[column]
    await sql(f"UPDATE audit_event SET {name} = {{}} WHERE seq = 3", value)
    verdict = await audit.verify()
    # A changed seq leaves a gap where the row was (and the row turns up out of place).
    _failed(verdict, 3, "deleted" if column == "seq" else "modified")
    assert verdict.rows == 2


@pytest.mark.parametrize(("seq", "word"), [(1, "deleted"), (3, "deleted")])
async def test_a_deleted_first_or_middle_row_is_found(
    client: Any, app: Any, seq: int, word: str
) -> None:
    await _chain(app)
    await sql("DELETE FROM audit_event WHERE seq = {}", seq)
    _failed(await audit.verify(), seq, word)


async def test_a_deleted_middle_row_is_found_when_the_rest_is_renumbered(
    client: Any, app: Any
) -> None:
    await _chain(app)
    await sql("DELETE FROM audit_event WHERE seq = 3")
    await _renumber_from(4, -1)
    _failed(await audit.verify(), 3, "deleted")


async def test_a_deleted_last_row_is_found_only_against_the_anchored_head(
    client: Any, app: Any
) -> None:
    rows = await _chain(app)
    anchored = chain.Anchor(rows=ROWS, head=rows[-1]["hash"])
    assert (await audit.verify(anchored)).ok
    await sql("DELETE FROM audit_event WHERE seq = {}", ROWS)
    assert (await audit.verify()).ok  # what is left is a valid, shorter chain
    _failed(await audit.verify(chain.Anchor(rows=ROWS)), ROWS, "deleted")
    _failed(await audit.verify(chain.Anchor(head=rows[-1]["hash"])), ROWS, "deleted")
    _failed(await audit.verify(anchored), ROWS, "deleted")


async def test_an_anchor_still_holds_after_legitimate_appends(client: Any, app: Any) -> None:
    rows = await _chain(app)
    anchored = chain.Anchor(rows=ROWS, head=rows[-1]["hash"])
    await audit.record("operator.sign_in", actor="operator:1")
    verdict = await audit.verify(anchored)
    assert verdict.ok and verdict.rows == ROWS + 1


async def test_a_tail_rewritten_with_recomputed_hashes_is_found_against_the_anchor(
    client: Any, app: Any
) -> None:
    rows = await _chain(app)
    anchored = chain.Anchor(rows=ROWS, head=rows[-1]["hash"])
    head = rows[1]["hash"]
    for row in rows[2:]:  # rows 3..5 get another actor and consistent, recomputed hashes
        forged = {**row, "actor": "operator:9", "prev_hash": head}
        forged["hash"] = chain.link(head, forged)
        await sql(
            "UPDATE audit_event SET actor = {}, prev_hash = {}, hash = {} WHERE seq = {}",
            forged["actor"],
            head,
            forged["hash"],
            row["seq"],
        )
        head = forged["hash"]
    assert (await audit.verify()).ok  # a consistent forgery: only the anchor can tell
    _failed(await audit.verify(anchored), ROWS, "anchored head")


def _forged(seq: int, prev_hash: str, **changes: Any) -> dict[str, Any]:
    row = {
        "seq": seq,
        "at": T0 + timedelta(minutes=2, seconds=30),
        "actor": "operator:1",
        "action": "application.decide",
        "target": "application:JC-0002",
        "client": "192.0.2.7",
        "outcome": "ok",
        "details": "{}",
        "prev_hash": prev_hash,
    }
    row["hash"] = chain.link(prev_hash, row)
    return row | changes


async def _insert(row: dict[str, Any]) -> None:
    await sql(
        "INSERT INTO audit_event (seq, at, actor, action, target, client, outcome, details,"
        " prev_hash, hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        *(row[name] for name in (*chain.HASHED, "prev_hash", "hash")),
    )


@pytest.mark.parametrize("hash_kind", ["recomputed", "garbage"])
async def test_a_row_inserted_in_the_middle_with_renumbering_is_found(
    client: Any, app: Any, hash_kind: str
) -> None:
    rows = await _chain(app)
    await _renumber_from(3, 1)
    changes = {"hash": "3" * 64} if hash_kind == "garbage" else {}
    await _insert(_forged(3, rows[1]["hash"], **changes))
    _failed(await audit.verify(), 3, "inserted")


async def test_a_row_appended_with_a_forged_hash_is_found(client: Any, app: Any) -> None:
    rows = await _chain(app)
    await _insert(_forged(ROWS + 1, rows[-1]["hash"], hash="4" * 64))
    _failed(await audit.verify(), ROWS + 1, "forged")


async def test_two_rows_with_swapped_contents_are_found(client: Any, app: Any) -> None:
    rows = await _chain(app)
    columns = [name for name in (*chain.HASHED, "prev_hash", "hash") if name != "seq"]
    await sql("UPDATE audit_event SET hash = 'moving-' || seq WHERE seq IN (2, 3)")  # unique
    for mine, theirs in ((rows[1], rows[2]), (rows[2], rows[1])):
        assignments = ", ".join(f"{name} = {{}}" for name in columns)
        await sql(
            f"UPDATE audit_event SET {assignments} WHERE id = {{}}",
            *(theirs[name] for name in columns),
            mine["id"],
        )
    _failed(await audit.verify(), 2, "reordered")


async def test_two_rows_with_swapped_seqs_are_found(client: Any, app: Any) -> None:
    await _chain(app)
    await sql("UPDATE audit_event SET seq = -1 WHERE seq = 2")
    await sql("UPDATE audit_event SET seq = 2 WHERE seq = 3")
    await sql("UPDATE audit_event SET seq = 3 WHERE seq = -1")
    _failed(await audit.verify(), 2, "reordered")


async def test_a_long_chain_verifies_across_batches_and_is_found_in_a_later_batch(
    client: Any, app: Any
) -> None:
    await _chain(app, rows=25)
    batches = [len(rows) async for rows in audit.stored_batches(batch=10)]
    assert batches == [10, 10, 5]
    await sql("UPDATE audit_event SET target = 'x' WHERE seq = 21")
    walk = chain.Walk()
    async for rows in audit.stored_batches(batch=10):
        if not walk.feed(rows):
            break
    _failed(walk.verdict(), 21, "modified")
