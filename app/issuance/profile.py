"""The end-entity certificate profile (JCAN subject, CA/B Forum S/MIME BR extensions): pure
functions from (public key, Subject, Profile, issuing CA certificate, settings) to a builder.

Which S/MIME BR certificate type (SBR 7.1.6.1):
- with an organisation (O, OU CN-<法人番号>) and a personal name: sponsor-validated; without
  one: individual-validated (O and OU are then prohibited, so a qualification such as
  JFBA-<no> goes into `title`).
- generation: multipurpose when the profile asks for clientAuth (strict forbids it next to
  emailProtection), strict otherwise. Legacy is not used (it may not be issued after 2025-07-15).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import IntEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca.base import CAError, Profile, Subject
from app.settings import SMIME_SBR_ARC, Settings

MAX_VALIDITY_DAYS = 825  # SBR 6.3.2
CORPORATE_NUMBER_OU = re.compile(r"^CN-(\d{13})$")
CRL_PATH = "/ca/crl"
OCSP_PATH = "/ocsp"  # the responder (app/revocation/ocsp.py)
ISSUING_CERT_PATH = "/ca/issuing.crt"
ROOT_CERT_PATH = "/ca/root.crt"
HASH = hashes.SHA256()


class Level(IntEnum):
    """SBR validation levels, numbered as in the reserved policy OIDs 2.23.140.1.5.<level>."""

    SPONSOR = 3
    INDIVIDUAL = 4


class Generation(IntEnum):
    """SBR generations, numbered as in 2.23.140.1.5.<level>.<generation>."""

    MULTIPURPOSE = 2
    STRICT = 3


def certificate_type(subject: Subject, profile: Profile) -> tuple[Level, Generation]:
    level = Level.SPONSOR if subject.organization else Level.INDIVIDUAL
    generation = Generation.MULTIPURPOSE if profile.client_auth else Generation.STRICT
    return level, generation


def sbr_policy_oid(level: Level, generation: Generation) -> x509.ObjectIdentifier:
    return x509.ObjectIdentifier(f"{SMIME_SBR_ARC}.{int(level)}.{int(generation)}")


def personal_name(subject: Subject) -> tuple[str, str]:
    """(given name, surname): the explicit fields, else common_name split at its first space."""
    if subject.given_name or subject.surname:
        return subject.given_name, subject.surname
    given, _, family = subject.common_name.strip().partition(" ")
    return given, family.strip()


def organization_identifier(subject: Subject) -> str:
    if subject.organization_identifier:
        return subject.organization_identifier
    match = CORPORATE_NUMBER_OU.match(subject.organizational_unit)
    if match is None:
        raise CAError("an organisation's certificate needs its 法人番号 (OU CN-<13 digits>)")
    return f"NTR{subject.country}-{match.group(1)}"  # SBR 7.1.4.2.2 d: national trade register


# The short names the portal gives subject attributes (the e-contract events' `subject`): the
# attributes subject_name() writes.
SUBJECT_KEYS: dict[x509.ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.COUNTRY_NAME: "C",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.SURNAME: "surname",
    NameOID.TITLE: "title",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}


def subject_fields(name: x509.Name) -> dict[str, str]:
    """A certificate's subject by the short names (an unnamed attribute by its dotted OID)."""
    return {SUBJECT_KEYS.get(a.oid, a.oid.dotted_string): str(a.value) for a in name}


def subject_name(subject: Subject) -> x509.Name:
    """C, O, OU, organizationIdentifier, surname, givenName, title, CN, E: written most general
    first, so that RFC 4514 (and Windows) read it E, CN, ..., O, C=JP as JCAN shows it."""
    given, family = personal_name(subject)
    if not subject.common_name or not (given or family):
        raise CAError("the subject needs a personal name (CN in romaji)")
    if not subject.email:
        raise CAError("the subject needs an email address")
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, subject.country)]
    if subject.organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.organization))
        if subject.organizational_unit:
            attributes.append(
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_unit)
            )
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_identifier(subject))
        )
    if family:
        attributes.append(x509.NameAttribute(NameOID.SURNAME, family))
    if given:
        attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, given))
    if not subject.organization and subject.organizational_unit:
        attributes.append(x509.NameAttribute(NameOID.TITLE, subject.organizational_unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name))
    attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject.email))
    return x509.Name([x509.RelativeDistinguishedName([a]) for a in attributes])


def check_validity(profile: Profile) -> None:
    if not 1 <= profile.validity_days <= MAX_VALIDITY_DAYS:
        raise CAError(
            f"validity of {profile.validity_days} days refused (1 to {MAX_VALIDITY_DAYS} days)"
        )


def key_usage(public_key: CertificatePublicKeyTypes) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def extended_key_usages(generation: Generation) -> list[x509.ObjectIdentifier]:
    """emailProtection, and clientAuth next to it only in the multipurpose generation."""
    usages = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    if generation is Generation.MULTIPURPOSE:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    return usages


def check_key(public_key: CertificatePublicKeyTypes) -> None:
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CAError("only RSA subscriber keys are issued")
    if public_key.key_size not in (2048, 3072, 4096):
        raise CAError(f"RSA key of {public_key.key_size} bits refused (2048, 3072 or 4096)")


def urls(settings: Settings) -> dict[str, str]:
    """The http URLs the certificate points at; the portal serves them (app.issuance.ca)."""
    origin = settings.ca_public_url
    return {
        "crl": origin + CRL_PATH,
        "ocsp": origin + OCSP_PATH,
        "issuing": origin + ISSUING_CERT_PATH,
        "root": origin + ROOT_CERT_PATH,
    }


def certificate_builder(
    public_key: CertificatePublicKeyTypes,
    subject: Subject,
    profile: Profile,
    issuer: x509.Certificate,
    settings: Settings,
    now: datetime,
) -> x509.CertificateBuilder:
    """Everything of the certificate but the signature (the caller signs with SHA-256)."""
    check_validity(profile)
    check_key(public_key)
    level, generation = certificate_type(subject, profile)
    not_before = now.replace(microsecond=0)
    # SBR counts the validity inclusively: notAfter is one second short of the whole days.
    not_after = not_before + timedelta(days=profile.validity_days) - timedelta(seconds=1)
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    where = urls(settings)
    return (
        x509.CertificateBuilder()
        .subject_name(subject_name(subject))
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(public_key), critical=True)
        .add_extension(x509.ExtendedKeyUsage(extended_key_usages(generation)), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(subject.email)]), critical=False
        )
        .add_extension(
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(sbr_policy_oid(level, generation), None),
                    x509.PolicyInformation(x509.ObjectIdentifier(settings.ca.policy_oid), None),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(where["crl"])],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(where["ocsp"]),
                    ),
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(where["issuing"]),
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
