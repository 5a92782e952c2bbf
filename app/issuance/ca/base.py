"""The CA protocol: what every adapter (local, django-ca, a commercial CA's LRA interface) does.

The portal is the RA: it decides who gets a certificate and with which subject; the CA signs,
revokes, and publishes revocation state. Every call is async; CPU-heavy signing in an adapter
runs off the event loop (asyncio.to_thread or a process pool).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from cryptography import x509


class CAError(Exception):
    """The CA refused or failed; the message says why (for logs and the console, not applicants)."""


class TransientCAError(CAError):
    """Worth another try later: the CA is unreachable, timed out, or answered 5xx."""


@dataclass(frozen=True)
class Subject:
    """The subject the certificate will carry, exactly as the console previews it."""

    common_name: str  # romaji name
    organization: str
    organizational_unit: str  # CN-<法人番号> or the qualification (JFBA-<no>, CPA-<no>, ...)
    email: str  # also the SAN rfc822Name
    country: str = "JP"
    # The S/MIME BR (sponsor- and individual-validated, multipurpose/strict) want the personal
    # name in givenName/surname too; empty = split from common_name ("Given Family").
    given_name: str = ""
    surname: str = ""
    # organizationIdentifier (SBR 7.1.4.2.2 d), e.g. NTRJP-<法人番号>; empty = derived from an
    # organizational_unit CN-<法人番号>.
    organization_identifier: str = ""


@dataclass(frozen=True)
class Profile:
    """What the applicant chose and the LRA allows."""

    validity_days: int  # 365 or 730 (never over 825)
    client_auth: bool = True  # add clientAuth to the EKU next to emailProtection


@dataclass(frozen=True)
class IssueRequest:
    """One request to sign. request_id is the idempotency key: the same id asked twice (a job
    retried, a worker killed after the CA answered) returns the same certificate, never two."""

    request_id: str
    csr_pem: (
        bytes  # PKCS#10, signed by the subscriber's key (made in the worker, or the applicant's)
    )
    subject: Subject
    profile: Profile


@dataclass(frozen=True)
class Issued:
    certificate_pem: bytes
    chain_pem: tuple[bytes, ...]  # issuing CA first, up to (and including) the root
    serial: int

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)


class CertStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Status:
    status: CertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None  # None: no reason given (reasonCode omitted)
    invalidity_date: datetime | None = None


@dataclass(frozen=True)
class Revocation:
    serial: int
    reason: x509.ReasonFlags | None  # None = reasonCode omitted; never ReasonFlags.unspecified
    revoked_at: datetime
    invalidity_date: datetime | None = None  # keyCompromise: when the key was compromised
    extra: dict[str, str] = field(default_factory=dict)


class CertificateAuthority(Protocol):
    name: str

    async def issue(self, request: IssueRequest) -> Issued:
        """Sign the CSR with `subject` and `profile` (the CSR's own subject is ignored).
        Idempotent by request.request_id."""
        ...

    async def revoke(self, revocation: Revocation) -> None:
        """Revoke a certificate this CA issued. Revoking an already revoked serial is not an
        error (retries); an unknown serial raises CAError."""
        ...

    async def crl(self) -> bytes:
        """The current CRL, DER."""
        ...

    async def status(self, serial: int) -> Status:
        """good / revoked (with time and reason) / unknown."""
        ...

    async def chain(self) -> tuple[bytes, ...]:
        """The CA certificates (PEM), issuing CA first, root last."""
        ...


@runtime_checkable
class OcspForwarding(Protocol):
    """A CA that answers OCSP itself (django-ca): the portal's /ocsp forwards to it."""

    async def ocsp(self, request_der: bytes) -> bytes:
        """The CA's DER OCSPResponse to a DER OCSPRequest."""
        ...

    async def chain(self) -> tuple[bytes, ...]: ...
