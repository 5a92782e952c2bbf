"""The CSR path: 鍵の作成 「自分で作成したCSRを提出する」 on the form (422 with the message next
to the field, the CSR kept), its key on 確認, then issuing with that CSR (no key made, no
wrapped key, the application's subject) and a pickup page with the certificate files (PEM and
.p7b, as often as asked while the link lives, no PIN)."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from app.application.tables import Application
from app.issuance.service import load_certificate
from app.issuance.tables import Certificate, WrappedKey
from tests.helpers import (
    GOOD_ANSWERS,
    error_of,
    fill_form,
    open_application,
    png_bytes,
    submit_application,
    text_body,
    title,
    upload,
)
from tests.integration.issuance.issuance_helpers import approve, pickup_mails_to, wait_issued
from tests.support.csr import rsa_csr, tampered

PICKUP = re.compile(r"http://testserver\.local(/pickup/t/[A-Za-z0-9_-]+)")


@pytest.fixture
def services(app: Any, ca_settings: Any) -> Any:  # ca_settings: the local CA exists
    return app.state.services


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True)


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


async def test_the_csr_path_from_the_form_to_the_files(
    client: Any, smtp_sink: Any, services: Any, tmp_path: Path
) -> None:
    key, good = rsa_csr(2048)
    csrf = await open_application(client, smtp_sink)
    page = await client.get("/apply")
    assert "鍵の作成" in page.text and 'value="generated" checked' in page.text

    bad = await fill_form(client, csrf, GOOD_ANSWERS, key_source="csr", csr_pem=tampered(good))
    assert bad.status_code == 422
    assert "署名を検証できませんでした" in error_of(bad.text, "csr-pem")
    assert "BEGIN CERTIFICATE REQUEST" in bad.text  # what was pasted is kept
    assert 'value="csr" checked' in bad.text

    ok = await fill_form(client, csrf, GOOD_ANSWERS, key_source="csr", csr_pem=good)
    assert ok.status_code == 303, error_of(ok.text, "csr-pem")
    for kind in ("id_front", "employment"):
        uploaded = await upload(client, csrf, [(f"{kind}.png", png_bytes(), "image/png")], kind)
        assert uploaded.status_code == 303
    confirm = await client.get("/apply/confirm")
    assert "自分で作成したCSRを提出する" in confirm.text
    assert "RSA 2048ビット" in confirm.text and "SHA-256フィンガープリント" in confirm.text
    assert (await submit_application(client, csrf)).headers["location"] == "/apply/complete"
    row = await Application.select().where(Application.status == "submitted").first()
    assert row is not None and good in row["answers"].replace("\\n", "\n")

    application = await approve(str(row["reference"]), services)
    await wait_issued(application["id"])
    [cert] = await Certificate.select()
    assert cert["key_origin"] == "csr" and cert["csr_pem"] == good
    assert await WrappedKey.count() == 0  # no key was ever made here
    issued = _openssl_x509(cert["certificate_pem"], tmp_path)
    # The subject is the application's; the CSR's own is ignored.
    assert "CN = Taro Yamada" in issued and "Token Subject" not in issued

    assert _spki(load_certificate(cert["certificate_pem"]).public_key()) == _spki(key.public_key())

    [mail] = await pickup_mails_to(smtp_sink)
    body = text_body(mail)
    assert "提出いただいたCSR" in body and "PIN" not in body
    link = PICKUP.search(body).group(1)  # type: ignore[union-attr]
    assert (await client.get(link, follow_redirects=False)).headers["location"] == "/pickup"
    shown = await client.get("/pickup")
    assert shown.status_code == 200 and title(shown.text).startswith("証明書の受け取り")
    assert "証明書（PEM）" in shown.text and "PKCS#7（.p7b）" in shown.text
    assert 'name="pin"' not in shown.text and "CN=Taro Yamada" in shown.text
    pressed = await client.post("/pickup", data={"_csrf_token": csrf}, follow_redirects=False)
    assert pressed.status_code == 303 and pressed.headers["location"] == "/pickup"

    for _ in range(2):  # as often as asked while the link lives
        pem = await client.get("/pickup/files/pem")
        assert pem.status_code == 200
        assert pem.headers["content-disposition"] == (
            f'attachment; filename="Taro_Yamada-{cert["serial"]}.pem"'
        )
        (tmp_path / "c.pem").write_bytes(pem.content)
        listed = await asyncio.to_thread(
            _openssl, "crl2pkcs7", "-nocrl", "-certfile", str(tmp_path / "c.pem")
        )
        assert listed.returncode == 0 and pem.content.count(b"BEGIN CERTIFICATE") == 3
        p7b = await client.get("/pickup/files/p7b")
        assert p7b.status_code == 200 and p7b.headers["content-type"] == "application/pkcs7-mime"
        (tmp_path / "c.p7b").write_bytes(p7b.content)
        printed = await asyncio.to_thread(
            _openssl, "pkcs7", "-print_certs", "-inform", "DER", "-in", str(tmp_path / "c.p7b")
        )
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.count("BEGIN CERTIFICATE") == 3 and "Taro Yamada" in printed.stdout
    first = _openssl("x509", "-noout", "-subject", "-in", str(tmp_path / "c.pem"))
    assert first.returncode == 0 and "Taro Yamada" in first.stdout
    [cert] = await Certificate.select()
    assert cert["picked_up_at"] is not None
    assert (await client.get("/pickup/files/p12")).status_code == 404
    assert await WrappedKey.count() == 0


def _openssl_x509(pem: str, tmp_path: Path) -> str:
    path = tmp_path / "issued.pem"
    path.write_text(pem)
    shown = _openssl("x509", "-noout", "-subject", "-in", str(path))
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


async def test_a_generated_key_certificate_has_no_files_route(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    """The standard path keeps its one PKCS#12 download: the files route is not for it."""
    from tests.integration.issuance.issuance_helpers import approved

    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    [mail] = await pickup_mails_to(smtp_sink)
    link = PICKUP.search(text_body(mail)).group(1)  # type: ignore[union-attr]
    await client.get(link, follow_redirects=False)
    assert "PIN" in text_body(mail)
    assert (await client.get("/pickup/files/pem")).status_code == 404
    [cert] = await Certificate.select()
    assert cert["key_origin"] == "generated" and await WrappedKey.count() == 1
