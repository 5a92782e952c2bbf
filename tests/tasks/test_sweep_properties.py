"""Property-style: for random mixes of rows, a sweep removes exactly what is expired, in
bounded batches, and a second sweep removes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from app.captcha.tables import CaptchaChallenge
from app.db import utcnow
from app.registration.links import EXPIRED_TOKEN_GRACE
from app.registration.tables import AccessToken, Ticket
from tasks import sweep
from tests.helpers import insert_registration


@pytest.mark.parametrize("seed", range(8))
async def test_sweep_removes_exactly_the_expired_rows(client, seed, monkeypatch):
    rng = random.Random(seed)
    now = utcnow()
    ticket = await Ticket.select(Ticket.id, Ticket.company).first()
    registration = await insert_registration(ticket, f"01PROPERTY{seed:016d}", "p@example.com", now)

    def offset() -> timedelta:
        # Around both boundaries (now, and now minus the grace period), and far from them.
        return timedelta(seconds=rng.choice([-1, 1]) * rng.randint(1, 10**6)) + rng.choice(
            [timedelta(0), -EXPIRED_TOKEN_GRACE]
        )

    challenges = [now + offset() for _ in range(rng.randint(0, 40))]
    tokens = [(now + offset(), rng.random() < 0.2) for _ in range(rng.randint(0, 40))]
    for i, expires_at in enumerate(challenges):
        await CaptchaChallenge.insert(
            CaptchaChallenge(
                public_id=f"prop-{seed}-{i:04d}-xxxxxxxxxxxx",
                answer="123456",
                created_at=now,
                expires_at=expires_at,
            )
        )
    for i, (expires_at, used) in enumerate(tokens):
        await AccessToken.insert(
            AccessToken(
                token_hash=f"{seed:04d}{i:060d}",
                registration=registration,
                ticket=ticket["id"],
                created_at=now,
                expires_at=expires_at,
                used_at=now if used else None,
            )
        )
    batch = rng.randint(1, 7)
    monkeypatch.setattr(sweep, "MAX_BATCHES", 1000)
    counts = await sweep.sweep_expired({"now": now, "sweep_batch_size": batch})

    expected_challenges = sum(1 for e in challenges if e <= now)
    expected_tokens = sum(1 for e, used in tokens if e <= now - EXPIRED_TOKEN_GRACE and not used)
    assert counts == {
        "captcha_challenges": expected_challenges,
        "access_tokens": expected_tokens,
        "operator_setup_links": 0,
    }
    kept = [r["expires_at"] for r in await CaptchaChallenge.select(CaptchaChallenge.expires_at)]
    assert sorted(kept) == sorted(e for e in challenges if e > now)
    assert await AccessToken.count() == len(tokens) - expected_tokens
    assert await sweep.sweep_expired({"now": now, "sweep_batch_size": batch}) == {
        "captcha_challenges": 0,
        "access_tokens": 0,
        "operator_setup_links": 0,
    }


async def test_one_sweep_is_bounded_and_the_next_goes_on(client, monkeypatch):
    now = utcnow()
    for i in range(7):
        await CaptchaChallenge.insert(
            CaptchaChallenge(
                public_id=f"bounded-{i:04d}-xxxxxxxxxxxx",
                answer="123456",
                created_at=now,
                expires_at=now - timedelta(minutes=1),
            )
        )
    monkeypatch.setattr(sweep, "MAX_BATCHES", 2)
    first = await sweep.sweep_expired({"now": now, "sweep_batch_size": 2})
    assert first["captcha_challenges"] == 4  # two batches of two, then it stops
    second = await sweep.sweep_expired({"now": now, "sweep_batch_size": 2})
    assert second["captcha_challenges"] == 3
