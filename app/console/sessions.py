"""Console sessions: server-side rows behind the `jcan_console` cookie (its own cookie, never
the applicant's), rotated at each privilege change, ended by idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar.datastructures import Cookie
from litestar.response import Response

from app.console.accounts.tables import ConsoleSession
from app.console.audit.service import record
from app.db import fetch, utcnow, write_transaction
from app.settings import ConsoleSettings, Settings

COOKIE = "jcan_console"
PATH = "/console"
# last_seen_at is written at most this often (a write per page view buys nothing).
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class SessionRow:
    """A live session as the guards see it, with its operator as read in the same query."""

    row_id: int
    operator_id: int
    created_at: datetime
    mfa_done: bool
    email: str = ""
    name: str = ""
    role: str = ""


# The session and its operator in one statement (a page view's guard: one round trip, and
# raw SQL, not three Piccolo queries that cost more to build than to run).
_LOAD = (
    "SELECT s.id, s.operator, s.created_at, s.last_seen_at, s.mfa_done, "
    "o.email, o.name, o.role, o.disabled_at "
    "FROM console_session s JOIN operator o ON o.id = s.operator WHERE s.id_hash = {}"
)
_TOUCH = "UPDATE console_session SET last_seen_at = {} WHERE id = {}"


def hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_urlsafe(32)


def expired(row: dict[str, Any], settings: ConsoleSettings, now: datetime) -> str | None:
    """Why a session row is over at `now` ("idle", "absolute"), or None while it is live."""
    if row["created_at"] + timedelta(hours=settings.absolute_hours) <= now:
        return "absolute"
    if row["last_seen_at"] + timedelta(minutes=settings.idle_minutes) <= now:
        return "idle"
    return None


async def start(operator_id: int, now: datetime, *, created_at: datetime | None = None) -> str:
    """A new session row (call inside a write transaction); returns the raw id for the
    cookie. `created_at` carries the sign-in time over a rotation (the absolute timeout
    counts from the password step)."""
    raw = new_id()
    await ConsoleSession.insert(
        ConsoleSession(
            id_hash=hash_id(raw),
            operator=operator_id,
            created_at=created_at or now,
            last_seen_at=now,
            mfa_done=False,
        )
    )
    return raw


async def rotate(session: SessionRow, now: datetime, *, mfa_done: bool) -> str:
    """End this row and start its successor under a fresh id (call inside a write
    transaction): a session id chosen or seen before a privilege change is worth nothing
    after it."""
    await ConsoleSession.delete().where(ConsoleSession.id == session.row_id)
    raw = new_id()
    await ConsoleSession.insert(
        ConsoleSession(
            id_hash=hash_id(raw),
            operator=session.operator_id,
            created_at=session.created_at,
            last_seen_at=now,
            mfa_done=mfa_done,
        )
    )
    return raw


async def load(
    raw: str | None, settings: Settings, now: datetime | None = None
) -> SessionRow | None:
    """The live session this cookie value names, or None. An expired row is deleted (and
    audited); a disabled operator's session is no session."""
    if not raw or len(raw) > 128:
        return None
    now = now or utcnow()
    rows = await fetch(ConsoleSession, _LOAD, hash_id(raw))
    if not rows:
        return None
    row = rows[0]
    reason = expired(row, settings.console, now)
    if reason is not None:
        await _expire(row, reason, now)
        return None
    if row["disabled_at"] is not None:
        return None
    if row["last_seen_at"] + TOUCH_EVERY <= now:
        await ConsoleSession.raw(_TOUCH, now, row["id"])
    return SessionRow(
        row["id"],
        row["operator"],
        row["created_at"],
        bool(row["mfa_done"]),
        row["email"],
        row["name"],
        row["role"],
    )


async def _expire(row: dict[str, Any], reason: str, now: datetime) -> None:
    async with write_transaction(ConsoleSession._meta.db):
        gone = (
            await ConsoleSession.delete()
            .where(ConsoleSession.id == row["id"])
            .returning(ConsoleSession.id)
        )
        if gone and row["mfa_done"]:
            await record(
                "session.expired",
                actor=f"operator:{row['operator']}",
                target=f"operator:{row['operator']}",
                details={"reason": reason},
                now=now,
            )


async def end(session: SessionRow) -> None:
    """Delete one session row (sign-out; call inside the write transaction that audits it)."""
    await ConsoleSession.delete().where(ConsoleSession.id == session.row_id)


async def end_all(operator_id: int) -> None:
    """Every session of an operator (disabled, MFA reset); inside the caller's transaction."""
    await ConsoleSession.delete().where(ConsoleSession.operator == operator_id)


def set_cookie(response: Response[Any], raw: str, settings: Settings) -> Response[Any]:
    response.set_cookie(
        Cookie(
            key=COOKIE,
            value=raw,
            path=PATH,
            secure=settings.cookies_secure,
            httponly=True,
            samesite="strict",
        )
    )
    return response


def clear_cookie(response: Response[Any], settings: Settings) -> Response[Any]:
    response.delete_cookie(COOKIE, path=PATH)
    return response


async def delete_expired(now: datetime, settings: ConsoleSettings, batch_size: int) -> int:
    """The sweep's part: end up to `batch_size` sessions past their idle or absolute timeout
    that nobody came back to (each audited as load() would have); how many went."""
    idle_cut = now - timedelta(minutes=settings.idle_minutes)
    absolute_cut = now - timedelta(hours=settings.absolute_hours)
    rows = (
        await ConsoleSession.select()
        .where(
            (ConsoleSession.created_at <= absolute_cut) | (ConsoleSession.last_seen_at <= idle_cut)
        )
        .order_by(ConsoleSession.id)
        .limit(batch_size)
    )
    for row in rows:
        await _expire(row, expired(row, settings, now) or "idle", now)
    return len(rows)
