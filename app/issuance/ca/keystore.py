"""The local CA's files under VAR_DIR/ca: making the root and issuing CA (`jcan ca init`),
loading them with their encrypted keys, and the pre-signed CRL file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca.base import CAError
from app.settings import Settings

CA_KEY_SIZE = 3072
ROOT_YEARS = 20
ISSUING_YEARS = 10
FILES = ("root.key.pem", "root.crt.pem", "issuing.key.pem", "issuing.crt.pem")


@dataclass(frozen=True)
class Paths:
    directory: Path

    @property
    def root_key(self) -> Path:
        return self.directory / "root.key.pem"

    @property
    def root_cert(self) -> Path:
        return self.directory / "root.crt.pem"

    @property
    def issuing_key(self) -> Path:
        return self.directory / "issuing.key.pem"

    @property
    def issuing_cert(self) -> Path:
        return self.directory / "issuing.crt.pem"

    @property
    def crl(self) -> Path:
        return self.directory / "crl.der"

    def existing(self) -> list[Path]:
        return [self.directory / name for name in FILES if (self.directory / name).exists()]


@dataclass(frozen=True)
class Hierarchy:
    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key: rsa.RSAPrivateKey


def _name(settings: Settings, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.ca.organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def make_hierarchy(settings: Settings, now: datetime) -> tuple[Hierarchy, rsa.RSAPrivateKey]:
    """A self-signed root and an issuing CA (pathLen 0) signed by it, RSA and SHA-256."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_SIZE)
    issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_SIZE)
    start = now.replace(microsecond=0) - timedelta(minutes=5)
    root_name = _name(settings, settings.ca.root_name)
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )
    issuing = (
        x509.CertificateBuilder()
        .subject_name(_name(settings, settings.ca.issuing_name))
        .issuer_name(root_name)
        .public_key(issuing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * ISSUING_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return Hierarchy(root=root, issuing=issuing, issuing_key=issuing_key), root_key


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write atomically (a temporary file renamed over the target); keys readable by us only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def write_atomically(path: Path, data: bytes) -> None:
    _write(path, data, private=False)


def save(settings: Settings, hierarchy: Hierarchy, root_key: rsa.RSAPrivateKey) -> Paths:
    paths = Paths(settings.ca_dir)
    encryption = serialization.BestAvailableEncryption(settings.ca_passphrase())
    for path, key in ((paths.root_key, root_key), (paths.issuing_key, hierarchy.issuing_key)):
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        _write(path, pem, private=True)
    for path, cert in ((paths.root_cert, hierarchy.root), (paths.issuing_cert, hierarchy.issuing)):
        _write(path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return paths


def load_certificates(settings: Settings) -> tuple[x509.Certificate, x509.Certificate]:
    """(issuing, root); CAError when `jcan ca init` has not been run."""
    paths = Paths(settings.ca_dir)
    try:
        issuing = x509.load_pem_x509_certificate(paths.issuing_cert.read_bytes())
        root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    except FileNotFoundError:
        raise CAError(f"no local CA in {paths.directory}: run `jcan ca init`") from None
    return issuing, root


def load(settings: Settings) -> Hierarchy:
    """The certificates and the issuing key. An unencrypted key file is refused."""
    issuing, root = load_certificates(settings)
    data = Paths(settings.ca_dir).issuing_key.read_bytes()
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data:
        raise CAError("the local CA key file is not encrypted: refused (CA_KEY_PASSPHRASE)")
    try:
        key = serialization.load_pem_private_key(data, password=settings.ca_passphrase())
    except (ValueError, TypeError):
        raise CAError("the local CA key does not open with CA_KEY_PASSPHRASE") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CAError("the local CA key is not an RSA key")
    return Hierarchy(root=root, issuing=issuing, issuing_key=key)
