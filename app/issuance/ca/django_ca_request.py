"""The body of django-ca's sign call: the JCAN subject and the S/MIME extensions the RA sets.

The REST API signs with exactly the extensions it is sent plus the CA's own (AKI, SKI,
basicConstraints, CRL distribution point, AIA); the named profile is not applied. So the RA sets
keyUsage, extendedKeyUsage, subjectAltName and certificatePolicies itself, and the validity
through not_after. The subject and the extensions' contents come from app.issuance.profile,
the local CA's profile: one definition of the JCAN subject and the S/MIME BR choices.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from app.issuance import profile
from app.issuance.ca.base import IssueRequest

SIGNATURE_HASH = "SHA-256"
# keyUsage bits by django-ca's names (those of cryptography's x509.KeyUsage); encipher_only and
# decipher_only are never set (they need keyAgreement).
KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def extensions(request: IssueRequest, public_key: Any) -> list[dict[str, Any]]:
    """keyUsage, EKU, SAN rfc822Name and the S/MIME BR policy as app.issuance.profile makes
    them for the local CA, written as django-ca's JSON."""
    usage = profile.key_usage(public_key)
    level, generation = profile.certificate_type(request.subject, request.profile)
    return [
        {
            "type": "key_usage",
            "critical": True,
            "value": [bit for bit in KEY_USAGE_BITS if getattr(usage, bit)],
        },
        {
            "type": "extended_key_usage",
            "critical": False,
            "value": [oid.dotted_string for oid in profile.extended_key_usages(generation)],
        },
        {
            "type": "subject_alternative_name",
            "critical": False,
            "value": [{"type": "email", "value": request.subject.email}],
        },
        {
            "type": "certificate_policies",
            "critical": False,
            "value": [
                {
                    "policy_identifier": profile.sbr_policy_oid(level, generation).dotted_string,
                    "policy_qualifiers": None,
                }
            ],
        },
    ]


def not_after(request: IssueRequest, now: datetime) -> datetime:
    """The end of the validity as django-ca will write it. It keeps whole minutes at both ends:
    the start is its current minute, and the seconds of the end we send are dropped. So the
    end is the minute before the same minute `validity_days` later: the inclusive period is
    59 seconds short of that many days, or a minute more when django-ca's minute is already
    one past ours (tests/integration/issuance/test_django_ca.py); never longer."""
    profile.check_validity(request.profile)
    start = now.replace(second=0, microsecond=0)
    return start + timedelta(days=request.profile.validity_days) - timedelta(minutes=1)


def sign_body(
    request: IssueRequest, csr: x509.CertificateSigningRequest, tag: str, now: datetime
) -> dict[str, Any]:
    name = profile.subject_name(request.subject)
    return {
        "csr": request.csr_pem.decode("ascii"),
        "subject": [{"oid": a.oid.dotted_string, "value": a.value} for a in name],
        "algorithm": SIGNATURE_HASH,
        "not_after": not_after(request, now).isoformat(),
        "extensions": extensions(request, csr.public_key()),
        "profile": tag,  # the idempotency tag (see app.issuance.ca.django_ca)
    }
