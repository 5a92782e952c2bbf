"""Stored identity documents: encrypted at rest, random validated names, keys from settings."""

from __future__ import annotations

import base64
import secrets
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from app.application.storage import MAGIC, DocumentStore, store_for
from app.settings import Settings, SettingsError

CONTENT = b"%PDF-1.7 passport of YAMADA Taro, number TK1234567"


def urlsafe_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents", secrets.token_bytes(32))


def test_a_saved_document_loads_back(store: DocumentStore):
    name = store.save(CONTENT)
    assert store.exists(name)
    assert store.load(name) == CONTENT


def test_the_file_on_disk_is_encrypted(store: DocumentStore):
    name = store.save(CONTENT)
    on_disk = (store.directory / name).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert b"YAMADA" not in on_disk and CONTENT not in on_disk
    assert len(on_disk) == len(MAGIC) + 12 + len(CONTENT) + 16  # nonce and GCM tag


def test_the_same_content_is_encrypted_differently_each_time(store: DocumentStore):
    first, second = store.save(CONTENT), store.save(CONTENT)
    assert (store.directory / first).read_bytes()[4:] != (store.directory / second).read_bytes()[4:]


def test_only_the_owner_can_read_the_directory_and_files(store: DocumentStore):
    name = store.save(CONTENT)
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.directory / name).stat().st_mode) == 0o600
    assert [p.name for p in store.directory.iterdir()] == [name]  # no temporary file left


def test_a_tampered_file_is_detected(store: DocumentStore):
    name = store.save(CONTENT)
    path = store.directory / name
    sealed = bytearray(path.read_bytes())
    sealed[-20] ^= 0x01
    path.write_bytes(bytes(sealed))
    with pytest.raises(InvalidTag):
        store.load(name)


def test_a_file_moved_to_another_name_does_not_decrypt(store: DocumentStore):
    first, second = store.save(b"first applicant"), store.save(b"second applicant")
    (store.directory / second).write_bytes((store.directory / first).read_bytes())
    with pytest.raises(InvalidTag):
        store.load(second)


def test_a_file_that_is_not_a_stored_document_is_refused(store: DocumentStore):
    name = store.save(CONTENT)
    (store.directory / name).write_bytes(b"plain text")
    with pytest.raises(ValueError, match="not a stored document"):
        store.load(name)


def test_another_key_cannot_read_a_document(store: DocumentStore):
    name = store.save(CONTENT)
    other = DocumentStore(store.directory, secrets.token_bytes(32))
    with pytest.raises(InvalidTag):
        other.load(name)


def test_names_are_random_hex(store: DocumentStore):
    names = {store.save(CONTENT) for _ in range(20)}
    assert len(names) == 20
    assert all(len(name) == 32 and int(name, 16) >= 0 for name in names)


@pytest.mark.parametrize(
    "name",
    ["../x", "../" + "0" * 29, "/etc/passwd", "0" * 31, "0" * 33, "G" * 32, "A" * 32, ""],
)
def test_names_other_than_32_hex_characters_are_refused(store: DocumentStore, name: str):
    for operation in (store.load, store.delete, store.exists):
        with pytest.raises(ValueError, match="32 lowercase hex"):
            operation(name)


def test_delete_removes_the_document_and_tolerates_a_missing_one(store: DocumentStore):
    name = store.save(CONTENT)
    store.delete(name)
    assert not store.exists(name)
    store.delete(name)  # again: nothing to do
    with pytest.raises(FileNotFoundError):
        store.load(name)


def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="32 bytes"):
        DocumentStore(tmp_path, b"short")


# --- keys and settings -------------------------------------------------------------------


def test_store_for_uses_the_configured_key_and_directory(tmp_path: Path):
    key = secrets.token_bytes(32)
    settings = Settings.from_env(
        {"DOCUMENTS_DIR": str(tmp_path / "docs"), "DOCUMENT_KEY": urlsafe_key(key)}
    )
    name = store_for(settings).save(CONTENT)
    assert (tmp_path / "docs" / name).is_file()
    assert DocumentStore(tmp_path / "docs", key).load(name) == CONTENT


def test_a_padded_key_is_accepted_too(tmp_path: Path):
    key = secrets.token_bytes(32)
    padded = base64.urlsafe_b64encode(key).decode()
    assert padded.endswith("=")
    settings = Settings.from_env({"DOCUMENTS_DIR": str(tmp_path), "DOCUMENT_KEY": padded})
    assert settings.documents.decoded_key() == key


def test_without_a_key_dev_derives_one_from_the_secret_key(tmp_path: Path):
    settings = Settings.from_env({"DOCUMENTS_DIR": str(tmp_path)})
    name = store_for(settings).save(CONTENT)
    derived = DocumentStore(tmp_path, settings.app.derived_key("documents"))
    assert derived.load(name) == CONTENT
    other_secret = replace(settings, app=replace(settings.app, secret_key="another secret"))
    with pytest.raises(InvalidTag):
        store_for(other_secret).load(name)


@pytest.mark.parametrize(
    "bad_key",
    [
        "too-short",
        urlsafe_key(secrets.token_bytes(16)),
        urlsafe_key(secrets.token_bytes(33)),
        "!" * 43,
    ],
)
def test_a_document_key_that_is_not_32_bytes_is_refused_in_any_environment(bad_key: str):
    with pytest.raises(SettingsError, match="DOCUMENT_KEY"):
        Settings.from_env({"DOCUMENT_KEY": bad_key})
    settings = replace(Settings(), documents=replace(Settings().documents, key=bad_key))
    with pytest.raises(SettingsError, match="DOCUMENT_KEY"):
        store_for(settings)


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "BASE_URL": "https://lra.example.jp",
    "CA_KEY_PASSPHRASE": "a long CA key passphrase",
}


def test_production_without_a_document_key_is_refused():
    with pytest.raises(SettingsError, match="DOCUMENT_KEY"):
        Settings.from_env(PRODUCTION)


def test_production_with_a_document_key_starts():
    key = urlsafe_key(secrets.token_bytes(32))
    settings = Settings.from_env(PRODUCTION | {"DOCUMENT_KEY": key})
    assert settings.documents.decoded_key() is not None


def test_the_documents_directory_follows_var_dir_unless_set(tmp_path: Path):
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).documents.directory == (
        tmp_path / "documents"
    )
    own = Settings.from_env({"VAR_DIR": str(tmp_path), "DOCUMENTS_DIR": "/srv/docs"})
    assert own.documents.directory == Path("/srv/docs")
