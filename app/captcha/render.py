"""Drawing and speaking challenges in a helper process (app.cpu's CAPTCHA pool: image ~4 ms,
audio ~200 ms of CPU; in threads the drawing held the GIL and the pages' p99 rose by a third to
a half, `make bench`)."""

from __future__ import annotations

import io
from functools import lru_cache

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha

from app import cpu

IMAGE_WIDTH = 200
IMAGE_HEIGHT = 70
PNG_COMPRESS_LEVEL = 1


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


async def png(text: str) -> bytes:
    return await cpu.run(cpu.CAPTCHA, _png, text)


async def wav(text: str) -> bytes:
    return await cpu.run(cpu.CAPTCHA, _wav, text)
