"""The results table: rows with targets and PASS/MISS, the machine and versions, and the
dated section appended to docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"

HEADER = """# Benchmarks

`make bench` (code in `tests/benchmarks/`) starts the stack the production way (granian with
one worker, PostgreSQL, Redis, the arq worker, an aiosmtpd sink in its own process), loads it
with wrk at 50 connections, and compares each number with the bare framework measured in the
same run: one plain-text handler in a Litestar app with no middleware, same server and worker
count (tests/benchmarks/bare.py); beside it the portal's middleware-only handler
(`/bench/plain`, `BENCH_MODE` only) and the middleware's own cost. Each run appends a dated
section below, newest last. Ratios from one run are what count: the machine is shared, so
absolute numbers move between runs.

## Runs
"""


@dataclass(frozen=True)
class Row:
    measure: str
    rate: str  # requests/s, messages/s, seconds or MB
    p50: str = "–"
    p99: str = "–"
    ratio: str = "–"
    target: str = "–"
    passed: bool | None = None  # None: no target
    note: str = ""  # why it missed, when it is not obvious

    @property
    def result(self) -> str:
        if self.passed is None:
            return ""
        return "PASS" if self.passed else f"MISS{f' ({self.note})' if self.note else ''}"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def table(self) -> str:
        head = ["Measure", "Rate / value", "p50", "p99", "Ratio", "Target", "Result"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            cells = [r.measure, r.rate, r.p50, r.p99, r.ratio, r.target, r.result]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    @property
    def misses(self) -> list[Row]:
        return [r for r in self.rows if r.passed is False]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()} (load {load})"
    )


async def _server_versions(database_url: str, redis_url: str) -> tuple[str, str]:
    import asyncpg
    from redis.asyncio import Redis

    connection = await asyncpg.connect(database_url)
    try:
        postgres = str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()
    redis = Redis.from_url(redis_url)
    try:
        info = await redis.info("server")
    finally:
        await redis.aclose()
    return postgres, str(info["redis_version"])


def versions(database_url: str, redis_url: str) -> str:
    postgres, redis = asyncio.run(_server_versions(database_url, redis_url))
    parts = [
        f"Python {platform.python_version()}",
        f"Litestar {version('litestar')}",
        f"granian {version('granian')}",
        f"PostgreSQL {postgres}",
        f"Redis {redis}",
        f"arq {version('arq')}",
        f"wrk {_wrk_version()}",
    ]
    return ", ".join(parts)


def _wrk_version() -> str:
    import subprocess

    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    words = (out.stdout + out.stderr).split()
    return words[1] if len(words) > 1 else "?"


def section(report: Report, machine_line: str, versions_line: str, started: datetime) -> str:
    stamp = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"### {stamp}",
        "",
        f"- Machine: {machine_line}",
        f"- Versions: {versions_line}",
        "",
        report.table(),
    ]
    if report.notes:
        parts += ["", *[f"- {note}" for note in report.notes]]
    return "\n".join(parts) + "\n"


def append(text: str, path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else HEADER
    path.write_text(existing.rstrip("\n") + "\n\n" + text)
    return path
