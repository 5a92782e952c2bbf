"""Process pools for CPU-heavy work, off the event loop and off the GIL.

`cryptography` holds the GIL while it generates an RSA key or derives a PKCS#12's keys from a
PIN, and the CAPTCHA's drawing code holds it most of the time: in a thread each would still
stall every other request of the process (while CAPTCHAs were drawn in threads the pages' p99
rose by a third to a half, `make bench`). These run in separate interpreters instead
(spawned, so none of the server's threads is copied), which also lets them use the other cores.

- BACKGROUND (niced, one process per core up to four): the subscriber's key pair, made by the
  worker. Where the worker shares cores with the web tier, pages come first (a niced process
  still gets every idle cycle).
- FOREGROUND (one per core up to four): work an applicant waits for, the PKCS#12 of a pickup.
- CAPTCHA (niced, one process, ~40 MB; it draws some 170 images/s): the challenges' images and
  audio. Pages go first; an image waits.

The pools start on first use (`warm` starts processes ahead of need) and end with their
process, even when it is SIGKILLed (Linux PR_SET_PDEATHSIG, elsewhere a thread watching the
parent). PR_SET_PDEATHSIG follows the thread that spawned the process: use the pools from the
event loop's thread (which lives as long as the process), never from a short-lived thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

BACKGROUND = "background"
FOREGROUND = "foreground"
CAPTCHA = "captcha"
NICENESS = {BACKGROUND: 10, FOREGROUND: 0, CAPTCHA: 10}
PR_SET_PDEATHSIG = 1

T = TypeVar("T")

_pools: dict[str, ProcessPoolExecutor] = {}


def size(kind: str = BACKGROUND) -> int:
    """How many processes that pool may have."""
    return 1 if kind == CAPTCHA else max(1, min(4, os.cpu_count() or 1))


def _initialise(niceness: int, parent: int) -> None:
    """In each pool process: run at the pool's niceness, and end with the parent."""
    if niceness:
        with contextlib.suppress(OSError):  # not allowed here: run at the same priority
            os.nice(niceness)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # A parent killed while this interpreter was still starting (importing its main module
    # takes a second or more on a busy machine) left it an orphan the signal cannot reach:
    # it would wait on the pool's queue forever.
    if os.getppid() != parent:
        os._exit(0)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _ready() -> bool:
    return True


def pool(kind: str) -> ProcessPoolExecutor:
    found = _pools.get(kind)
    if found is None:
        found = _pools[kind] = ProcessPoolExecutor(
            max_workers=size(kind),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_initialise,
            initargs=(NICENESS[kind], os.getpid()),
        )
    return found


def processes(kind: str) -> list[int]:
    """The pids of that pool's processes (none when it has not started)."""
    found = _pools.get(kind)
    return list(found._processes) if found is not None else []  # type: ignore[attr-defined]


async def run(kind: str, function: Callable[..., T], *args: Any) -> T:
    """function(*args) in that pool; the caller's event loop keeps serving meanwhile."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(kind), function, *args)


def warm(kind: str, count: int = 1) -> list[Future[bool]]:
    """Start that many of the pool's processes now (a spawned interpreter takes a few hundred
    ms: it imports the parent's main module), so the first real calls do not wait for them."""
    executor = pool(kind)
    return [executor.submit(_ready) for _ in range(max(1, count))]


def shutdown() -> None:
    """Stop every pool (app or worker shutdown); they start again on the next use."""
    for kind in list(_pools):
        _pools.pop(kind).shutdown(wait=True, cancel_futures=True)


def _end_at_exit() -> None:
    """At the exit of a process that never shut its pools down (a granian worker leaves
    through multiprocessing, which joins every child process before it ends: pool processes
    nobody told to stop kept it waiting forever), end them."""
    for kind in list(_pools):
        executor = _pools.pop(kind)
        for process in list(executor._processes.values()):  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)


# Run by multiprocessing's exit function (a process it started) and by atexit (any other),
# before multiprocessing joins the child processes.
multiprocessing.util.Finalize(None, _end_at_exit, exitpriority=100)
