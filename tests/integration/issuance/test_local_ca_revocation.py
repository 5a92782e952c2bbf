"""Revocation at the local CA: status, the CRL (pkilint, openssl), its routes and numbers."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from app.db import utcnow
from app.issuance.ca.base import CAError, CertStatus, Revocation
from app.issuance.ca.crl import number_of
from app.issuance.ca.local import LocalCA
from app.issuance.ca.tables import LocalCaCrl
from tests.integration.issuance.conftest import request
from tests.support.pkilint import lint_crl


async def _issued(ca: LocalCA) -> int:
    return (await ca.issue(request(str(uuid.uuid4())))).serial


def openssl_crl_text(der: bytes, tmp_path: Path) -> str:
    (tmp_path / "crl.der").write_bytes(der)
    result = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=30,
    )
    return result.stdout


async def test_status_is_good_then_revoked_with_reason_and_unknown_for_others(client, ca_settings):
    ca = LocalCA(ca_settings)
    serial = await _issued(ca)
    assert (await ca.status(serial)).status is CertStatus.GOOD
    assert (await ca.status(serial + 1)).status is CertStatus.UNKNOWN
    now = utcnow().replace(microsecond=0)
    compromised = now - timedelta(days=2)
    await ca.revoke(Revocation(serial, x509.ReasonFlags.key_compromise, now, compromised))
    status = await ca.status(serial)
    assert status.status is CertStatus.REVOKED and status.revoked_at == now
    assert status.reason is x509.ReasonFlags.key_compromise
    assert status.invalidity_date == compromised


async def test_revoking_twice_is_a_retry_and_an_unknown_serial_is_refused(client, ca_settings):
    ca = LocalCA(ca_settings)
    serial = await _issued(ca)
    first = utcnow().replace(microsecond=0)
    await ca.revoke(Revocation(serial, x509.ReasonFlags.superseded, first))
    await ca.revoke(Revocation(serial, x509.ReasonFlags.key_compromise, first + timedelta(hours=1)))
    status = await ca.status(serial)
    assert status.revoked_at == first and status.reason is x509.ReasonFlags.superseded
    with pytest.raises(CAError, match="not issued here"):
        await ca.revoke(Revocation(12345, None, first))


async def test_the_crl_lists_reasons_omits_reason_none_and_passes_pkilint(
    client, ca_settings, tmp_path
):
    ca = LocalCA(ca_settings)
    compromised, plain, unspecified, good = [await _issued(ca) for _ in range(4)]
    now = utcnow().replace(microsecond=0)
    await ca.revoke(
        Revocation(compromised, x509.ReasonFlags.key_compromise, now, now - timedelta(days=1))
    )
    await ca.revoke(Revocation(plain, None, now))
    await ca.revoke(Revocation(unspecified, x509.ReasonFlags.unspecified, now))
    der = await ca.crl()
    findings = lint_crl(der)
    assert findings == [], "\n".join(findings)
    crl = x509.load_der_x509_crl(der)
    issuing = x509.load_pem_x509_certificate((await ca.chain())[0])
    assert crl.is_signature_valid(issuing.public_key())
    assert crl.issuer == issuing.subject
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=ca_settings.ca.crl_days)
    assert crl.get_revoked_certificate_by_serial_number(good) is None
    entry = crl.get_revoked_certificate_by_serial_number(compromised)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    assert entry.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc
    for serial in (plain, unspecified):
        assert len(crl.get_revoked_certificate_by_serial_number(serial).extensions) == 0
    text = openssl_crl_text(der, tmp_path)
    blocks = text.split("Serial Number: ")
    # openssl prints the serial's bytes in hex (a leading 0 when the top nibble is 0)
    by_serial = {block.split()[0].upper().lstrip("0"): block for block in blocks[1:]}
    compromised_block = by_serial[format(compromised, "X")]
    assert "Key Compromise" in compromised_block and "Invalidity Date" in compromised_block
    plain_block = by_serial[format(plain, "X")]
    assert "Reason Code" not in plain_block and "Unspecified" not in text
    assert "Authority Key Identifier" in text and "CRL Number" in text


async def test_each_revocation_signs_a_crl_with_a_higher_number(client, ca_settings):
    ca = LocalCA(ca_settings)
    before = number_of(await ca.crl())
    serial = await _issued(ca)
    await ca.revoke(Revocation(serial, x509.ReasonFlags.cessation_of_operation, utcnow()))
    after = await ca.crl()
    assert number_of(after) > before
    assert x509.load_der_x509_crl(after).get_revoked_certificate_by_serial_number(serial)
    assert ca.paths.crl.read_bytes() == after  # served from the pre-signed file
    assert number_of(await LocalCA(ca_settings).publish_crl()) > number_of(after)


async def test_a_burst_of_fetches_of_a_missing_crl_signs_it_once_and_answers_all(
    client, ca_settings
):
    """Fifty at once, more than the default thread pool's threads: before, each took the
    CRL's file lock in a thread of its own and the process hung with every thread waiting."""
    ca = LocalCA(ca_settings)
    ca.paths.crl.unlink(missing_ok=True)
    signed_before = await LocalCaCrl.count()
    answers = await asyncio.wait_for(asyncio.gather(*(ca.crl() for _ in range(50))), 60)
    assert len(set(answers)) == 1
    assert await LocalCaCrl.count() == signed_before + 1
    assert ca.paths.crl.read_bytes() == answers[0]


async def test_routes_serve_the_crl_and_the_ca_certificates(client, ca_settings):
    ca = LocalCA(ca_settings)
    issuing, root = (x509.load_pem_x509_certificate(pem) for pem in await ca.chain())
    crl = await client.get("/ca/crl")
    assert crl.status_code == 200
    assert crl.headers["content-type"] == "application/pkix-crl"
    assert "max-age" in crl.headers["cache-control"]
    assert "set-cookie" not in crl.headers  # a shared cache may keep it
    assert x509.load_der_x509_crl(crl.content).is_signature_valid(issuing.public_key())
    for path, cert in (("/ca/issuing.crt", issuing), ("/ca/root.crt", root)):
        answer = await client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pkix-cert"
        assert "set-cookie" not in answer.headers
        assert x509.load_der_x509_certificate(answer.content) == cert


async def test_the_daily_job_publishes_a_crl_and_skips_without_a_ca(client, ca_settings, tmp_path):
    from dataclasses import replace

    from tasks.publish_crl import publish_crl

    before = number_of(await LocalCA(ca_settings).crl())
    assert await publish_crl({"settings": ca_settings}) > before
    empty = replace(ca_settings, app=replace(ca_settings.app, var_dir=tmp_path))
    assert await publish_crl({"settings": empty}) == 0


async def test_routes_answer_404_before_jcan_ca_init(settings, tmp_path):
    from dataclasses import replace

    from tests.helpers import client_for

    without_ca = replace(settings, app=replace(settings.app, var_dir=tmp_path))
    async with client_for(without_ca) as browser:
        for path in ("/ca/crl", "/ca/issuing.crt", "/ca/root.crt"):
            answer = await browser.get(path)
            assert answer.status_code == 404, path
