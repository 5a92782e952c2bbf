"""CSRs as an applicant's IC card or HSM would send them: good ones, and the broken kinds."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID


def csr_pem(key: CertificateIssuerPrivateKeyTypes, common_name: str = "Token Subject") -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def rsa_csr(key_size: int = 2048) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    return key, csr_pem(key)


def ec_csr() -> str:
    return csr_pem(ec.generate_private_key(ec.SECP256R1()))


def tampered(pem: str) -> str:
    """The same request with one bit of its signature flipped: parses, does not verify."""
    der = bytearray(x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # inside the signature BIT STRING (the last field)
    csr = x509.load_der_x509_csr(bytes(der))
    return csr.public_bytes(serialization.Encoding.PEM).decode()
