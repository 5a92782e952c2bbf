"""Drawing and speaking challenges, off the event loop (image ~4 ms, audio ~200 ms of CPU)."""

from __future__ import annotations

from functools import lru_cache

import anyio.to_thread
from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha

IMAGE_WIDTH = 200
IMAGE_HEIGHT = 70


@lru_cache(maxsize=1)
def _image_generator() -> ImageCaptcha:
    return ImageCaptcha(width=IMAGE_WIDTH, height=IMAGE_HEIGHT)


@lru_cache(maxsize=1)
def _audio_generator() -> AudioCaptcha:
    return AudioCaptcha()


def _png(text: str) -> bytes:
    return _image_generator().generate(text, format="png").getvalue()


def _wav(text: str) -> bytes:
    # Voices exist for 0-9 and A-Z only; answers are stored upper case from that set.
    spoken = "".join(c for c in text.upper() if c.isascii() and c.isalnum())
    return bytes(_audio_generator().generate(spoken))


async def png(text: str) -> bytes:
    return await anyio.to_thread.run_sync(_png, text)


async def wav(text: str) -> bytes:
    return await anyio.to_thread.run_sync(_wav, text)
