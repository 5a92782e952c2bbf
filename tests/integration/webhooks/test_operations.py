"""Operators and deliveries: the console page (state, attempts, last answer, next attempt),
「再送する」 for admins (audited), `jcan webhooks list [--failed] | retry ID` as a real process."""

from __future__ import annotations

import subprocess
from typing import Any

from app.console.audit.tables import AuditEvent
from app.issuance.webhooks.tables import FAILED, PENDING
from tasks.webhooks import deliver_webhook
from tests.helpers import CSRF, operator_client
from tests.integration.webhooks.webhook_helpers import announced, ctx, receiver, row
from tests.support.cli import jcan as run_jcan


async def failed_event(app: Any, variant: Any) -> tuple[int, str]:
    """An event the receiver refused with 400 (failed for good)."""
    row_id, event_id = await announced(app)
    hook = receiver()
    hook.status = 400
    try:
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "failed"
    finally:
        hook.stop()
    return row_id, event_id


async def audit(action: str) -> list[dict[str, Any]]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return [dict(r) for r in rows]


async def test_admins_see_deliveries_and_retry_a_failed_one(client, app, variant):
    row_id, event_id = await failed_event(app, variant)
    _other_id, pending_id = await announced(app)
    async with operator_client(app, "admin", "admin@x.jp") as browser:
        page = await browser.get("/console/webhooks")
        assert page.status_code == 200
        text = page.text
        assert event_id in text and pending_id in text
        assert "失敗" in text and "配信待ち" in text and "HTTP 400" in text
        assert "配信は無効です" in text  # the suite's own settings have no URL
        assert f'action="/console/webhooks/{event_id}/retry"' in text
        assert f'action="/console/webhooks/{pending_id}/retry"' not in text  # failed ones only
        only_failed = (await browser.get("/console/webhooks?state=failed")).text
        assert event_id in only_failed and pending_id not in only_failed
        token = CSRF.search(text).group(1)  # type: ignore[union-attr]
        done = await browser.post(
            f"/console/webhooks/{event_id}/retry", data={"_csrf_token": token}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/console/webhooks?notice=retried"
        again = await browser.post(
            f"/console/webhooks/{event_id}/retry", data={"_csrf_token": token}
        )
        assert again.headers["location"] == "/console/webhooks?notice=not_retried"
        shown = (await browser.get(again.headers["location"])).text
        assert "再送できませんでした" in shown
        operator_id = browser.operator_id  # type: ignore[attr-defined]
    stored = await row(event_id)
    assert stored["status"] == PENDING and stored["attempts"] == 0
    retries = await audit("webhook.retry")
    assert [(r["actor"], r["target"]) for r in retries] == [
        (f"operator:{operator_id}", f"webhook:{event_id}")
    ]
    # And the retried event goes out.
    hook = receiver()
    try:
        assert await deliver_webhook(ctx(variant, hook.url), row_id) == "delivered"
    finally:
        hook.stop()
    assert hook.processed == [event_id]


async def test_other_roles_may_not_open_or_retry_deliveries(client, app, variant):
    _row_id, event_id = await failed_event(app, variant)
    for role in ("reviewer", "approver", "auditor"):
        async with operator_client(app, role, f"{role}@x.jp") as browser:
            assert (await browser.get("/console/webhooks")).status_code == 403
            token = CSRF.search((await browser.get("/console")).text).group(1)  # type: ignore[union-attr]
            refused = await browser.post(
                f"/console/webhooks/{event_id}/retry", data={"_csrf_token": token}
            )
            assert refused.status_code == 403
    assert (await row(event_id))["status"] == FAILED
    assert await audit("webhook.retry") == []


def jcan(*args: str) -> subprocess.CompletedProcess[str]:
    return run_jcan(*args, env={"ECONTRACT_WEBHOOK_URL": "", "REDIS_URL": ""})


async def test_jcan_webhooks_list_and_retry(client, app, variant):
    _row_id, event_id = await failed_event(app, variant)
    _other_id, pending_id = await announced(app)
    listed = jcan("webhooks", "list")
    assert listed.returncode == 0, listed.stderr
    assert "delivery disabled" in listed.stdout
    lines = [line for line in listed.stdout.splitlines() if "\t" in line]
    assert [line.split("\t")[0] for line in lines] == [pending_id, event_id]  # newest first
    assert "\tfailed\t" in lines[1] and "last=400" in lines[1] and "HTTP 400" in lines[1]
    failed = jcan("webhooks", "list", "--failed")
    assert [line.split("\t")[0] for line in failed.stdout.splitlines() if "\t" in line] == [
        event_id
    ]
    retried = jcan("webhooks", "retry", event_id)
    assert retried.returncode == 0, retried.stderr
    assert "queued" in retried.stdout
    stored = await row(event_id)
    assert stored["status"] == PENDING and stored["attempts"] == 0
    assert [(r["actor"], r["target"]) for r in await audit("webhook.retry")] == [
        ("cli", f"webhook:{event_id}")
    ]
    not_failed = jcan("webhooks", "retry", pending_id)
    assert not_failed.returncode == 1 and "not failed" in not_failed.stderr
    assert "Traceback" not in not_failed.stderr
    unknown = jcan("webhooks", "retry", "01JNOSUCHEVENT000000000000")
    assert unknown.returncode == 1
    assert len(await audit("webhook.retry")) == 1
    none_failed = jcan("webhooks", "list", "--failed")
    assert "no failed events" in none_failed.stdout
