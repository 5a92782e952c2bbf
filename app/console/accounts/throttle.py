"""Per-address limits on console sign-in: a counter per email address and per client
address in the app's store (Redis when configured), in fixed one-minute windows."""

from __future__ import annotations

import hashlib
import time

from litestar.stores.base import Store

STORE = "console_signin"


def keys(client: str, subject: str) -> list[str]:
    """The counters an attempt counts against (the subject hashed: no address in Redis)."""
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return [f"client:{client}", f"subject:{digest}"]


async def allow(store: Store, counters: list[str], per_minute: int) -> bool:
    """Count one attempt on every counter; False when any is over its minute's limit."""
    window = int(time.time()) // 60
    allowed = True
    for name in counters:
        key = f"{name}:{window}"
        raw = await store.get(key)
        count = int(raw or 0) + 1
        await store.set(key, str(count), expires_in=120)
        allowed = allowed and count <= per_minute
    return allowed
