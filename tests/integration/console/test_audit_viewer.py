"""The auditor's view of the audit log: who may open it, filters (Japan time typed, UTC
stored), newest first, keyset pages, htmx fragments, and the CSV export recorded as an
`audit.export` event."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.console import sessions
from app.console.accounts.tables import Operator
from app.console.audit import service as audit
from app.console.audit.queries import PAGE_SIZE
from app.console.audit.tables import AuditEvent
from app.db import utcnow, write_transaction
from tests.helpers import CSRF, error_of, title

T0 = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)  # 09:00 in Japan
SEQ = re.compile(r"<tr>\s*<td>(\d+)</td>")


async def sign_in(client: Any, role: str = "auditor") -> int:
    """A signed-in console session for a new operator of `role` (the session row the
    sign-in would leave, MFA done), its cookie set on the client."""
    operator = await Operator.insert(
        Operator(email=f"{role}@example.jp", name="監査 花子", role=role, enrolled_at=utcnow())
    ).returning(Operator.id)
    operator_id = int(operator[0]["id"])
    async with write_transaction(Operator._meta.db):
        raw = await sessions.start(operator_id, utcnow())
        row = await sessions.load(raw, client.app_settings)
        assert row is not None
        raw = await sessions.rotate(row, utcnow(), mfa_done=True)
    client.cookies.set(sessions.COOKIE, raw, path=sessions.PATH)
    return operator_id


@pytest.fixture
async def auditor(client: Any, app: Any) -> Any:
    client.app_settings = app.state.services.settings
    client.operator_id = await sign_in(client)
    return client


async def _events(count: int) -> None:
    """`count` events a minute apart from T0: actors 1-3, actions alternating."""
    for n in range(1, count + 1):
        await audit.record(
            "application.view" if n % 2 else "operator.sign_in",
            actor=f"operator:{n % 3 + 1}",
            target=f"application:JC-{n:04d}",
            client="192.0.2.5",
            details={"n": n},
            now=T0 + timedelta(minutes=n),
        )


def seqs(html: str) -> list[int]:
    return [int(n) for n in SEQ.findall(html)]


async def test_without_a_session_the_log_sends_to_sign_in(client: Any) -> None:
    response = await client.get("/console/audit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


@pytest.mark.parametrize("role", ["reviewer", "approver", "admin"])
async def test_other_roles_are_refused_the_log_and_the_export(
    client: Any, app: Any, role: str
) -> None:
    client.app_settings = app.state.services.settings
    await sign_in(client, role)
    assert (await client.get("/console/audit")).status_code == 403
    home = await client.get("/console")
    assert "/console/audit" not in home.text
    csrf = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
    refused = await client.post("/console/audit/export", data={"_csrf_token": csrf})
    assert refused.status_code == 403
    assert await AuditEvent.count().where(AuditEvent.action == "audit.export") == 0


async def test_an_empty_log_is_a_page_that_says_so(auditor: Any) -> None:
    response = await auditor.get("/console/audit")
    assert response.status_code == 200
    assert title(response.text).startswith("監査ログ")
    assert "記録はまだありません。" in response.text and seqs(response.text) == []
    assert 'href="/console/audit"' in (await auditor.get("/console")).text  # in the nav


async def test_newest_first_in_keyset_pages_both_ways(auditor: Any) -> None:
    await _events(PAGE_SIZE + 7)
    first = await auditor.get("/console/audit")
    newest = PAGE_SIZE + 7
    assert seqs(first.text) == list(range(newest, 7, -1))
    assert "?before=8" in first.text and "after=" not in first.text
    older = await auditor.get("/console/audit?before=8")
    assert seqs(older.text) == list(range(7, 0, -1))
    assert "before=" not in older.text and "?after=7" in older.text
    back = await auditor.get("/console/audit?after=7")
    assert seqs(back.text) == seqs(first.text)  # a short page above the cursor: the newest


async def test_filters_by_actor_action_prefix_target_prefix(auditor: Any) -> None:
    await _events(12)
    by_actor = await auditor.get("/console/audit", params={"actor": "operator:2"})
    assert seqs(by_actor.text) == [10, 7, 4, 1]
    by_action = await auditor.get("/console/audit", params={"action": "operator."})
    assert seqs(by_action.text) == [12, 10, 8, 6, 4, 2]
    by_target = await auditor.get("/console/audit", params={"target": "application:JC-001"})
    assert seqs(by_target.text) == [12, 11, 10]
    # `_` and `%` are themselves, not wildcards
    assert seqs((await auditor.get("/console/audit?action=operator_sign")).text) == []
    assert seqs((await auditor.get("/console/audit?target=%25")).text) == []
    both = await auditor.get("/console/audit", params={"actor": "operator:2", "action": "app"})
    assert seqs(both.text) == [7, 1]
    assert (
        "条件に合う記録はありません。"
        in (await auditor.get("/console/audit", params={"actor": "nobody"})).text
    )


async def test_time_range_is_typed_in_japan_time(auditor: Any) -> None:
    await _events(12)  # event n at 09:0n Japan time
    ranged = await auditor.get(
        "/console/audit", params={"since": "2026-12-01 09:03", "until": "2026-12-01T09:05"}
    )
    assert seqs(ranged.text) == [5, 4, 3]  # `until` includes its minute
    assert "2026-12-01 09:05:00" in ranged.text  # shown in Japan time
    day = await auditor.get("/console/audit", params={"until": "２０２６/１１/３０"})
    assert seqs(day.text) == []
    assert seqs((await auditor.get("/console/audit?since=2026-12-01")).text)[-1] == 1


async def test_a_bad_filter_is_a_422_with_messages_next_to_the_fields(auditor: Any) -> None:
    response = await auditor.get(
        "/console/audit", params={"since": "昨日", "actor": "x" * 81, "target": "keep"}
    )
    assert response.status_code == 422 and title(response.text).startswith("エラー")
    assert "2026-12-01 09:30" in error_of(response.text, "since")
    assert "80文字以内" in error_of(response.text, "actor")
    assert 'value="keep"' in response.text and 'value="昨日"' in response.text
    reversed_ = await auditor.get(
        "/console/audit", params={"since": "2026-12-02", "until": "2026-12-01"}
    )
    assert reversed_.status_code == 422 and error_of(reversed_.text, "until")


@pytest.mark.parametrize("query", ["before=abc", "after=-3", "before=99999999999"])
async def test_a_malformed_cursor_is_a_400_page(auditor: Any, query: str) -> None:
    response = await auditor.get(f"/console/audit?{query}")
    assert response.status_code == 400 and "Traceback" not in response.text


async def test_htmx_gets_only_the_block_it_swaps(auditor: Any) -> None:
    await _events(PAGE_SIZE + 2)
    hx = {"HX-Request": "true"}
    paged = await auditor.get(
        "/console/audit?before=3", headers=hx | {"HX-Target": "audit-results"}
    )
    assert paged.text.lstrip().startswith('<div id="audit-results">')
    assert "<html" not in paged.text and 'id="audit-filter"' not in paged.text
    assert seqs(paged.text) == [2, 1] and "hx-swap-oob" in paged.text
    filtered = await auditor.get(
        "/console/audit?actor=operator:1", headers=hx | {"HX-Target": "audit"}
    )
    assert filtered.text.lstrip().startswith('<div id="audit">')
    assert 'id="audit-filter"' in filtered.text and "<html" not in filtered.text
    assert "HX-Request" in paged.headers["vary"]


async def _export(client: Any, **filter_: str) -> Any:
    page = await client.get("/console/audit", params=filter_)
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return await client.post("/console/audit/export", data={"_csrf_token": csrf, **filter_})


def _csv(response: Any) -> list[list[str]]:
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_the_export_streams_the_filtered_rows_and_is_itself_audited(
    auditor: Any,
) -> None:
    await _events(6)
    await audit.record("x", actor="=cmd|' /C calc'!A0", target="-1+1")
    response = await _export(auditor, action="application.")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = _csv(response)
    assert lines[0][:3] == ["番号", "日時（日本時間）", "日時（UTC）"]
    assert [line[0] for line in lines[1:]] == ["1", "3", "5"]  # oldest first
    assert lines[1][1] == "2026-12-01 09:01:00" and lines[1][5] == "application:JC-0001"
    exported = await AuditEvent.select().where(AuditEvent.action == "audit.export").first()
    assert exported is not None and exported["seq"] == 8
    assert exported["actor"] == f"operator:{auditor.operator_id}"
    assert exported["details"] == '{"filter":{"action":"application."}}'
    assert exported["client"] == "127.0.0.1"
    assert (await audit.verify()).ok
    everything = _csv(await _export(auditor))
    assert [line[0] for line in everything[1:]] == [str(n) for n in range(1, 9)]  # not its own
    assert everything[7][3] == "'=cmd|' /C calc'!A0" and everything[7][5] == "'-1+1"


async def test_exporting_an_empty_log_is_audited_too(auditor: Any) -> None:
    response = await _export(auditor)
    assert response.status_code == 200 and len(_csv(response)) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "audit.export") == 1


async def test_an_export_without_the_csrf_token_is_refused_and_not_audited(
    auditor: Any,
) -> None:
    await auditor.get("/console/audit")
    response = await auditor.post("/console/audit/export", data={})
    assert response.status_code == 403
    assert await AuditEvent.count() == 0
