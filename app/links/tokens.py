"""Mint, resolve, judge and consume one-time link tokens, for any table with TokenColumns."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Combinable
from piccolo.table import Table

from app.db import utcnow


class LinkState(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    USED = "used"
    INVALID = "invalid"


@dataclass(frozen=True)
class LinkResolution:
    state: LinkState
    token_id: int | None = None


@dataclass(frozen=True)
class Minted:
    token: str  # the raw token: only ever put into the mail (and tests)
    expires_at: datetime


# An expired, never used link is kept this long before a sweep deletes it, so that opening it
# late still says "expired" rather than "invalid".
DEAD_TOKEN_GRACE = timedelta(days=7)


def dead(table: type[Table], now: datetime, grace: timedelta = DEAD_TOKEN_GRACE) -> Combinable:
    """Rows of `table` a sweep may delete: expired for longer than `grace` and never used."""
    columns: Any = table
    condition: Combinable = (columns.expires_at <= now - grace) & columns.used_at.is_null()
    return condition


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    return 40 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def state_of(row: dict[str, Any] | None, now: datetime) -> LinkResolution:
    """What a token row means at `now`: used, then superseded, then expired, else valid."""
    if row is None:
        return LinkResolution(LinkState.INVALID)
    if row["used_at"] is not None:
        state = LinkState.USED
    elif row["superseded_at"] is not None:
        state = LinkState.SUPERSEDED
    elif row["expires_at"] <= now:
        state = LinkState.EXPIRED
    else:
        state = LinkState.VALID
    return LinkResolution(state, int(row["id"]))


def _live(table: type[Table]) -> Combinable:
    t: Any = table
    return t.used_at.is_null() & t.superseded_at.is_null()


async def supersede(table: type[Table], owner: Column, owner_id: int, now: datetime) -> None:
    """End every live link of this owner (a newer one replaces them)."""
    await table.update({table._meta.get_column_by_name("superseded_at"): now}).where(
        (owner == owner_id) & _live(table)
    )


async def mint(
    table: type[Table],
    values: dict[str, Any],
    ttl: timedelta,
    now: datetime,
    *,
    supersede_by: Column | None = None,
) -> Minted:
    """A new link row with `values` (its owner's columns); with `supersede_by`, the owner's
    live links end first. Call inside the caller's transaction."""
    token = new_token()
    expires_at = now + ttl
    if supersede_by is not None:
        await supersede(table, supersede_by, values[supersede_by._meta.name], now)
    await table.insert(
        table(token_hash=hash_token(token), created_at=now, expires_at=expires_at, **values)  # type: ignore[call-arg]
    )
    return Minted(token, expires_at)


async def resolve(table: type[Table], token: str, now: datetime | None = None) -> LinkResolution:
    """What an emailed token leads to; never raises for bad input."""
    if not is_well_formed(token):
        return LinkResolution(LinkState.INVALID)
    t: Any = table
    row = await t.select().where(t.token_hash == hash_token(token)).first()
    return state_of(row, now or utcnow())


async def state(table: type[Table], token_id: int, now: datetime | None = None) -> LinkState:
    t: Any = table
    row = await t.select().where(t.id == token_id).first()
    return state_of(row, now or utcnow()).state


async def consume(
    table: type[Table], token_id: int, now: datetime, *returning: Column
) -> dict[str, Any] | None:
    """Mark a live link used: one conditional UPDATE ... RETURNING, never check-then-update.
    The returned row (id and `returning` columns), or None when it was not live any more."""
    t: Any = table
    rows = (
        await t.update({t.used_at: now})
        .where((t.id == token_id) & _live(table) & (t.expires_at > now))
        .returning(t.id, *returning)
    )
    return dict(rows[0]) if rows else None
