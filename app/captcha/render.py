"""Drawing and speaking challenges in helper processes (image ~4 ms, audio ~200 ms of CPU).

Not in threads: the drawing code holds the GIL most of the time, and while CAPTCHAs were
drawn in threads the pages' p99 rose by a third to a half and images came three times
slower (`make bench`). A helper process (spawned, so none of the server's threads is copied)
keeps the event loop free.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha

IMAGE_WIDTH = 200
IMAGE_HEIGHT = 70
PNG_COMPRESS_LEVEL = 1
PROCESSES = 1  # ~40 MB each; one draws some 170 images/s

_pool: ProcessPoolExecutor | None = None


@lru_cache(maxsize=1)
def _image_generator() -> ImageCaptcha:
    return ImageCaptcha(width=IMAGE_WIDTH, height=IMAGE_HEIGHT)


@lru_cache(maxsize=1)
def _audio_generator() -> AudioCaptcha:
    return AudioCaptcha()


def _png(text: str) -> bytes:
    image = _image_generator().generate_image(text)
    out = io.BytesIO()
    # zlib level 1: 0.6 ms instead of 1.5 ms (level 6) of the 3.3 ms an image took, for a
    # file 11% larger (~13 KB); less CPU beside the pages while images are drawn (`make bench`)
    image.save(out, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def _wav(text: str) -> bytes:
    # Voices exist for 0-9 and A-Z only; answers are stored upper case from that set.
    spoken = "".join(c for c in text.upper() if c.isascii() and c.isalnum())
    return bytes(_audio_generator().generate(spoken))


# The helper runs below the server's priority: when both want the CPU, pages go first and an
# image waits. (In `make bench` on two cores this made no clear difference to the pages' p99,
# the helper drawing ~100 images/s on half a core; it matters when drawing would saturate.)
HELPER_NICENESS = 10


def _start_helper(parent: int) -> None:
    """In the helper: lower its priority, and leave with the server process."""
    with contextlib.suppress(OSError):  # not allowed here: draw at the same priority
        os.nice(HELPER_NICENESS)
    _exit_with(parent)


def _exit_with(parent: int) -> None:
    """In the helper: leave when the server process is gone, even when it was killed."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            PROCESSES,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_helper,
            initargs=(os.getpid(),),
        )
    return _pool


async def png(text: str) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_executor(), _png, text)


async def wav(text: str) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_executor(), _wav, text)


def shutdown() -> None:
    """Stop the helper processes (app shutdown); they start again on the next use."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
