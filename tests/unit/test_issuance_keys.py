"""The key wrapped under the pickup token, and the PKCS#12 file real readers open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app import cpu
from app.issuance import keys, pkcs12
from app.links.tokens import new_token
from tests.support.pkcs12 import nss_import, openssl_info


def _self_signed(key_der: bytes) -> bytes:
    """A throwaway certificate for the key (the real ones come from the CA)."""
    key = serialization.load_der_private_key(key_der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Taro Yamada")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def material() -> keys.KeyMaterial:
    return keys.make_key_and_csr(2048, "Taro Yamada")


def test_csr_is_signed_by_the_key(material: keys.KeyMaterial) -> None:
    csr = x509.load_pem_x509_csr(material.csr_pem)
    assert csr.is_signature_valid
    key = serialization.load_der_private_key(material.key_der, password=None)
    assert csr.public_key() == key.public_key()


def test_wrapped_key_opens_with_its_token_only(material: keys.KeyMaterial) -> None:
    token = new_token()
    wrapped = keys.wrap(material.key_der, token, "jcan-1-approval-2")
    assert material.key_der not in wrapped.encode()
    assert keys.unwrap(wrapped, token, "jcan-1-approval-2") == material.key_der
    with pytest.raises(keys.UnwrapError):
        keys.unwrap(wrapped, new_token(), "jcan-1-approval-2")
    with pytest.raises(keys.UnwrapError):  # bound to its request: not movable to another one
        keys.unwrap(wrapped, token, "jcan-1-approval-3")


def test_two_wraps_of_one_key_differ(material: keys.KeyMaterial) -> None:
    token = new_token()
    assert keys.wrap(material.key_der, token, "r") != keys.wrap(material.key_der, token, "r")


async def test_generate_runs_in_the_process_pool() -> None:
    made = await keys.generate(2048, "Hanako Sato")
    csr = x509.load_pem_x509_csr(made.csr_pem)
    assert csr.subject.rfc4514_string() == "CN=Hanako Sato"
    cpu.shutdown()


@pytest.mark.parametrize("fmt", pkcs12.FORMATS)
def test_pkcs12_opens_in_openssl_and_nss(
    material: keys.KeyMaterial, fmt: str, tmp_path: Path
) -> None:
    certificate = _self_signed(material.key_der)
    pin = "correct horse"
    content = pkcs12.build(material.key_der, certificate, certificate, pin, fmt, "Taro Yamada")
    path = tmp_path / "f.p12"
    path.write_bytes(content)
    info = openssl_info(path, pin)
    assert info.returncode == 0, info.stderr
    expected = "AES-256-CBC" if fmt == pkcs12.STANDARD else "pbeWithSHA1And3-KeyTripleDES-CBC"
    assert expected in info.stderr
    assert openssl_info(path, "wrong-pin").returncode != 0
    assert "Taro Yamada" in nss_import(path, pin, tmp_path / "nss")


def test_file_name_is_cn_and_serial() -> None:
    assert pkcs12.file_name("Taro Yamada", "1a2b") == "Taro_Yamada-1a2b.p12"
    assert pkcs12.file_name('a"b\r\n', "ff") == "a_b-ff.p12"
