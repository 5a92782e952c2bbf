"""The OCSP responder against a real server process: `openssl ocsp` reports good, then
revoked (with its reason) after a revocation, unknown for a serial never issued; GET works
like POST; the responder certificate is a delegated one with ocsp-nocheck."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID
from pkilint import loader, pkix, validation
from pkilint.pkix import extension, name
from pkilint.pkix import ocsp as pkix_ocsp

from app.db import utcnow
from app.issuance.ca.base import Revocation
from app.issuance.ca.local import LocalCA
from tests.helpers import client_for
from tests.integration.issuance.conftest import request
from tests.integration.revocation.conftest import jcan_serve

Severity = validation.ValidationFindingSeverity


def lint_ocsp_response(der: bytes) -> list[str]:
    """pkilint's RFC 6960 linter (as `lint_ocsp_response lint`): findings of WARNING or worse."""
    container = pkix_ocsp.create_pkix_ocsp_response_validator_container(
        [
            pkix_ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "ocsp")
    return [
        f"{found.finding.severity.name} {found.finding.code}: {found.message or ''}"
        for result in container.validate(document.root)
        for found in result.finding_descriptions
        if found.finding.severity <= Severity.WARNING
    ]


@pytest.fixture
def server(settings: Any, tmp_path: Path, client: Any) -> Iterator[str]:
    """`jcan serve` on a free port, on the suite's database and CA directory."""
    with jcan_serve(settings, tmp_path) as base:
        yield base


async def _openssl_ocsp(base: str, folder: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        "openssl",
        "ocsp",
        "-issuer",
        "issuing.pem",
        "-cert",
        "cert.pem",
        "-CAfile",
        "chain.pem",
        "-url",
        f"{base}/ocsp",
        "-resp_text",
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return out.decode()


async def test_openssl_ocsp_says_good_then_revoked(
    settings: Any, server: str, tmp_path: Path
) -> None:
    ca = LocalCA(settings)
    issued = await ca.issue(request(str(uuid.uuid4())))
    chain = await ca.chain()
    (tmp_path / "cert.pem").write_bytes(issued.certificate_pem)
    (tmp_path / "issuing.pem").write_bytes(chain[0])
    (tmp_path / "chain.pem").write_bytes(b"".join(chain))
    good = await _openssl_ocsp(server, tmp_path)
    assert "Response verify OK" in good, good
    assert "cert.pem: good" in good, good
    assert "OCSP Signing" in good or "OCSP No Check" in good, good

    now = utcnow().replace(microsecond=0)
    await ca.revoke(Revocation(issued.serial, x509.ReasonFlags.key_compromise, now))
    revoked = await _openssl_ocsp(server, tmp_path)
    assert "cert.pem: revoked" in revoked, revoked
    assert "Reason: keyCompromise" in revoked, revoked

    # GET (base64 in the path) answers the same; a serial never issued is unknown.
    issuing = x509.load_pem_x509_certificate(chain[0])
    leaf = issued.certificate
    der = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(leaf, issuing, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    async with httpx.AsyncClient() as http:
        # URL-encoded, as RFC 6960 A.1 has clients send it, and as it is: the base64 text may
        # hold "//" or end in "/", which the router's path loses (read from raw_path).
        text = base64.b64encode(der).decode()
        asked = ocsp.load_der_ocsp_request(der)
        for serial in range(1, 1_000_000):  # a request whose base64 has both (~1 in 2,500)
            odd = base64.b64encode(
                ocsp.OCSPRequestBuilder()
                .add_certificate_by_hash(
                    asked.issuer_name_hash, asked.issuer_key_hash, serial, hashes.SHA1()
                )
                .build()
                .public_bytes(serialization.Encoding.DER)
            ).decode()
            if "//" in odd and odd.endswith("/"):
                break
        for sent in (quote(odd, safe=""), odd):
            probe = ocsp.load_der_ocsp_response((await http.get(f"{server}/ocsp/{sent}")).content)
            assert probe.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL, sent
            assert probe.certificate_status is ocsp.OCSPCertStatus.UNKNOWN, sent
        answer = await http.get(f"{server}/ocsp/{quote(text, safe='')}")
        assert answer.headers["content-type"] == "application/ocsp-response"
        assert lint_ocsp_response(answer.content) == []
        response = ocsp.load_der_ocsp_response(answer.content)
        assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
        assert response.revocation_reason is x509.ReasonFlags.key_compromise
        validity = response.next_update_utc - response.this_update_utc
        assert validity.total_seconds() == settings.revocation.ocsp_validity_hours * 3600
        [responder] = response.certificates
        assert (
            ExtendedKeyUsageOID.OCSP_SIGNING
            in responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        )
        assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
        assert responder.issuer == issuing.subject

        unknown = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(
                response.issuer_name_hash, response.issuer_key_hash, 12345, hashes.SHA1()
            )
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        posted = await http.post(
            f"{server}/ocsp", content=unknown, headers={"Content-Type": "application/ocsp-request"}
        )
        assert posted.status_code == 200 and lint_ocsp_response(posted.content) == []
        assert (
            ocsp.load_der_ocsp_response(posted.content).certificate_status
            is ocsp.OCSPCertStatus.UNKNOWN
        )
        garbage = await http.post(
            f"{server}/ocsp", content=b"nope", headers={"Content-Type": "application/ocsp-request"}
        )
        assert (
            ocsp.load_der_ocsp_response(garbage.content).response_status
            is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )


async def test_without_a_local_ca_the_responder_says_try_later(
    client: Any, variant: Any, tmp_path: Path
) -> None:
    settings = variant(app={"var_dir": tmp_path})  # no `jcan ca init` there
    async with client_for(settings) as other:
        answer = await other.post(
            "/ocsp", content=b"\x30\x00", headers={"Content-Type": "application/ocsp-request"}
        )
        assert answer.status_code == 200
        assert (
            ocsp.load_der_ocsp_response(answer.content).response_status
            is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(b"\x00" * 20, b"\x00" * 20, 1, hashes.SHA1())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        later = await other.post(
            "/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
        )
        assert later.status_code == 200
        assert (
            ocsp.load_der_ocsp_response(later.content).response_status
            is ocsp.OCSPResponseStatus.TRY_LATER
        )
