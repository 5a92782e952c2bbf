"""`jcan audit verify` and `jcan audit head`, run as real processes against the test database."""

from __future__ import annotations

from typing import Any

from app.console.audit import service as audit
from app.console.audit.chain import GENESIS
from app.console.audit.tables import AuditEvent
from tests.integration.test_cli import jcan


async def _rows(count: int) -> None:
    for n in range(count):
        await audit.record("operator.sign_in", actor=f"operator:{n}", client="192.0.2.1")


async def test_verify_and_head_on_an_empty_log(client: Any) -> None:
    verified = jcan("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == f"ok 0 rows, head {GENESIS}"
    assert jcan("audit", "head").stdout.strip() == f"0 rows, head {GENESIS}"


async def test_verify_prints_rows_and_head_and_head_agrees(client: Any) -> None:
    await _rows(4)
    rows, head = await audit.head()
    verified = jcan("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == f"ok 4 rows, head {head}"
    printed = jcan("audit", "head")
    assert printed.returncode == 0 and printed.stdout.strip() == f"{rows} rows, head {head}"


async def test_verify_exits_1_naming_the_first_bad_row(client: Any) -> None:
    await _rows(4)
    await AuditEvent.raw("UPDATE audit_event SET outcome = 'ok?' WHERE seq = 2")
    verified = jcan("audit", "verify")
    assert verified.returncode == 1
    assert "FAILED at seq 2: modified" in verified.stderr
    assert "the first 1 rows verify" in verified.stderr and "Traceback" not in verified.stderr


async def test_verify_against_an_anchor_finds_a_deleted_last_row(client: Any) -> None:
    await _rows(4)
    rows, head = await audit.head()
    anchored = ("audit", "verify", "--rows", str(rows), "--head", head)
    assert jcan(*anchored).returncode == 0
    await AuditEvent.raw("DELETE FROM audit_event WHERE seq = 4")
    assert jcan("audit", "verify").returncode == 0
    for extra in (("--rows", "4"), ("--head", head.upper()), ("--rows", "4", "--head", head)):
        result = jcan("audit", "verify", *extra)
        assert result.returncode == 1, extra
        assert "FAILED at seq 4" in result.stderr


def test_bad_anchors_are_refused_before_anything_is_read() -> None:
    for extra in (("--head", "abc"), ("--rows", "-1"), ("--rows", "many")):
        result = jcan("audit", "verify", *extra)
        assert result.returncode == 2 and "Traceback" not in result.stderr, extra
