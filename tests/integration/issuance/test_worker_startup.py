"""The worker's startup readies what its first issuing jobs would otherwise wait for: the key
pool's processes, the local CA's keys, one HTTP client for the webhooks (closed at shutdown)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app import cpu
from app.issuance.ca.local import LocalCA
from tasks import issue_certificate
from tasks.worker import shutdown, startup


async def test_startup_spawns_the_key_pool_loads_the_ca_and_opens_one_http_client(
    ca_settings: Any,
) -> None:
    ctx: dict[str, Any] = {"settings": ca_settings, "redis": None, "tables_bound": True}
    cpu.shutdown()
    await startup(ctx)
    try:
        ca = issue_certificate._ca(ctx)
        assert isinstance(ca, LocalCA)
        assert ca._hierarchy is not None  # decrypted before any job asked for it
        for _ in range(100):  # the warm-up's tasks have started the processes
            if len(cpu.processes(cpu.BACKGROUND)) == cpu.size():
                break
            await asyncio.sleep(0.05)
        assert len(cpu.processes(cpu.BACKGROUND)) == cpu.size()
        client = ctx["http_client"]
        assert isinstance(client, httpx.AsyncClient) and not client.is_closed
        assert {**ctx}["http_client"] is client  # what each job's copy of ctx hands on
    finally:
        await shutdown(ctx)
    assert client.is_closed
    assert cpu.processes(cpu.BACKGROUND) == []
