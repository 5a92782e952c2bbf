"""Signing in and out: the password step, the code step (TOTP once per step, or a recovery
code once), the lockout with its notice mail, sign-out; every outcome audited in the
transaction that records it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from app.console import sessions
from app.console.accounts import operators, passwords, totp
from app.console.accounts.tables import ConsoleSession, Operator, RecoveryCode
from app.console.audit.service import record
from app.console.sessions import SessionRow
from app.db import utcnow, write_transaction
from app.mail.outbox import Outbox
from app.settings import Settings


def masked(email: str) -> str:
    """How the audit log names an address nobody owns: its domain only."""
    return f"email-domain:*@{email.rsplit('@', 1)[-1][:100]}"


def _engine() -> Any:
    return Operator._meta.db


def _usable(row: dict[str, Any] | None, now: datetime) -> bool:
    return (
        row is not None
        and row["enrolled_at"] is not None
        and row["disabled_at"] is None
        and not (row["locked_until"] is not None and row["locked_until"] > now)
    )


def _refusal(row: dict[str, Any] | None, now: datetime) -> str:
    """Why an operator cannot sign in (for the audit log only, never shown)."""
    if row is None:
        return "unknown"
    if row["disabled_at"] is not None:
        return "disabled"
    if row["enrolled_at"] is None:
        return "not_enrolled"
    return "locked"


async def password_step(
    email: str,
    password: str,
    client: str,
    settings: Settings,
    mailer: Outbox,
    previous: SessionRow | None = None,
) -> str | None:
    """The raw id of a new session that passed the password (it still needs the code), or
    None. Whatever was wrong, the caller shows the same message."""
    now = utcnow()
    email = email.strip().lower()
    row = await Operator.select().where(Operator.email == email).first()
    if not _usable(row, now):
        await asyncio.to_thread(passwords.verify, "", password)  # as long as a wrong password
        async with write_transaction(_engine()):
            await record(
                "signin.failed",
                actor="anonymous",
                target=f"operator:{row['id']}" if row else masked(email),
                outcome="refused",
                client=client,
                details={"step": "password", "reason": _refusal(row, now)},
                now=now,
            )
        return None
    assert row is not None
    # Argon2 (tens of ms of CPU, the GIL released) off the event loop.
    if not await asyncio.to_thread(passwords.verify, row["password_hash"], password):
        await _failed(row, "password", client, settings, mailer, now)
        return None
    async with write_transaction(_engine()):
        if previous is not None:
            await sessions.end(previous)
        raw = await sessions.start(row["id"], now)
        await record(
            "signin.password_ok",
            actor=f"operator:{row['id']}",
            target=f"operator:{row['id']}",
            client=client,
            now=now,
        )
    if passwords.HASHER.check_needs_rehash(row["password_hash"]):
        await Operator.update({Operator.password_hash: passwords.hash_password(password)}).where(
            Operator.id == row["id"]
        )
    return raw


async def code_step(
    session: SessionRow, code: str, client: str, settings: Settings, mailer: Outbox
) -> str | None:
    """The raw id of the session rotated to MFA-complete, or None (same message whatever was
    wrong). A TOTP step is taken with a conditional UPDATE (totp_last_step < step), a
    recovery code with one (used_at IS NULL): a replay finds nothing to update."""
    now = utcnow()
    row = await Operator.select().where(Operator.id == session.operator_id).first()
    if row is None or not _usable(row, now):
        async with write_transaction(_engine()):
            await sessions.end(session)
            await record(
                "signin.failed",
                actor="anonymous",
                target=f"operator:{session.operator_id}",
                outcome="refused",
                client=client,
                details={"step": "code", "reason": _refusal(row, now)},
                now=now,
            )
        return None
    operator_id = row["id"]
    step = totp.matching_step(operators.totp_secret(row, settings), code, now)
    recovery = (
        None
        if step is not None
        else totp.recovery_hash(code, settings.app.derived_key("recovery-codes"))
    )
    async with write_transaction(_engine()):
        method = await _take_code(operator_id, step, recovery, now)
        if method is not None:
            await Operator.update({Operator.failed_attempts: 0, Operator.updated_at: now}).where(
                Operator.id == operator_id
            )
            raw = await sessions.rotate(session, now, mfa_done=True)
            if method == "recovery":
                left = await RecoveryCode.count().where(
                    (RecoveryCode.operator == operator_id) & RecoveryCode.used_at.is_null()
                )
                await record(
                    "operator.recovery_code_used",
                    actor=f"operator:{operator_id}",
                    target=f"operator:{operator_id}",
                    client=client,
                    details={"remaining": int(left)},
                    now=now,
                )
            await record(
                "signin.ok",
                actor=f"operator:{operator_id}",
                target=f"operator:{operator_id}",
                client=client,
                details={"method": method},
                now=now,
            )
            return raw
    replay = step is not None
    await _failed(dict(row), "code", client, settings, mailer, now, replay=replay, session=session)
    return None


async def _take_code(
    operator_id: int, step: int | None, recovery: str | None, now: datetime
) -> str | None:
    if step is not None:
        taken = (
            await Operator.update({Operator.totp_last_step: step})
            .where((Operator.id == operator_id) & (Operator.totp_last_step < step))
            .returning(Operator.id)
        )
        return "totp" if taken else None
    if recovery is not None:
        used = (
            await RecoveryCode.update({RecoveryCode.used_at: now})
            .where(
                (RecoveryCode.operator == operator_id)
                & (RecoveryCode.code_hash == recovery)
                & RecoveryCode.used_at.is_null()
            )
            .returning(RecoveryCode.id)
        )
        return "recovery" if used else None
    return None


async def _failed(
    row: dict[str, Any],
    step: str,
    client: str,
    settings: Settings,
    mailer: Outbox,
    now: datetime,
    *,
    replay: bool = False,
    session: SessionRow | None = None,
) -> None:
    """Count a failed password or code; the attempt that reaches the limit locks the
    operator, ends its half-signed-in sessions and queues the notice mail."""
    operator_id = row["id"]
    async with mailer.transaction(now) as letters:
        counted = (
            await Operator.update(
                {Operator.failed_attempts: Operator.failed_attempts + 1, Operator.updated_at: now}
            )
            .where(Operator.id == operator_id)
            .returning(Operator.failed_attempts)
        )
        attempts = int(counted[0]["failed_attempts"]) if counted else 0
        details: dict[str, Any] = {"step": step, "attempts": attempts}
        if replay:
            details["reason"] = "replayed_code"
        await record(
            "signin.failed",
            actor="anonymous",
            target=f"operator:{operator_id}",
            outcome="refused",
            client=client,
            details=details,
            now=now,
        )
        if attempts >= settings.console.lockout_attempts:
            until = now + timedelta(minutes=settings.console.lockout_minutes)
            await Operator.update(
                {Operator.locked_until: until, Operator.failed_attempts: 0}
            ).where(Operator.id == operator_id)
            await ConsoleSession.delete().where(
                (ConsoleSession.operator == operator_id) & (ConsoleSession.mfa_done == False)  # noqa: E712
            )
            await record(
                "operator.locked",
                actor="anonymous",
                target=f"operator:{operator_id}",
                client=client,
                details={"until": until.isoformat(), "attempts": attempts},
                now=now,
            )
            await letters.add(
                "console_locked",
                row["email"],
                {"name": row["name"], "until": until, "minutes": settings.console.lockout_minutes},
            )


async def sign_out(session: SessionRow, client: str) -> None:
    async with write_transaction(ConsoleSession._meta.db):
        await sessions.end(session)
        if session.mfa_done:
            await record(
                "signout",
                actor=f"operator:{session.operator_id}",
                target=f"operator:{session.operator_id}",
                client=client,
                now=utcnow(),
            )
