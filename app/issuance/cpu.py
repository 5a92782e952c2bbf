"""Process pools for the issuance's CPU-heavy cryptography, off the event loop and off the GIL.

`cryptography` holds the GIL while it generates an RSA key or derives a PKCS#12's keys from a
PIN, so a thread would still stall every other request of the process: these run in separate
interpreters instead, which also lets them use the machine's other cores.

- BACKGROUND (niced): the subscriber's key pair, made by the worker. Where the worker shares
  cores with the web tier, the pages come first (a niced process still gets every idle cycle).
- FOREGROUND: work an applicant waits for (the PKCS#12 of a pickup, built in the web process).

The pools start on first use (`warm` starts one ahead of need) and end with their process,
even when it is SIGKILLed (Linux PR_SET_PDEATHSIG; elsewhere when their pipe closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

BACKGROUND = "background"
FOREGROUND = "foreground"
NICENESS = {BACKGROUND: 10, FOREGROUND: 0}
PR_SET_PDEATHSIG = 1

T = TypeVar("T")

_pools: dict[str, ProcessPoolExecutor] = {}


def _initialise(niceness: int) -> None:
    """In each pool process: die with the parent, and run at the pool's niceness."""
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _ready() -> bool:
    return True


def pool(kind: str) -> ProcessPoolExecutor:
    found = _pools.get(kind)
    if found is None:
        # spawn: a fresh interpreter, not a fork of a process with an event loop and threads.
        found = _pools[kind] = ProcessPoolExecutor(
            max_workers=size(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_initialise,
            initargs=(NICENESS[kind],),
        )
    return found


async def run(kind: str, function: Callable[..., T], *args: Any) -> T:
    """function(*args) in that pool; the caller's event loop keeps serving meanwhile."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(kind), function, *args)


def warm(kind: str, processes: int = 1) -> list[Future[bool]]:
    """Start that many of the pool's processes now (a spawned interpreter takes a few hundred
    ms: it imports the parent's main module), so the first real calls do not wait for them."""
    executor = pool(kind)
    return [executor.submit(_ready) for _ in range(max(1, processes))]


def size() -> int:
    """How many processes a pool may have."""
    return max(1, min(4, os.cpu_count() or 1))


def shutdown() -> None:
    for kind in list(_pools):
        _pools.pop(kind).shutdown(wait=False, cancel_futures=True)
