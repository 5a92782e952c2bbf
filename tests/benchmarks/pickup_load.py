"""Pickup (証明書の受け取り) under load: connections each with pickup links of their own, each
pickup the applicant's three requests (the mailed link → 303, the PIN page, the PIN POST that
unwraps the key, builds the PKCS#12 and destroys the key). Every link is consumed by its
download, so the number of downloads is bounded by the certificates issued before; the row's
latencies are those of the PIN POST alone (the page GET's are reported beside them).

The client is httpx in this process (one AsyncClient, one connection and one cookie jar per
simulated applicant): wrk cannot follow a sequence whose token changes per download.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tests.benchmarks.web_load import CLIENT_PREFIX

CONNECTIONS = 10
PIN = "bench-PIN-2468"


@dataclass(frozen=True)
class PickupResult:
    downloads: int
    seconds: float
    post_ms: list[float]
    page_ms: list[float]
    failures: list[str]

    @staticmethod
    def _pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def p50_ms(self) -> float:
        return self._pct(self.post_ms, 0.50)

    @property
    def p99_ms(self) -> float:
        return self._pct(self.post_ms, 0.99)

    @property
    def page_p99_ms(self) -> float:
        return self._pct(self.page_ms, 0.99)

    @property
    def rate(self) -> float:
        return self.downloads / self.seconds if self.seconds else 0.0


async def _applicant(
    base_url: str, links: list[str], number: int, result: PickupResult, fmt: str
) -> None:
    headers = {"X-Forwarded-For": f"{CLIENT_PREFIX}{100 + number}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        for link in links:
            opened = await client.get(urlsplit(link).path)
            if opened.status_code != 303 or opened.headers.get("location") != "/pickup":
                result.failures.append(f"link: {opened.status_code} {opened.headers}")
                continue
            started = time.perf_counter()
            page = await client.get("/pickup")
            result.page_ms.append(1000 * (time.perf_counter() - started))
            csrf = client.cookies.get("jcan_csrf")
            if page.status_code != 200 or not csrf:
                result.failures.append(f"page: {page.status_code}")
                continue
            form = {"_csrf_token": csrf, "pin": PIN, "pin_confirm": PIN, "format": fmt}
            started = time.perf_counter()
            answer = await client.post("/pickup", data=form)
            result.post_ms.append(1000 * (time.perf_counter() - started))
            if answer.status_code != 200 or "pkcs12" not in answer.headers.get("content-type", ""):
                result.failures.append(f"download: {answer.status_code}")


async def _run(base_url: str, links: list[str], connections: int, fmt: str) -> PickupResult:
    result = PickupResult(0, 0.0, [], [], [])
    shares = [links[i::connections] for i in range(connections)]
    started = time.perf_counter()
    await asyncio.gather(
        *(_applicant(base_url, share, n, result, fmt) for n, share in enumerate(shares))
    )
    seconds = time.perf_counter() - started
    downloads = len(result.post_ms) - sum(f.startswith("download") for f in result.failures)
    return PickupResult(downloads, seconds, result.post_ms, result.page_ms, result.failures)


def run(
    base_url: str, links: list[str], connections: int = CONNECTIONS, fmt: str = "standard"
) -> PickupResult:
    return asyncio.run(_run(base_url, links, connections, fmt))
