"""The django-ca adapter against a real django-ca 3.2 server: issue, once per request id, revoke,
status, CRL, chain, errors, and pkilint's S/MIME BR linter on what it signs.

Engine-independent (HTTP to django-ca only): runs in the SQLite pass of `make test`, not again
in the PostgreSQL one. JCAN_SKIP_DJANGO_CA=1 skips it.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca.base import (
    CAError,
    CertStatus,
    IssueRequest,
    Profile,
    Revocation,
    Subject,
    TransientCAError,
)
from app.issuance.ca.django_ca import DjangoCA, request_tag
from app.issuance.ca.django_ca_request import sign_body
from app.settings import DjangoCASettings
from tests.helpers import django_ca_settings
from tests.support.services import TEST_DATABASE_URL, free_port

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="engine-independent: runs in the SQLite pass only"
)

COMPANY = Subject(
    common_name="Taro Yamada",
    organization="Example Trading Co., Ltd.",
    organizational_unit="CN-1234567890123",
    email="taro.yamada@example.jp",
)
LAWYER = Subject(
    common_name="Hanako Suzuki",
    organization="",
    organizational_unit="JFBA-12345",
    email="hanako@example.jp",
)


@pytest.fixture(scope="module")
def dca_settings(django_ca_server: Any) -> DjangoCASettings:
    return django_ca_settings(django_ca_server)


@pytest.fixture
def ca(dca_settings: DjangoCASettings) -> DjangoCA:
    return DjangoCA(dca_settings)


def csr_pem(key: rsa.RSAPrivateKey | None = None) -> bytes:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored by the RA")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def request(
    subject: Subject = COMPANY, profile: Profile | None = None, csr: bytes | None = None
) -> IssueRequest:
    return IssueRequest(
        request_id=f"application-{secrets.token_hex(8)}",
        csr_pem=csr or csr_pem(),
        subject=subject,
        profile=profile or Profile(validity_days=730, client_auth=True),
    )


def values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(oid)]


async def test_issue_signs_the_subject_and_the_smime_extensions(ca: DjangoCA) -> None:
    issued = await ca.issue(request())
    cert = issued.certificate
    subject = cert.subject
    assert values(subject, NameOID.COMMON_NAME) == ["Taro Yamada"]
    assert values(subject, NameOID.ORGANIZATION_NAME) == ["Example Trading Co., Ltd."]
    assert values(subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["CN-1234567890123"]
    assert values(subject, NameOID.EMAIL_ADDRESS) == ["taro.yamada@example.jp"]
    assert values(subject, NameOID.COUNTRY_NAME) == ["JP"]
    assert values(subject, NameOID.GIVEN_NAME) == ["Taro"]
    assert values(subject, NameOID.SURNAME) == ["Yamada"]
    assert "ignored" not in subject.rfc4514_string()
    extensions = cert.extensions
    san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["taro.yamada@example.jp"]
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert usage.value.key_encipherment and not usage.value.data_encipherment
    policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.5.3.2"]
    points = extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert str(points[0].full_name[0].value).startswith("http://")
    # Validity: 730 days counted inclusively (RFC 5280), never more. django-ca keeps whole
    # minutes: it starts at its current minute and drops the end's seconds, so the period is
    # 59 s short, or 119 s when its minute is already one past the adapter's (seen in CI).
    period = cert.not_valid_after_utc - cert.not_valid_before_utc + timedelta(seconds=1)
    assert cert.not_valid_after_utc.second == 0 and cert.not_valid_before_utc.second == 0
    short = timedelta(days=730) - period
    assert short in (timedelta(seconds=59), timedelta(seconds=119)), short
    assert abs(cert.not_valid_before_utc - datetime.now(UTC)) < timedelta(minutes=2)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.serial_number == issued.serial and cert.serial_number.bit_length() > 64
    # The chain: the issuing CA signed it, the root signed the issuing CA, the root is last.
    issuing, root = (x509.load_pem_x509_certificate(pem) for pem in issued.chain_pem)
    cert.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    assert root.subject == root.issuer and "NOT FOR PRODUCTION" in root.subject.rfc4514_string()


async def test_strict_profile_without_client_auth(ca: DjangoCA) -> None:
    issued = await ca.issue(request(profile=Profile(validity_days=365, client_auth=False)))
    extensions = issued.certificate.extensions
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    policies = extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.5.3.3"]


async def tagged(dca_settings: DjangoCASettings, request_id: str) -> list[dict[str, Any]]:
    """What django-ca itself holds for this request (its API, not the adapter)."""
    async with httpx.AsyncClient(
        auth=(dca_settings.username, dca_settings.password), timeout=10
    ) as client:
        response = await client.get(
            f"{dca_settings.url}/api/ca/{dca_settings.ca_serial}/certs/",
            params={"profile": request_tag(request_id), "revoked": "true"},
        )
    response.raise_for_status()
    return list(response.json())


async def test_the_same_request_id_gives_one_certificate(
    ca: DjangoCA, dca_settings: DjangoCASettings
) -> None:
    first = request()
    issued = await ca.issue(first)
    # A retry (the job ran twice, or the worker died after django-ca answered).
    again = await DjangoCA(dca_settings).issue(first)
    assert again.serial == issued.serial and again.certificate_pem == issued.certificate_pem
    assert len(await tagged(dca_settings, first.request_id)) == 1


async def test_a_certificate_signed_before_the_caller_died_is_found_not_signed_again(
    ca: DjangoCA, dca_settings: DjangoCASettings
) -> None:
    lost = request()
    csr = x509.load_pem_x509_csr(lost.csr_pem)
    body = sign_body(lost, csr, request_tag(lost.request_id), datetime.now(UTC))
    async with httpx.AsyncClient(
        auth=(dca_settings.username, dca_settings.password), timeout=10
    ) as client:  # the sign call went out, django-ca signed, and the answer never arrived
        response = await client.post(
            f"{dca_settings.url}/api/ca/{dca_settings.ca_serial}/sign/", json=body
        )
    assert response.status_code == 200
    [signed] = await tagged(dca_settings, lost.request_id)
    issued = await ca.issue(lost)
    assert issued.serial == int(signed["certificate"]["serial"], 16)
    assert len(await tagged(dca_settings, lost.request_id)) == 1


async def test_concurrent_callers_of_one_request_id_agree_on_one_live_certificate(
    dca_settings: DjangoCASettings,
) -> None:
    one = request()
    results = await asyncio.gather(*(DjangoCA(dca_settings).issue(one) for _ in range(3)))
    assert len({r.serial for r in results}) == 1
    live = [c for c in await tagged(dca_settings, one.request_id) if not c["revoked"]]
    assert len(live) == 1
    assert int(live[0]["certificate"]["serial"], 16) == results[0].serial


async def test_a_request_id_reused_with_another_key_is_refused(ca: DjangoCA) -> None:
    first = request()
    await ca.issue(first)
    with pytest.raises(CAError, match="another public key"):
        await ca.issue(replace(first, csr_pem=csr_pem()))


async def test_validity_over_825_days_is_refused_before_asking(ca: DjangoCA) -> None:
    with pytest.raises(CAError, match="826 days"):
        await ca.issue(request(profile=Profile(validity_days=826)))


async def test_revoke_status_and_crl(ca: DjangoCA, django_ca_server: Any) -> None:
    compromised = await ca.issue(request())
    plain = await ca.issue(request())
    assert (await ca.status(compromised.serial)).status is CertStatus.GOOD
    when = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    before = datetime.now(UTC) - timedelta(seconds=5)
    revocation = Revocation(
        serial=compromised.serial,
        reason=x509.ReasonFlags.key_compromise,
        revoked_at=datetime.now(UTC),
        invalidity_date=when,
    )
    await ca.revoke(revocation)
    await ca.revoke(revocation)  # a retry is not an error
    await ca.revoke(Revocation(serial=plain.serial, reason=None, revoked_at=datetime.now(UTC)))
    state = await ca.status(compromised.serial)
    assert state.status is CertStatus.REVOKED
    assert state.reason is x509.ReasonFlags.key_compromise and state.invalidity_date == when
    assert state.revoked_at is not None and state.revoked_at >= before
    unspecified = await ca.status(plain.serial)
    assert unspecified.status is CertStatus.REVOKED and unspecified.reason is None
    # django-ca serves the CRL it generated last (cached): regenerate, as its periodic task does.
    django_ca_server.refresh_crls()
    crl = x509.load_der_x509_crl(await ca.crl())
    issuing = x509.load_pem_x509_certificate((await ca.chain())[0])
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc <= timedelta(days=10)
    entry = crl.get_revoked_certificate_by_serial_number(compromised.serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    assert entry.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc
    other = crl.get_revoked_certificate_by_serial_number(plain.serial)
    assert other is not None
    with pytest.raises(x509.ExtensionNotFound):  # no reason: reasonCode omitted, not unspecified
        other.extensions.get_extension_for_class(x509.CRLReason)


async def test_unknown_serials(ca: DjangoCA) -> None:
    unknown = x509.random_serial_number()
    assert (await ca.status(unknown)).status is CertStatus.UNKNOWN
    with pytest.raises(CAError, match="does not know"):
        await ca.revoke(Revocation(serial=unknown, reason=None, revoked_at=datetime.now(UTC)))


async def test_unreachable_is_transient_and_refusals_are_not(
    dca_settings: DjangoCASettings,
) -> None:
    down = DjangoCA(replace(dca_settings, url=f"http://127.0.0.1:{free_port()}/django_ca"))
    with pytest.raises(TransientCAError):
        await down.issue(request())
    with pytest.raises(TransientCAError):
        await down.crl()
    wrong = DjangoCA(replace(dca_settings, password="not-the-password"))
    with pytest.raises(CAError) as refused:
        await wrong.issue(request())
    assert not isinstance(refused.value, TransientCAError)
    assert "401" in str(refused.value)
    with pytest.raises(CAError, match="DJANGO_CA_URL"):
        DjangoCA(DjangoCASettings())


def smime_findings(der: bytes) -> list[str]:
    """pkilint's `lint_cabf_smime_cert lint --detect`: findings of WARNING or worse."""
    from pkilint import loader, validation
    from pkilint.cabf import smime
    from pkilint.pkix import certificate

    cert = loader.load_der_certificate(der, "certificate")
    detected = smime.determine_validation_level_and_generation(cert)
    assert detected is not None, "no S/MIME BR reserved policy OID"
    level, generation = detected
    container = certificate.create_pkix_certificate_validator_container(
        smime.create_decoding_validators(),
        smime.create_subscriber_validators(level, generation),
    )
    worst = validation.ValidationFindingSeverity.WARNING
    return [
        f"{found.finding.severity.name} {found.finding.code} at {result.node.path}"
        for result in container.validate(cert.root)
        for found in result.finding_descriptions
        if found.finding.severity <= worst
    ]


@pytest.mark.parametrize(
    ("subject", "client_auth", "kind"),
    [
        (COMPANY, True, "SPONSORED-MULTIPURPOSE"),
        (COMPANY, False, "SPONSORED-STRICT"),
        (LAWYER, True, "INDIVIDUAL-MULTIPURPOSE"),
    ],
)
async def test_pkilint_smime_linter_on_what_django_ca_signs(
    ca: DjangoCA, subject: Subject, client_auth: bool, kind: str
) -> None:
    profile = Profile(validity_days=730, client_auth=client_auth)
    issued = await ca.issue(request(subject=subject, profile=profile))
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    assert smime_findings(der) == [], kind
