"""CAPTCHA challenges: create, look up for rendering, verify once."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from app.captcha.tables import CaptchaChallenge
from app.db import Cursor, delete_expired_batch, utcnow
from app.settings import RegistrationSettings

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


def normalise_answer(raw: str) -> str:
    """Full-width to half-width, no spaces, upper case (answers are case-insensitive), and
    letters typed for look-alike digits (O for 0, I or l for 1) read as those digits."""
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    return text.translate(_LOOKALIKES)  # stored answers pass through here too


def new_answer(settings: RegistrationSettings) -> str:
    if settings.captcha_test_answer:
        return normalise_answer(settings.captcha_test_answer)
    return "".join(secrets.choice(ALPHABET) for _ in range(settings.captcha_length))


async def create_challenge(
    settings: RegistrationSettings, now: datetime | None = None
) -> Challenge:
    now = now or utcnow()
    challenge = Challenge(
        public_id=secrets.token_urlsafe(24),
        expires_at=now + timedelta(seconds=settings.captcha_ttl_seconds),
    )
    await CaptchaChallenge.insert(
        CaptchaChallenge(
            public_id=challenge.public_id,
            answer=new_answer(settings),
            created_at=now,
            expires_at=challenge.expires_at,
        )
    )
    return challenge


def is_well_formed_id(public_id: str) -> bool:
    return 16 <= len(public_id) <= 43 and all(c.isalnum() or c in "-_" for c in public_id)


async def answer_for_rendering(public_id: str, now: datetime | None = None) -> str | None:
    """The text to draw or speak, while the challenge can still be answered."""
    if not is_well_formed_id(public_id):
        return None
    now = now or utcnow()
    row = (
        await CaptchaChallenge.select(CaptchaChallenge.answer)
        .where(
            (CaptchaChallenge.public_id == public_id)
            & CaptchaChallenge.used_at.is_null()
            & (CaptchaChallenge.expires_at > now)
        )
        .first()
    )
    return row["answer"] if row else None


async def verify(public_id: str, answer: str, now: datetime | None = None) -> Verdict:
    """Consume the challenge (whatever the answer: one try each) and judge the answer.

    One conditional UPDATE ... RETURNING claims it, so two requests can never both use it.
    """
    if not is_well_formed_id(public_id):
        return Verdict.UNKNOWN
    now = now or utcnow()
    rows = (
        await CaptchaChallenge.update({CaptchaChallenge.used_at: now})
        .where((CaptchaChallenge.public_id == public_id) & CaptchaChallenge.used_at.is_null())
        .returning(CaptchaChallenge.answer, CaptchaChallenge.expires_at)
    )
    if not rows:
        return Verdict.UNKNOWN
    expires_at = rows[0]["expires_at"]
    if expires_at <= now:
        return Verdict.EXPIRED
    expected = rows[0]["answer"]
    if secrets.compare_digest(normalise_answer(answer).encode(), expected.encode()):
        return Verdict.CORRECT
    return Verdict.WRONG


async def delete_expired(
    now: datetime, batch_size: int, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """Delete the next batch of challenges that can no longer be answered."""
    expired = CaptchaChallenge.expires_at <= now
    return await delete_expired_batch(CaptchaChallenge, expired, batch_size, after)
