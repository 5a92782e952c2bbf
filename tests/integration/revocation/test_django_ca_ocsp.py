"""The portal's /ocsp with CA_BACKEND=django-ca, against a real django-ca 3.2 server and a real
`jcan serve`: `openssl ocsp` at the portal's URL reports good, then revoked with its reason,
answered and signed by django-ca's own responder; GET works like POST; a request for another
issuer is refused without asking django-ca; django-ca unreachable or silent is tryLater.

SQLite pass only, like the other django-ca tests (one django-ca server for the session).
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.issuance.ca.base import Revocation, TransientCAError
from app.issuance.ca.django_ca import DjangoCA
from app.settings import DjangoCASettings
from tests.helpers import client_for, django_ca_settings
from tests.integration.issuance.test_django_ca import request
from tests.integration.revocation.conftest import jcan_serve
from tests.integration.revocation.test_ocsp import lint_ocsp_response
from tests.support.services import TEST_DATABASE_URL, free_port

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="the django-ca path runs in the SQLite pass only"
)
OCSP_REQUEST = {"Content-Type": "application/ocsp-request"}


@pytest.fixture(scope="module")
def dca_settings(django_ca_server: Any) -> DjangoCASettings:
    return django_ca_settings(django_ca_server)


@pytest.fixture
def portal(
    settings: Any, tmp_path: Path, client: Any, dca_settings: DjangoCASettings
) -> Iterator[str]:
    """`jcan serve` with CA_BACKEND=django-ca."""
    with jcan_serve(
        settings,
        tmp_path,
        CA_BACKEND="django-ca",
        DJANGO_CA_URL=dca_settings.url,
        DJANGO_CA_CA_SERIAL=dca_settings.ca_serial,
        DJANGO_CA_USERNAME=dca_settings.username,
        DJANGO_CA_PASSWORD=dca_settings.password,
    ) as base:
        yield base


def ocsp_requests(server: Any) -> int:
    """The OCSP requests django-ca itself logged."""
    log = (server.directory / "server.log").read_text(errors="replace")
    return len(re.findall(rf'"POST /django_ca/ocsp/{server.ca_serial}/cert/ HTTP', log))


async def openssl_ocsp(url: str, folder: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        *("openssl", "ocsp", "-issuer", "issuing.pem", "-cert", "cert.pem"),
        *("-CAfile", "chain.pem", "-url", url, "-resp_text"),
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode()


def request_for(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def ocsp_hashes(request: bytes) -> tuple[bytes, bytes]:
    parsed = ocsp.load_der_ocsp_request(request)
    return parsed.issuer_name_hash, parsed.issuer_key_hash


def status_of(der: bytes) -> ocsp.OCSPResponseStatus:
    return ocsp.load_der_ocsp_response(der).response_status


async def test_openssl_ocsp_at_the_portal_says_good_then_revoked_signed_by_django_ca(
    dca_settings: DjangoCASettings, portal: str, tmp_path: Path, django_ca_server: Any
) -> None:
    ca = DjangoCA(dca_settings)
    issued = await ca.issue(request())
    chain = await ca.chain()
    (tmp_path / "cert.pem").write_bytes(issued.certificate_pem)
    (tmp_path / "issuing.pem").write_bytes(chain[0])
    (tmp_path / "chain.pem").write_bytes(b"".join(chain))
    asked = ocsp_requests(django_ca_server)
    good = await openssl_ocsp(f"{portal}/ocsp", tmp_path)
    assert "Response verify OK" in good, good
    assert "cert.pem: good" in good, good
    assert ocsp_requests(django_ca_server) == asked + 1  # django-ca answered, not the portal

    await ca.revoke(Revocation(issued.serial, x509.ReasonFlags.key_compromise, datetime.now(UTC)))
    revoked = await openssl_ocsp(f"{portal}/ocsp", tmp_path)
    assert "Response verify OK" in revoked, revoked
    assert "cert.pem: revoked" in revoked, revoked
    assert "Reason: keyCompromise" in revoked, revoked

    # GET (base64 in the path) answers the same: django-ca's delegated responder signed it.
    issuing = x509.load_pem_x509_certificate(chain[0])
    der = request_for(issued.certificate, issuing)
    unknown = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(*ocsp_hashes(der), x509.random_serial_number(), hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    async with httpx.AsyncClient() as http:
        # URL-encoded as RFC 6960 A.1 has it (a trailing "/" of the base64 would be lost).
        encoded = quote(base64.b64encode(der).decode(), safe="")
        answer = await http.get(f"{portal}/ocsp/{encoded}")
        # A serial django-ca never issued: django-ca 3.2 answers internalError (not a signed
        # `unknown`), and the portal passes that on.
        never = await http.post(f"{portal}/ocsp", content=unknown, headers=OCSP_REQUEST)
    assert status_of(never.content) is ocsp.OCSPResponseStatus.INTERNAL_ERROR
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ocsp-response"
    response = ocsp.load_der_ocsp_response(answer.content)
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is x509.ReasonFlags.key_compromise
    [responder] = response.certificates
    assert responder.issuer == issuing.subject
    assert (
        ExtendedKeyUsageOID.OCSP_SIGNING
        in responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert lint_ocsp_response(answer.content) == []
    assert response.next_update_utc is not None
    max_age = int(answer.headers["cache-control"].removeprefix("max-age="))
    assert 0 < max_age <= (response.next_update_utc - datetime.now(UTC)).total_seconds() + 1


async def test_a_request_for_another_issuer_is_unauthorized_without_asking_django_ca(
    dca_settings: DjangoCASettings, variant: Any, django_ca_server: Any
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some Other CA")])
    now = datetime.now(UTC)
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    settings = variant(ca={"backend": "django-ca"}, django_ca=dca_settings.__dict__)
    asked = ocsp_requests(django_ca_server)
    async with client_for(settings) as client:
        answer = await client.post("/ocsp", content=request_for(other, other), headers=OCSP_REQUEST)
        garbage = await client.post("/ocsp", content=b"nope", headers=OCSP_REQUEST)
    assert status_of(answer.content) is ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert answer.headers["cache-control"] == "no-store"
    assert status_of(garbage.content) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert ocsp_requests(django_ca_server) == asked


async def test_django_ca_unreachable_is_try_later(
    dca_settings: DjangoCASettings, variant: Any
) -> None:
    ca = DjangoCA(dca_settings)
    issued = await ca.issue(request())
    issuing = x509.load_pem_x509_certificate((await ca.chain())[0])
    der = request_for(issued.certificate, issuing)
    down = replace(dca_settings, url=f"http://127.0.0.1:{free_port()}/django_ca")
    settings = variant(ca={"backend": "django-ca"}, django_ca=down.__dict__)
    async with client_for(settings) as client:
        answer = await client.post("/ocsp", content=der, headers=OCSP_REQUEST)
    assert answer.status_code == 200
    assert status_of(answer.content) is ocsp.OCSPResponseStatus.TRY_LATER
    assert answer.headers["cache-control"] == "no-store"


async def test_a_silent_django_ca_is_given_up_on_within_the_bound(
    dca_settings: DjangoCASettings,
) -> None:
    ca = DjangoCA(replace(dca_settings, timeout=1.0))
    issued = await ca.issue(request())
    der = request_for(issued.certificate, x509.load_pem_x509_certificate((await ca.chain())[0]))
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        ca.base = f"http://127.0.0.1:{silent.getsockname()[1]}/django_ca"
        started = time.monotonic()
        with pytest.raises(TransientCAError):
            await ca.ocsp(der)
        assert time.monotonic() - started < 3
