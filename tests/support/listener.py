"""A machine listener for the audio CAPTCHA: proves the WAV speaks the answer.

It knows what each character sounds like (the voice library the audio is built from, as a
person knows the alphabet) and finds, by normalised cross-correlation at the speeds the
generator may use, the loudest non-overlapping spoken characters in time order.
"""

from __future__ import annotations

import io
import os
import wave
from functools import lru_cache

import numpy as np
from captcha.audio import DATA_DIR, change_speed

# The generator picks speed (randbelow(31) + 90) / 100: try every one of them.
SPEEDS = [(n + 90) / 100 for n in range(31)]


def _samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 1 and w.getnchannels() == 1
        frames = w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0


@lru_cache(maxsize=64)
def _voice_bytes(char: str) -> bytes:
    with open(os.path.join(DATA_DIR, char, "default.wav"), "rb") as handle, wave.open(handle) as w:
        return w.readframes(w.getnframes())


@lru_cache(maxsize=2048)
def _template(char: str, speed: float) -> np.ndarray:
    stretched = change_speed(bytearray(_voice_bytes(char)), speed)
    return np.frombuffer(bytes(stretched), dtype=np.uint8).astype(np.float64) - 128.0


def _ncc(signal: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of the template at every offset of the signal."""
    t = template - template.mean()
    t /= np.linalg.norm(t) + 1e-9
    n = len(signal) + len(t)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(t, size)), size)
    corr = corr[: len(signal) - len(t) + 1]
    power = np.concatenate(([0.0], np.cumsum(signal**2)))
    window = np.sqrt(power[len(t) :] - power[: -len(t)]) + 1e-9
    return corr / window


def listen(wav: bytes, alphabet: str, length: int) -> str:
    signal = _samples(wav)
    candidates: list[tuple[float, int, int, str]] = []
    for char in alphabet:
        for speed in SPEEDS:
            template = _template(char, speed)
            if len(template) >= len(signal):
                continue
            scores = _ncc(signal, template)
            # The best few offsets of this template, at least one template apart.
            for _ in range(length):
                at = int(np.argmax(scores))
                if scores[at] <= 0:
                    break
                candidates.append((float(scores[at]), at, len(template), char))
                scores[max(0, at - len(template)) : at + len(template)] = 0
    chosen: list[tuple[int, int, str]] = []
    for _score, start, size, char in sorted(candidates, reverse=True):
        if all(start + size <= s or s + z <= start for s, z, _ in chosen):
            chosen.append((start, size, char))
        if len(chosen) == length:
            break
    return "".join(char for _, _, char in sorted(chosen))
