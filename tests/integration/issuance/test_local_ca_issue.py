"""The local CA signs certificates that pass pkilint's S/MIME BR linter, once per request id."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID

from app.issuance.ca import select
from app.issuance.ca.base import CAError, Profile
from app.issuance.ca.local import LocalCA
from app.issuance.ca.tables import LocalCaCertificate
from tests.integration.issuance.conftest import COMPANY, LAWYER, request
from tests.support.pkilint import lint_smime_certificate, smime_type


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize(
    ("subject", "client_auth", "expected_type"),
    [
        (COMPANY, True, "SPONSORED-MULTIPURPOSE"),
        (COMPANY, False, "SPONSORED-STRICT"),
        (LAWYER, True, "INDIVIDUAL-MULTIPURPOSE"),
        (LAWYER, False, "INDIVIDUAL-STRICT"),
    ],
)
@pytest.mark.parametrize("validity_days", [365, 730])
@pytest.mark.parametrize("key_size", [2048, 3072])
async def test_every_issued_certificate_passes_pkilint_without_warnings(
    client, ca_settings, subject, client_auth, expected_type, validity_days, key_size
):
    ca = LocalCA(ca_settings)
    profile = Profile(validity_days=validity_days, client_auth=client_auth)
    issued = await ca.issue(request(str(uuid.uuid4()), subject, profile, key_size))
    der = _der(issued.certificate_pem)
    assert smime_type(der) == expected_type
    findings = lint_smime_certificate(der)
    assert findings == [], "\n".join(findings)
    cert = issued.certificate
    assert cert.public_key().key_size == key_size
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == timedelta(days=validity_days) - timedelta(seconds=1)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert (x509.ExtendedKeyUsageOID.CLIENT_AUTH in usages) is client_auth
    assert x509.ExtendedKeyUsageOID.EMAIL_PROTECTION in usages


async def test_the_certificate_carries_the_jcan_subject_and_the_portal_urls(client, ca_settings):
    issued = await LocalCA(ca_settings).issue(request(str(uuid.uuid4())))
    cert = issued.certificate
    assert cert.subject.rfc4514_string() == (
        "1.2.840.113549.1.9.1=taro.yamada@example.jp,CN=Taro Yamada,2.5.4.42=Taro,"
        "2.5.4.4=Yamada,2.5.4.97=NTRJP-7010401012345,OU=CN-7010401012345,"
        "O=Intersect Communications Inc.,C=JP"
    )
    assert cert.serial_number.bit_length() > 64 and issued.serial == cert.serial_number
    ext = cert.extensions
    assert ext.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name
    ) == ["taro.yamada@example.jp"]
    key_usage = ext.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical and key_usage.value.key_encipherment
    assert key_usage.value.digital_signature and key_usage.value.content_commitment
    crl_dp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == "http://pki.example.jp/ca/crl"
    aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    by_method = {d.access_method: d.access_location.value for d in aia}
    assert (
        by_method[AuthorityInformationAccessOID.CA_ISSUERS]
        == "http://pki.example.jp/ca/issuing.crt"
    )
    assert by_method[AuthorityInformationAccessOID.OCSP] == "http://pki.example.jp/ocsp"
    policies = [
        p.policy_identifier.dotted_string
        for p in ext.get_extension_for_class(x509.CertificatePolicies).value
    ]
    assert policies == ["2.23.140.1.5.3.2", ca_settings.ca.policy_oid]


async def test_a_request_id_signed_already_returns_the_same_certificate(client, ca_settings):
    ca = LocalCA(ca_settings)
    first = await ca.issue(request("app-1"))
    again = await LocalCA(ca_settings).issue(request("app-1"))  # another key, a new process
    assert again.certificate_pem == first.certificate_pem and again.serial == first.serial
    assert await LocalCaCertificate.count().where(LocalCaCertificate.request_id == "app-1") == 1


async def test_two_concurrent_issues_of_one_request_id_make_exactly_one_row(client, ca_settings):
    one, two = await asyncio.gather(
        LocalCA(ca_settings).issue(request("app-race")),
        LocalCA(ca_settings).issue(request("app-race")),
    )
    assert one.serial == two.serial and one.certificate_pem == two.certificate_pem
    assert await LocalCaCertificate.count().where(LocalCaCertificate.request_id == "app-race") == 1


@pytest.mark.parametrize("days", [826, 1095, 0])
async def test_validity_over_825_days_is_refused(client, ca_settings, days):
    with pytest.raises(CAError, match="validity"):
        await LocalCA(ca_settings).issue(request(f"long-{days}", profile=Profile(days)))
    assert await LocalCaCertificate.count() == 0


async def test_an_organisation_without_its_corporate_number_is_refused(client, ca_settings):
    from dataclasses import replace

    subject = replace(COMPANY, organizational_unit="Sales")
    with pytest.raises(CAError, match="法人番号"):
        await LocalCA(ca_settings).issue(request("no-number", subject))


async def test_openssl_verifies_the_certificate_against_the_chain(client, ca_settings, tmp_path):
    ca = select(ca_settings)
    issued = await ca.issue(request(str(uuid.uuid4())))
    issuing, root = await ca.chain()
    assert issued.chain_pem == (issuing, root)
    assert x509.load_pem_x509_certificate(issuing).subject.rfc4514_string() == (
        "CN=JCAN Portal TEST Issuing CA,O=JCAN Portal TEST,C=JP"
    )
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "issuing.pem").write_bytes(issuing)
    (tmp_path / "cert.pem").write_bytes(issued.certificate_pem)
    for purpose in ("smimesign", "sslclient"):
        result = openssl(
            "verify",
            "-purpose",
            purpose,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "cert.pem",
            cwd=tmp_path,
        )
        assert result.returncode == 0 and "cert.pem: OK" in result.stdout, result.stderr


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=30
    )


async def test_an_unencrypted_ca_key_file_is_refused(client, ca_settings, tmp_path):
    from dataclasses import replace

    from cryptography.hazmat.primitives.asymmetric import rsa

    from app.issuance.ca import keystore

    other = replace(ca_settings, app=replace(ca_settings.app, var_dir=tmp_path))
    hierarchy, root_key = keystore.make_hierarchy(other, ca_settings_now())
    keystore.save(other, hierarchy, root_key)
    plain = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    keystore.Paths(other.ca_dir).issuing_key.write_bytes(plain)
    with pytest.raises(CAError, match="not encrypted"):
        await LocalCA(other).issue(request("plain-key"))


def ca_settings_now():
    from app.db import utcnow

    return utcnow()
