"""The CSV export of filtered audit rows: recorded first as an `audit.export` event (with the
filter), then streamed in batches, UTF-8 with a BOM so that Excel reads the Japanese."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from app.console.audit import queries
from app.console.audit.form import Filter
from app.console.audit.service import record
from app.db import utcnow
from app.i18n import _
from app.templating import to_japan_time

BOM = "\ufeff".encode()
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header() -> list[str]:
    return [
        _("番号"),
        _("日時（日本時間）"),
        _("日時（UTC）"),
        _("操作者"),
        _("操作"),
        _("対象"),
        _("結果"),
        _("接続元"),
        _("詳細"),
        _("前のハッシュ"),
        _("ハッシュ"),
    ]


def japan_time(at: datetime) -> str:
    return to_japan_time(at).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def line(row: dict[str, Any]) -> list[str]:
    at = row["at"]
    texts = [row[name] for name in ("actor", "action", "target", "outcome", "client", "details")]
    return [
        str(row["seq"]),
        japan_time(at),
        at.isoformat(timespec="microseconds"),
        *(_cell(str(text)) for text in texts),
        row["prev_hash"],
        row["hash"],
    ]


def _encode(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


async def start(chosen: Filter, *, actor: str, client: str) -> tuple[int, str]:
    """Record the export (in its own transaction, committed before any row leaves) and
    return (the last seq it covers: every row before its own event, its file name)."""
    now = utcnow()
    seq = await record(
        "audit.export",
        actor=actor,
        target="audit_log",
        client=client,
        details={"filter": chosen.details()},
        now=now,
    )
    return seq - 1, f"audit-{japan_time(now).replace(' ', '-').replace(':', '')}.csv"


async def chunks(chosen: Filter, through: int) -> AsyncIterator[bytes]:
    """The file: BOM and header, then one chunk per batch of rows."""
    yield BOM + _encode([header()])
    async for rows in queries.export_batches(chosen, through):
        yield _encode([line(row) for row in rows])
