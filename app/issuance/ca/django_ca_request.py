"""The body of django-ca's sign call: the JCAN subject and the S/MIME extensions the RA sets.

The REST API signs with exactly the extensions it is sent plus the CA's own (AKI, SKI,
basicConstraints, CRL distribution point, AIA); the named profile is not applied. So the RA sets
keyUsage, extendedKeyUsage, subjectAltName and certificatePolicies itself, and the validity
through not_after.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca.base import CAError, IssueRequest, Subject

MAX_VALIDITY_DAYS = 825  # S/MIME BR 6.3.2
SMIME_SBR_ARC = "2.23.140.1.5"  # S/MIME BR reserved policy OIDs: .<level>.<generation>
SIGNATURE_HASH = "SHA-256"
CORPORATE_NUMBER_OU = re.compile(r"^CN-(\d{13})$")


def organization_identifier(subject: Subject) -> str:
    """S/MIME BR 7.1.4.2.2 d (sponsor-validated): NTRJP-<法人番号> from OU CN-<法人番号>."""
    explicit = str(getattr(subject, "organization_identifier", "") or "")
    if explicit:
        return explicit
    match = CORPORATE_NUMBER_OU.match(subject.organizational_unit)
    if match is None:
        raise CAError("an organisation's certificate needs its 法人番号 (OU CN-<13 digits>)")
    return f"NTR{subject.country}-{match.group(1)}"


def subject_name(subject: Subject) -> x509.Name:
    """C, O, OU, organizationIdentifier, surname, givenName, CN, E in that order (RFC 4514
    reads it E, CN, ..., O, C=JP as JCAN shows it); given name and surname from the romaji CN.
    The same subject as the local CA's profile (app.issuance.profile) writes."""
    if not subject.common_name or not subject.email:
        raise CAError("the subject needs a personal name (CN in romaji) and an email address")
    given, _, family = subject.common_name.strip().partition(" ")
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, subject.country)]
    if subject.organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.organization))
    if subject.organization and subject.organizational_unit:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_unit)
        )
    if subject.organization:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier(subject))
        )
    if family.strip():
        attributes.append(x509.NameAttribute(NameOID.SURNAME, family.strip()))
    attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, given))
    if not subject.organization and subject.organizational_unit:
        # Individual-validated: O and OU are prohibited, the qualification goes into title.
        attributes.append(x509.NameAttribute(NameOID.TITLE, subject.organizational_unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name))
    attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject.email))
    return x509.Name(attributes)


def policy_oid(subject: Subject, client_auth: bool) -> str:
    """Sponsor-validated (3) with an organisation, individual (4) without; multipurpose (2)
    when clientAuth sits next to emailProtection, strict (3) otherwise."""
    level = 3 if subject.organization else 4
    generation = 2 if client_auth else 3
    return f"{SMIME_SBR_ARC}.{level}.{generation}"


def extensions(request: IssueRequest, public_key: Any) -> list[dict[str, Any]]:
    """keyUsage critical (digitalSignature, nonRepudiation; keyEncipherment for RSA), EKU
    emailProtection (+ clientAuth), SAN rfc822Name, certificatePolicies — as django-ca's JSON."""
    usages = ["digital_signature", "content_commitment"]
    if isinstance(public_key, rsa.RSAPublicKey):
        usages.append("key_encipherment")
    purposes = [ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string]
    if request.profile.client_auth:
        purposes.append(ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string)
    policy = policy_oid(request.subject, request.profile.client_auth)
    return [
        {"type": "key_usage", "critical": True, "value": usages},
        {"type": "extended_key_usage", "critical": False, "value": purposes},
        {
            "type": "subject_alternative_name",
            "critical": False,
            "value": [{"type": "email", "value": request.subject.email}],
        },
        {
            "type": "certificate_policies",
            "critical": False,
            "value": [{"policy_identifier": policy, "policy_qualifiers": None}],
        },
    ]


def not_after(validity_days: int, now: datetime) -> datetime:
    """django-ca starts the validity at the current minute; ending one second before the same
    minute `validity_days` later keeps the inclusive period at exactly that many days."""
    if not 1 <= validity_days <= MAX_VALIDITY_DAYS:
        raise CAError(f"validity of {validity_days} days refused (1 to {MAX_VALIDITY_DAYS})")
    start = now.replace(second=0, microsecond=0)
    return start + timedelta(days=validity_days) - timedelta(seconds=1)


def sign_body(
    request: IssueRequest, csr: x509.CertificateSigningRequest, tag: str, now: datetime
) -> dict[str, Any]:
    name = subject_name(request.subject)
    return {
        "csr": request.csr_pem.decode("ascii"),
        "subject": [{"oid": a.oid.dotted_string, "value": a.value} for a in name],
        "algorithm": SIGNATURE_HASH,
        "not_after": not_after(request.profile.validity_days, now).isoformat(),
        "extensions": extensions(request, csr.public_key()),
        "profile": tag,  # the idempotency tag (see app.issuance.ca.django_ca)
    }
