"""The OCSP responder of the local CA (RFC 6960): a delegated responder certificate (issued by
the issuing CA with id-kp-OCSPSigning and ocsp-nocheck, made on first use and renewed before
it ends) and the signed answer good / revoked / unknown for a request."""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca import keystore
from app.issuance.ca.base import CertificateAuthority, CertStatus
from app.settings import Settings

RESPONDER_DAYS = 30  # a short life: ocsp-nocheck means clients never ask about it
RENEW_BEFORE = timedelta(days=7)
KEY_FILE = "ocsp.key.pem"
CERT_FILE = "ocsp.crt.pem"


@dataclass(frozen=True)
class Responder:
    issuing: x509.Certificate
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def issuer_hashes(
    issuing: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes]:
    """issuerNameHash and issuerKeyHash of the issuing CA under the request's algorithm."""
    name = hashes.Hash(algorithm)
    name.update(issuing.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(_subject_public_key(issuing))
    return name.finalize(), key.finalize()


def _subject_public_key(certificate: x509.Certificate) -> bytes:
    """The BIT STRING of the certificate's subjectPublicKey (what issuerKeyHash hashes)."""
    public = certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if isinstance(public, ec.EllipticCurvePublicKey):  # a django-ca CA may be EC
        return public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def make_responder_certificate(
    hierarchy: keystore.Hierarchy, settings: Settings, now: datetime
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing = hierarchy.issuing
    start = now.replace(microsecond=0) - timedelta(minutes=5)
    issuer_ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.ca.organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.ca.issuing_name} OCSP Responder"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=RESPONDER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
        .sign(hierarchy.issuing_key, hashes.SHA256())
    )
    return certificate, key


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def load_or_make(settings: Settings, now: datetime) -> Responder:
    """The responder's certificate and key from VAR_DIR/ca, made (or renewed) under a file
    lock shared by every process when missing or within 7 days of its end."""
    directory = settings.ca_dir
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "ocsp.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        hierarchy = keystore.load(settings)
        cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
        if cert_path.exists() and key_path.exists():
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            fresh = certificate.not_valid_after_utc - RENEW_BEFORE > now
            if fresh and certificate.issuer == hierarchy.issuing.subject:
                key = serialization.load_pem_private_key(
                    key_path.read_bytes(), settings.ca_passphrase()
                )
                assert isinstance(key, rsa.RSAPrivateKey)
                return Responder(hierarchy.issuing, certificate, key)
        certificate, key = make_responder_certificate(hierarchy, settings, now)
        encryption = serialization.BestAvailableEncryption(settings.ca_passphrase())
        _write_private(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            ),
        )
        keystore.write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
        return Responder(hierarchy.issuing, certificate, key)


class OcspResponder:
    """Answers OCSP requests for the certificates of one CA (its status() is the truth)."""

    def __init__(self, settings: Settings, ca: CertificateAuthority) -> None:
        self.settings = settings
        self.ca = ca
        self._responder: Responder | None = None

    async def responder(self, now: datetime) -> Responder:
        current = self._responder
        if current is None or current.certificate.not_valid_after_utc - RENEW_BEFORE <= now:
            current = self._responder = await asyncio.to_thread(load_or_make, self.settings, now)
        return current

    async def answer(self, der: bytes, now: datetime) -> bytes:
        """The DER OCSPResponse for a DER OCSPRequest (malformedRequest when unreadable)."""
        try:
            request = ocsp.load_der_ocsp_request(der)
            algorithm = request.hash_algorithm
            serial = request.serial_number
        except Exception:
            return unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        responder = await self.responder(now)
        name_hash, key_hash = issuer_hashes(responder.issuing, algorithm)
        if (request.issuer_name_hash, request.issuer_key_hash) != (name_hash, key_hash):
            return unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status = await self.ca.status(serial)
        this_update = now.replace(microsecond=0)
        next_update = this_update + timedelta(hours=self.settings.revocation.ocsp_validity_hours)
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=name_hash,
            issuer_key_hash=key_hash,
            serial_number=serial,
            algorithm=algorithm,
            cert_status={
                CertStatus.GOOD: ocsp.OCSPCertStatus.GOOD,
                CertStatus.REVOKED: ocsp.OCSPCertStatus.REVOKED,
                CertStatus.UNKNOWN: ocsp.OCSPCertStatus.UNKNOWN,
            }[status.status],
            this_update=this_update,
            next_update=next_update,
            revocation_time=status.revoked_at if status.status is CertStatus.REVOKED else None,
            revocation_reason=status.reason if status.status is CertStatus.REVOKED else None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
        builder = builder.certificates([responder.certificate])
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = await asyncio.to_thread(builder.sign, responder.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)


def unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
