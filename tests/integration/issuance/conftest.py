"""The local CA for the issuance tests: made once per session under the suite's VAR_DIR."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.db import utcnow
from app.issuance.ca import keystore
from app.issuance.ca.base import IssueRequest, Profile, Subject

COMPANY = Subject(
    common_name="Taro Yamada",
    organization="Intersect Communications Inc.",
    organizational_unit="CN-7010401012345",
    email="taro.yamada@example.jp",
)
LAWYER = Subject(
    common_name="Hanako Suzuki",
    organization="",
    organizational_unit="JFBA-12345",
    email="hanako@example.jp",
    given_name="Hanako",
    surname="Suzuki",
)


@pytest.fixture(scope="session")
def ca_settings(settings: Any) -> Any:
    """The suite's settings with the CA URLs on a public name (pkilint refuses internal
    names such as testserver.local in CRL and AIA URLs) and a local CA made in VAR_DIR/ca."""
    result = replace(settings, ca=replace(settings.ca, public_url="http://pki.example.jp"))
    if not keystore.Paths(result.ca_dir).existing():
        hierarchy, root_key = keystore.make_hierarchy(result, utcnow())
        keystore.save(result, hierarchy, root_key)
    return result


def csr_for(key_size: int = 2048) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ignored")]))
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM)


def request(
    request_id: str,
    subject: Subject = COMPANY,
    profile: Profile | None = None,
    key_size: int = 2048,
) -> IssueRequest:
    _, csr = csr_for(key_size)
    return IssueRequest(
        request_id=request_id,
        csr_pem=csr,
        subject=subject,
        profile=profile or Profile(validity_days=365),
    )
