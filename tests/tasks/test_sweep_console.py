"""The sweep ends console sessions nobody came back to (audited) and deletes dead setup links."""

from __future__ import annotations

from datetime import timedelta

from app.console.accounts.tables import ConsoleSession, OperatorSetupToken
from app.console.audit.tables import AuditEvent
from app.db import utcnow
from app.links import tokens
from tasks import sweep
from tests.helpers import add_operator


async def test_sweep_ends_idle_and_overlong_sessions_and_audits_each(client, settings):
    now = utcnow()
    operator = await add_operator("reviewer")
    idle = timedelta(minutes=settings.console.idle_minutes)
    absolute = timedelta(hours=settings.console.absolute_hours)
    cases = {
        "live": (now - timedelta(minutes=1), now - timedelta(seconds=5)),
        "idle": (now - idle - timedelta(minutes=5), now - idle - timedelta(seconds=1)),
        "absolute": (now - absolute - timedelta(seconds=1), now - timedelta(seconds=5)),
    }
    for name, (created, seen) in cases.items():
        await ConsoleSession.insert(
            ConsoleSession(
                id_hash=name.ljust(64, "0"),
                operator=operator,
                created_at=created,
                last_seen_at=seen,
                mfa_done=True,
            )
        )
    before = await AuditEvent.count().where(AuditEvent.action == "session.expired")

    counts = await sweep.sweep_expired({"now": now, "settings": settings})

    assert counts["console_sessions"] == 2
    left = [r["id_hash"] for r in await ConsoleSession.select(ConsoleSession.id_hash)]
    assert left == ["live".ljust(64, "0")]
    events = await AuditEvent.select(AuditEvent.details).where(
        AuditEvent.action == "session.expired"
    )
    assert len(events) - before == 2
    reasons = sorted(str(e["details"]) for e in events[before:])
    assert any("absolute" in r for r in reasons) and any("idle" in r for r in reasons)
    again = await sweep.sweep_expired({"now": now, "settings": settings})
    assert again["console_sessions"] == 0


async def test_sweep_deletes_only_setup_links_dead_past_the_grace(client, settings):
    now = utcnow()
    operator = await add_operator("approver")
    grace = tokens.DEAD_TOKEN_GRACE
    rows = {
        "dead": (now - grace - timedelta(minutes=1), None),
        "recent": (now - timedelta(minutes=1), None),
        "used": (now - grace - timedelta(minutes=1), now - grace - timedelta(hours=1)),
        "live": (now + timedelta(hours=1), None),
    }
    for name, (expires, used) in rows.items():
        await OperatorSetupToken.insert(
            OperatorSetupToken(
                token_hash=tokens.hash_token(name),
                operator=operator,
                expires_at=expires,
                used_at=used,
            )
        )

    counts = await sweep.sweep_expired({"now": now, "settings": settings})

    assert counts["operator_setup_links"] == 1
    kept = {r["token_hash"] for r in await OperatorSetupToken.select(OperatorSetupToken.token_hash)}
    assert kept == {tokens.hash_token(n) for n in ("recent", "used", "live")}
