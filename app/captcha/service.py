"""CAPTCHA challenges: create (sealed, nothing stored), look up for rendering, verify once."""

from __future__ import annotations

import base64
import secrets
import struct
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.captcha.tables import CaptchaChallenge
from app.db import Cursor, delete_expired_batch, utcnow
from app.settings import AppSettings, RegistrationSettings

# Digits only: each has an audio voice, and spoken digits cannot be confused the way the
# rhyming English letters (B, D, E, P, T, V...) are, least of all by Japanese listeners.
ALPHABET = "0123456789"
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class Verdict(Enum):
    CORRECT = "correct"
    WRONG = "wrong"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # missing, malformed or already used


@dataclass(frozen=True)
class Challenge:
    public_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Sealed:
    """What a challenge id carries: the answer and the expiry, sealed with the app's key."""

    use_id: str  # the nonce: names the challenge's use (one row once answered)
    answer: str
    expires_at: datetime


def normalise_answer(raw: str) -> str:
    """Full-width to half-width, no spaces, upper case (answers are case-insensitive), and
    letters typed for look-alike digits (O for 0, I or l for 1) read as those digits."""
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    return text.translate(_LOOKALIKES)  # stored answers pass through here too


def new_answer(settings: RegistrationSettings) -> str:
    if settings.captcha_test_answer:
        return normalise_answer(settings.captcha_test_answer)
    return "".join(secrets.choice(ALPHABET) for _ in range(settings.captcha_length))


def challenge_key(settings: AppSettings) -> bytes:
    return settings.derived_key("captcha")


# A challenge is stateless until it is answered: its id is the answer and the expiry sealed
# with AES-GCM under a key derived from SECRET_KEY (the client can neither read nor forge
# it), and only its *use* is written, so showing step 1 writes nothing (`make bench`).
_NONCE = 12
_AAD = b"jcan-captcha-v1"


@lru_cache(maxsize=4)
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)


def create_challenge(
    settings: RegistrationSettings, key: bytes, now: datetime | None = None
) -> Challenge:
    now = now or utcnow()
    expires_at = now + timedelta(seconds=settings.captcha_ttl_seconds)
    nonce = secrets.token_bytes(_NONCE)
    plain = struct.pack(">Q", int(expires_at.timestamp())) + new_answer(settings).encode()
    sealed = nonce + _cipher(key).encrypt(nonce, plain, _AAD)
    public_id = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()
    return Challenge(public_id=public_id, expires_at=expires_at.replace(microsecond=0))


def is_well_formed_id(public_id: str) -> bool:
    return 40 <= len(public_id) <= 120 and all(c.isalnum() or c in "-_" for c in public_id)


def unseal(public_id: str, key: bytes) -> Sealed | None:
    """The answer and expiry in a challenge id; None unless this app made it."""
    if not is_well_formed_id(public_id):
        return None
    try:
        raw = base64.urlsafe_b64decode(public_id + "=" * (-len(public_id) % 4))
        plain = _cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
    except (ValueError, InvalidTag):
        return None
    (expires,) = struct.unpack(">Q", plain[:8])
    return Sealed(
        use_id=base64.urlsafe_b64encode(raw[:_NONCE]).decode(),
        answer=plain[8:].decode(),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


async def _is_used(use_id: str) -> bool:
    return await CaptchaChallenge.exists().where(CaptchaChallenge.public_id == use_id)


async def answer_for_rendering(
    public_id: str, key: bytes, now: datetime | None = None
) -> str | None:
    """The text to draw or speak, while the challenge can still be answered."""
    sealed = unseal(public_id, key)
    if sealed is None or sealed.expires_at <= (now or utcnow()):
        return None
    return None if await _is_used(sealed.use_id) else sealed.answer


# As SQL (a Piccolo raw query, either engine): the query builder cost more than the insert.
CLAIM_USE = (
    "INSERT INTO captcha_challenge (public_id, answer, created_at, expires_at, used_at) "
    "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (public_id) DO NOTHING RETURNING id"
)


async def verify(public_id: str, answer: str, key: bytes, now: datetime | None = None) -> Verdict:
    """Consume the challenge (whatever the answer: one try each) and judge the answer.

    One INSERT ... ON CONFLICT DO NOTHING of its use (unique) claims it, so two requests can
    never both use it. The row lives until the challenge expires, then the sweep drops it.
    """
    sealed = unseal(public_id, key)
    if sealed is None:
        return Verdict.UNKNOWN
    now = now or utcnow()
    if sealed.expires_at <= now:
        return Verdict.EXPIRED
    claimed = await CaptchaChallenge.raw(
        CLAIM_USE, sealed.use_id, sealed.answer, now, sealed.expires_at, now
    )
    if not claimed:
        return Verdict.UNKNOWN
    if secrets.compare_digest(normalise_answer(answer).encode(), sealed.answer.encode()):
        return Verdict.CORRECT
    return Verdict.WRONG


async def delete_expired(
    now: datetime, batch_size: int, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """Delete the next batch of challenges that can no longer be answered."""
    expired = CaptchaChallenge.expires_at <= now
    return await delete_expired_batch(CaptchaChallenge, expired, batch_size, after)
