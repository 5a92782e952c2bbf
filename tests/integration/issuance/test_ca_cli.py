"""`jcan ca init | show` and `jcan crl`, run as real processes."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from app.issuance.ca import keystore
from tests.integration.test_cli import jcan


def test_init_makes_an_encrypted_ca_refuses_to_overwrite_and_if_missing_keeps_it(tmp_path):
    env = {"VAR_DIR": str(tmp_path), "CA_ROOT_NAME": "Test Root X"}
    made = jcan("ca", "init", env=env)
    assert made.returncode == 0, made.stderr
    paths = keystore.Paths(tmp_path / "ca")
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in paths.root_key.read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in paths.issuing_key.read_bytes()
    assert oct(paths.issuing_key.stat().st_mode & 0o777) == "0o600"
    root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    issuing = x509.load_pem_x509_certificate(paths.issuing_cert.read_bytes())
    assert root.subject.rfc4514_string() == "CN=Test Root X,O=JCAN Portal TEST,C=JP"
    assert issuing.issuer == root.subject
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert isinstance(issuing.signature_hash_algorithm, hashes.SHA256)
    before = paths.issuing_key.read_bytes()

    again = jcan("ca", "init", env=env)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    kept = jcan("ca", "init", "--if-missing", env=env)
    assert kept.returncode == 0 and "exists" in kept.stdout
    assert paths.issuing_key.read_bytes() == before

    shown = jcan("ca", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    fingerprint = root.fingerprint(hashes.SHA256()).hex(":").upper()
    assert fingerprint in shown.stdout and "CN=Test Root X" in shown.stdout
    assert str(paths.issuing_key) in shown.stdout


def test_show_without_a_ca_says_how_to_make_one(tmp_path):
    shown = jcan("ca", "show", env={"VAR_DIR": str(tmp_path)})
    assert shown.returncode == 1 and "jcan ca init" in shown.stderr


def test_production_refuses_an_empty_ca_passphrase(tmp_path):
    env = {
        "VAR_DIR": str(tmp_path),
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "BASE_URL": "https://lra.example.jp",
        "DOCUMENT_KEY": "dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE",
        "CA_KEY_PASSPHRASE": "",
    }
    refused = jcan("ca", "init", env=env)
    assert refused.returncode == 2 and "CA_KEY_PASSPHRASE" in refused.stderr
    assert not (tmp_path / "ca").exists()


async def test_crl_writes_the_current_crl_as_der_or_pem(client, ca_settings, tmp_path):
    # The suite's VAR_DIR and database (the environment pytest set up) hold the CA.
    der_file, pem_file = tmp_path / "crl.der", tmp_path / "crl.pem"
    written = jcan("crl", "--output", str(der_file))
    assert written.returncode == 0, written.stderr
    issuing = x509.load_pem_x509_certificate(
        keystore.Paths(ca_settings.ca_dir).issuing_cert.read_bytes()
    )
    assert x509.load_der_x509_crl(der_file.read_bytes()).is_signature_valid(issuing.public_key())
    as_pem = jcan("crl", "--pem", "-o", str(pem_file))
    assert as_pem.returncode == 0, as_pem.stderr
    assert x509.load_pem_x509_crl(pem_file.read_bytes()).issuer == issuing.subject
