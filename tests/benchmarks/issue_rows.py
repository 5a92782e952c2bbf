"""The issuing rows of `make bench` (issue 15): the worker's issuing rate against a raw loop,
the pages' p99 while the worker issues against alone, and the pickup's PIN POST at 10
connections over the certificates those two issued."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from tests.benchmarks import issue_load, pickup_load
from tests.benchmarks.report import Report, Row

if TYPE_CHECKING:
    from tests.benchmarks.run import Bench

ISSUE_RATIO = 0.80
PICKUP_P99_MS = 200.0
PAGES_P99_MOVE = 0.20
PAGES = ("top", "step1")
MAX_PICKUPS = 150  # downloads of the pickup rows (each consumes a certificate issued above)
SINGLE_PICKUPS = 10  # of them, one at a time


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def add(report: Report, bench: Bench, warm_up: float) -> None:
    stack = bench.stack
    settings = stack.settings()
    bits = settings.ca.rsa_key_size
    print(f"Issuing: {issue_load.ISSUES} approvals through the arq worker, then a raw loop ...")
    result, _ids = asyncio.run(issue_load.rate(settings))
    print(
        f"  worker {result.worker_rate:.1f}/s, raw loop {result.raw_rate:.1f}/s "
        f"({result.worker_seconds:.1f} s vs {result.raw_seconds:.1f} s)",
        flush=True,
    )
    report.add(
        Row(
            f"issuing: {result.issues} approvals by one arq worker (RSA {bits} key and CSR, "
            "local CA, the rows on PostgreSQL) vs a raw loop of the same in one process",
            f"{result.worker_rate:.1f} vs {result.raw_rate:.1f} certificates/s",
            ratio=_pct(result.ratio),
            target=f"≥ {_pct(ISSUE_RATIO)}",
            passed=result.ratio >= ISSUE_RATIO,
        )
    )
    issued = result.issues
    # Enough applications for the worker to stay busy through a page's warm-up and load.
    pool = int(2 * result.worker_rate * (bench.seconds + warm_up)) + 4 * issue_load.BACKLOG
    fed: list[str] = []
    for number, key in enumerate(PAGES, start=1):
        alone = bench.load(key)
        first_id = issue_load.BASE_ID + number * 1_000_000
        feeder = issue_load.Feeder(settings, pool, first_id).start()
        loaded = bench.load(key)
        feeder.stop()
        issued += len(feeder.fed)
        fed.append(f"{len(feeder.fed)}{' (ran dry)' if feeder.ran_dry else ''}")
        move = loaded.p99_ms / alone.p99_ms - 1
        label = bench.scenarios[key].label
        report.add(
            Row(
                f"{label}, while the worker issues (alone: {alone.rps:.0f} req/s, "
                f"p99 {alone.p99_ms:.1f} ms)",
                f"{loaded.rps:.0f} req/s",
                f"{loaded.p50_ms:.1f} ms",
                f"{loaded.p99_ms:.1f} ms",
                f"p99 {move:+.0%}",
                f"p99 moves < {_pct(PAGES_P99_MOVE)}",
                move < PAGES_P99_MOVE and not feeder.ran_dry,
                "the worker ran out of approvals" if feeder.ran_dry else "",
            )
        )
    links = _links(stack, issued)
    # The PIN POST's own time first (one applicant at a time), then the 10 connections.
    single = pickup_load.run(stack.base_url, links[:SINGLE_PICKUPS], connections=1)
    picked = pickup_load.run(stack.base_url, links[SINGLE_PICKUPS:MAX_PICKUPS])
    print(
        f"  pickup: {picked.downloads} downloads, {picked.rate:.1f}/s, p50 {picked.p50_ms:.1f} ms, "
        f"p99 {picked.p99_ms:.1f} ms",
        flush=True,
    )
    for run in (single, picked):
        if run.failures:
            bench.broken.append(f"pickup: {len(run.failures)} failures, first {run.failures[0]}")
    report.add(
        Row(
            f"pickup: the PIN POST alone (1 connection, {single.downloads} downloads: the "
            "time one download costs the app)",
            f"{single.rate:.1f} downloads/s",
            f"{single.p50_ms:.1f} ms",
            f"{single.p99_ms:.1f} ms",
        )
    )
    connections = pickup_load.CONNECTIONS
    report.add(
        Row(
            f"pickup: the PIN POST (unwrap the key, PKCS#12 標準 AES-256, key destroyed; "
            f"httpx, {connections} connections, {picked.downloads} downloads; the PIN page's "
            f"p99 {picked.page_p99_ms:.1f} ms)",
            f"{picked.rate:.1f} downloads/s",
            f"{picked.p50_ms:.1f} ms",
            f"{picked.p99_ms:.1f} ms",
            target=f"p99 < {PICKUP_P99_MS:.0f} ms",
            passed=picked.p99_ms < PICKUP_P99_MS and not picked.failures,
        )
    )
    report.notes.append(
        f"Issuing: the worker's time runs from the first enqueue of {result.issues} approvals "
        "to the last certificate stored (prepare: key pair in the worker's process pool, CSR, "
        "wrapped key, pickup link, held mail; the local CA; complete: certificate, status, "
        "mail released, webhook event); the raw loop makes the key, CSR and signature in this "
        "one process and stores the CA record, certificate, link, wrapped key and status in "
        f"one transaction each. While the pages were loaded a feeder kept "
        f"{issue_load.BACKLOG} approvals waiting for the worker ({' and '.join(fed)} issued). "
        f"Pickup: each applicant (its own connection and session) opens its own mailed links "
        "one after another: link → PIN page → PIN POST; each download consumes its link, so "
        "the samples are the certificates issued in this run (p99 of ~100 samples is about "
        "their maximum). Each download derives the PKCS#12 keys from the PIN (PBKDF2) on the "
        "CPU: at 10 connections that queue behind each other, so the p99 there is about ten "
        "single downloads' time divided by the cores."
    )


def _links(stack: object, expected: int, timeout: float = 60.0) -> list[str]:
    """The pickup links the sink received, once every issued certificate's mail arrived."""
    deadline = time.monotonic() + timeout
    while True:
        links: list[str] = stack.pickup_links()  # type: ignore[attr-defined]
        if len(links) >= expected or time.monotonic() > deadline:
            return links
        time.sleep(0.2)
