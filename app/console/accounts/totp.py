"""The second factor: TOTP (pyotp, 30 s steps, ±1 step, each step accepted once), its QR code
drawn on the server (segno, an SVG data: URI), single-use recovery codes (HMAC stored), and
the secret sealed at rest (AES-GCM under a key derived from SECRET_KEY, bound to the operator)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP_SECONDS = 30
WINDOW = 1  # the step before and after the current one are accepted (clock drift)
RECOVERY_CODES = 10
# Crockford base 32 without I, L, O, U: 10 characters = 50 bits per code.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_secret() -> str:
    """160 random bits in base 32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def seal(secret: str, key: bytes, operator_id: int) -> str:
    """The base-32 secret as stored: nonce + AES-GCM(20 raw bytes), bound to the operator's id
    (a sealed secret copied to another row does not open there); 64 characters."""
    raw = base64.b32decode(secret)
    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, raw, _bound(operator_id))
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def unseal(stored: str, key: bytes, operator_id: int) -> str:
    """The base-32 secret from what seal() stored; "" for none or one that does not open
    (another SECRET_KEY, another row): such an operator simply has no working code."""
    if not stored:
        return ""
    try:
        sealed = base64.urlsafe_b64decode(stored.encode("ascii"))
        raw = AESGCM(key).decrypt(sealed[:12], sealed[12:], _bound(operator_id))
    except (ValueError, binascii.Error, InvalidTag):
        return ""
    return base64.b32encode(raw).decode("ascii")


def _bound(operator_id: int) -> bytes:
    return f"jcan-totp:{operator_id}".encode()


def spaced(secret: str) -> str:
    """The secret in groups of four, for typing it into an authenticator by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of an otpauth:// URI as an SVG data: URI (CSP allows img-src data:)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


def normalise(code: str) -> str:
    """Full-width digits and letters to ASCII, spaces and hyphens dropped, upper case."""
    text = unicodedata.normalize("NFKC", code)
    return "".join(c for c in text if c.isalnum()).upper()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (current ±WINDOW), or None."""
    code = normalise(code)
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current + WINDOW, current - WINDOW - 1, -1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def code_at(secret: str, now: datetime, offset: int = 0) -> str:
    """The code of the step `offset` steps from `now` (tests and the bench use it)."""
    step = int(now.timestamp()) // STEP_SECONDS + offset
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def new_recovery_codes() -> list[str]:
    """Ten codes shown once, written XXXXX-XXXXX."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_hash(code: str, key: bytes) -> str:
    """HMAC-SHA256 under a key derived from SECRET_KEY: the table alone cannot be searched
    for the 50-bit codes."""
    text = normalise(code).translate(_READ_AS)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise(code)) == 10
