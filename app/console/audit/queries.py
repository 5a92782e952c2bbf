"""Reading the audit log for auditors: one page of filtered rows, newest first, by keyset on
seq (never OFFSET), and the filtered rows in batches for the CSV export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app.console.audit.form import Filter
from app.console.audit.tables import AuditEvent

PAGE_SIZE = 50
EXPORT_BATCH = 2_000
SHOWN = "seq, at, actor, action, target, client, outcome, details, prev_hash, hash"


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    newer: int | None  # `after` cursor of the page of newer rows, None when there is none
    older: int | None  # `before` cursor of the page of older rows


def _where(chosen: Filter, extra: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """The WHERE clause and its arguments. Prefixes are compared with substr() rather than
    LIKE, so that `_` and `%` in what was typed mean themselves on both engines."""
    parts: list[str] = []
    args: list[Any] = []
    if chosen.actor:
        parts.append("actor = {}")
        args.append(chosen.actor)
    for column in ("action", "target"):
        prefix = getattr(chosen, column)
        if prefix:
            parts.append(f"substr({column}, 1, {{}}) = {{}}")
            args += [len(prefix), prefix]
    if chosen.since is not None:
        parts.append("at >= {}")
        args.append(chosen.since)
    if chosen.until is not None:
        parts.append("at < {}")
        args.append(chosen.until)
    for sql, value in extra:
        parts.append(sql)
        args.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


async def _select(chosen: Filter, extra: list[tuple[str, Any]], order: str, limit: int) -> Any:
    where, args = _where(chosen, extra)
    return await AuditEvent.raw(
        f"SELECT {SHOWN} FROM audit_event{where} ORDER BY seq {order} LIMIT {limit}", *args
    )


async def _exists(chosen: Filter, extra: tuple[str, Any]) -> bool:
    return bool(await _select(chosen, [extra], "DESC", 1))


async def page(chosen: Filter, *, before: int | None = None, after: int | None = None) -> Page:
    """The newest PAGE_SIZE rows matching the filter below `before`, or the oldest ones
    above `after` (shown newest first); a short page above `after` is topped up to the
    newest page."""
    if after is not None:
        rows = list(await _select(chosen, [("seq > {}", after)], "ASC", PAGE_SIZE))
        rows.reverse()
        if len(rows) < PAGE_SIZE:
            return await page(chosen)
    else:
        extra = [("seq < {}", before)] if before is not None else []
        rows = list(await _select(chosen, extra, "DESC", PAGE_SIZE))
    if not rows:
        return Page([], None, None)
    first, last = int(rows[0]["seq"]), int(rows[-1]["seq"])
    newer = first if await _exists(chosen, ("seq > {}", first)) else None
    older = last if await _exists(chosen, ("seq < {}", last)) else None
    return Page(rows, newer, older)


async def newest_seq() -> int:
    last = await AuditEvent.raw("SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1")
    return int(last[0]["seq"]) if last else 0


async def export_batches(chosen: Filter, through: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row matching the filter up to seq `through`, oldest first, a batch at a time."""
    after = 0
    while True:
        extra = [("seq > {}", after), ("seq <= {}", through)]
        rows = list(await _select(chosen, extra, "ASC", EXPORT_BATCH))
        if not rows:
            return
        yield rows
        after = int(rows[-1]["seq"])
