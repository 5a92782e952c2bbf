"""The subscriber's key: made in a process pool (app.issuance.cpu, off the event loop), its
CSR, and the key wrapped under the pickup token (HKDF-SHA256 -> AES-256-GCM) so only the
token's holder can unwrap it."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from app import cpu

SALT_SIZE = 16
NONCE_SIZE = 12
INFO = b"jcan pickup key v1"


class UnwrapError(ValueError):
    """The token does not open this wrapped key (wrong token, or the data was altered)."""


@dataclass(frozen=True)
class KeyMaterial:
    key_der: bytes  # PKCS#8 DER, unencrypted: only ever held in memory, then wrapped
    csr_pem: bytes


def make_key_and_csr(key_size: int, common_name: str) -> KeyMaterial:
    """A fresh RSA key and a CSR signed by it (the CA writes the real subject; the CSR's only
    proves possession). CPU-heavy (tens of ms): call through `generate`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyMaterial(der, csr.public_bytes(serialization.Encoding.PEM))


async def generate(key_size: int, common_name: str) -> KeyMaterial:
    """make_key_and_csr in the background process pool: the caller's event loop keeps serving."""
    return await cpu.run(cpu.BACKGROUND, make_key_and_csr, key_size, common_name)


def _derive(token: str, salt: bytes, context: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO + b"|" + context)
    return hkdf.derive(token.encode())


def wrap(key_der: bytes, token: str, context: str) -> str:
    """key_der encrypted under a key derived from the token; `context` (the request id) is
    bound in as associated data, so a wrapped key cannot be moved to another certificate."""
    salt, nonce = os.urandom(SALT_SIZE), os.urandom(NONCE_SIZE)
    sealed = AESGCM(_derive(token, salt, context.encode())).encrypt(
        nonce, key_der, context.encode()
    )
    return base64.urlsafe_b64encode(salt + nonce + sealed).decode()


def unwrap(wrapped: str, token: str, context: str) -> bytes:
    """The key (PKCS#8 DER) back; UnwrapError for a wrong token or altered data."""
    try:
        raw = base64.urlsafe_b64decode(wrapped.encode())
    except ValueError as exc:
        raise UnwrapError("malformed") from exc
    salt, nonce = raw[:SALT_SIZE], raw[SALT_SIZE : SALT_SIZE + NONCE_SIZE]
    sealed = raw[SALT_SIZE + NONCE_SIZE :]
    try:
        return AESGCM(_derive(token, salt, context.encode())).decrypt(
            nonce, sealed, context.encode()
        )
    except InvalidTag as exc:
        raise UnwrapError("wrong token") from exc
