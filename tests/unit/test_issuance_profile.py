"""The JCAN subject and the S/MIME BR choices have one definition (app/issuance/profile.py):
django-ca's sign call asks for exactly what the local CA writes, and the e-contract events
name the subject's attributes by the profile's short names."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance import profile
from app.issuance.ca.base import IssueRequest, Profile, Subject
from app.issuance.ca.django_ca_request import sign_body

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CSR = (
    x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ignored")]))
    .sign(KEY, hashes.SHA256())
)
# Given name and surname given apart from the CN (a name the CN's split would get wrong).
COMPANY = Subject(
    common_name="Mary Anne Smith",
    organization="Example Trading Co., Ltd.",
    organizational_unit="CN-1234567890123",
    email="mary@example.jp",
    given_name="Mary Anne",
    surname="Smith",
)
LAWYER = Subject(
    common_name="Hanako Suzuki",
    organization="",
    organizational_unit="JFBA-12345",
    email="hanako@example.jp",
)


def _body(subject: Subject, client_auth: bool) -> dict:
    request = IssueRequest(
        request_id="r",
        csr_pem=CSR.public_bytes(serialization.Encoding.PEM),
        subject=subject,
        profile=Profile(validity_days=365, client_auth=client_auth),
    )
    return sign_body(request, CSR, "tag", datetime(2026, 12, 2, tzinfo=UTC))


def test_django_ca_is_asked_for_the_subject_the_local_profile_writes() -> None:
    for subject in (COMPANY, LAWYER):
        asked = [(a["oid"], a["value"]) for a in _body(subject, True)["subject"]]
        written = [(a.oid.dotted_string, a.value) for a in profile.subject_name(subject)]
        assert asked == written
    given = [
        a for a in _body(COMPANY, True)["subject"] if a["oid"] == NameOID.GIVEN_NAME.dotted_string
    ]
    assert [a["value"] for a in given] == ["Mary Anne"]


def test_django_ca_is_asked_for_the_profiles_extensions() -> None:
    by_type = {e["type"]: e for e in _body(COMPANY, True)["extensions"]}
    usage = profile.key_usage(KEY.public_key())
    assert by_type["key_usage"]["critical"] is True
    assert by_type["key_usage"]["value"] == [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
    ]
    assert usage.digital_signature and usage.content_commitment and usage.key_encipherment
    assert by_type["extended_key_usage"]["value"] == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
        ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
    ]
    [policy] = by_type["certificate_policies"]["value"]
    assert policy["policy_identifier"] == "2.23.140.1.5.3.2"  # sponsor-validated, multipurpose
    strict = {e["type"]: e for e in _body(LAWYER, False)["extensions"]}
    assert strict["extended_key_usage"]["value"] == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
    ]
    [policy] = strict["certificate_policies"]["value"]
    assert policy["policy_identifier"] == "2.23.140.1.5.4.3"  # individual-validated, strict


def test_the_events_name_subject_attributes_by_the_profiles_short_names() -> None:
    fields = profile.subject_fields(profile.subject_name(COMPANY))
    assert fields == {
        "C": "JP",
        "O": "Example Trading Co., Ltd.",
        "OU": "CN-1234567890123",
        "organizationIdentifier": "NTRJP-1234567890123",
        "surname": "Smith",
        "givenName": "Mary Anne",
        "CN": "Mary Anne Smith",
        "E": "mary@example.jp",
    }
    assert profile.subject_fields(profile.subject_name(LAWYER))["title"] == "JFBA-12345"
