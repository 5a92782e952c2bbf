"""Webhook signatures like Stripe's: `JCAN-Signature: t=<unix>,v1=<hex HMAC-SHA256>` over
`f"{t}.{body}"`; pure functions, for the portal and for receivers alike."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "JCAN-Signature"
SCHEME = "v1"
TOLERANCE = 300


def _text(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`."""
    message = f"{timestamp}.".encode() + _text(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The value of the JCAN-Signature header for this body, signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},{SCHEME}={signature(secret, t, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when `header` (the JCAN-Signature value) signs exactly `body` (the raw request
    body, before any JSON parsing) with `secret`, at a time within `tolerance` seconds of
    `now`. Several v1= entries are accepted (one matching is enough: secret rotation);
    anything malformed is False, never an exception."""
    if not header or not secret:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)
