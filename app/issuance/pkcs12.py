"""The PKCS#12 file the applicant downloads: 標準 (PBES2/AES-256, SHA-256 MAC) or 互換
(3DES + SHA-1 MAC, what older Windows, macOS and Android import)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12

STANDARD = "standard"
COMPATIBLE = "compatible"
FORMATS = (STANDARD, COMPATIBLE)


def _encryption(pin: str, fmt: str) -> serialization.KeySerializationEncryption:
    if fmt == STANDARD:
        return serialization.BestAvailableEncryption(pin.encode())
    if fmt == COMPATIBLE:
        return (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(pin.encode())
        )
    raise ValueError(f"unknown PKCS#12 format {fmt!r}")


def build(
    key_der: bytes, certificate_pem: bytes, chain_pem: bytes, pin: str, fmt: str, name: str
) -> bytes:
    """The key, its certificate and the CA chain (issuing CA first), protected by `pin`."""
    # The key was made by this portal (app.issuance.keys) and comes out of AES-GCM, whose tag
    # already proves it is the bytes that were sealed: OpenSSL's RSA key check (~60 ms of CPU,
    # most of a download's cost) would only re-verify our own key generation.
    key = serialization.load_der_private_key(
        key_der, password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA key")
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
    return pkcs12.serialize_key_and_certificates(
        name.encode(), key, certificate, chain, _encryption(pin, fmt)
    )


def file_name(common_name: str, serial_hex: str) -> str:
    """`<CN>-<serial>.p12`, the CN's spaces as underscores and nothing a header could break on."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in common_name.strip())
    return f"{safe or 'certificate'}-{serial_hex}.p12"
