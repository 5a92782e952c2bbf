"""Identity documents at rest: one AES-256-GCM encrypted file per document, random names."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.settings import Settings

MAGIC = b"JCD1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_NAME = re.compile(r"[0-9a-f]{32}")


class DocumentStore:
    """Saves, loads and deletes encrypted documents under one directory.

    The storage name is the associated data, so a file renamed or swapped for another
    document's file fails to decrypt.
    """

    def __init__(self, directory: Path, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the document key must be 32 bytes (AES-256)")
        self.directory = directory
        self._aead = AESGCM(key)

    def save(self, content: bytes) -> str:
        """Encrypt and write the content atomically; returns its random storage name."""
        name = secrets.token_hex(16)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = MAGIC + nonce + self._aead.encrypt(nonce, content, name.encode())
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0o600; os.replace makes it appear whole or not at all.
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(sealed)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path(name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return name

    def load(self, name: str) -> bytes:
        """The decrypted content; cryptography's InvalidTag when the file was tampered with."""
        sealed = self._path(name).read_bytes()
        if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + _NONCE_BYTES + _TAG_BYTES:
            raise ValueError("not a stored document")
        nonce = sealed[len(MAGIC) : len(MAGIC) + _NONCE_BYTES]
        return self._aead.decrypt(nonce, sealed[len(MAGIC) + _NONCE_BYTES :], name.encode())

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError("a storage name is 32 lowercase hex characters")
        return self.directory / name


def store_for(settings: Settings) -> DocumentStore:
    """The store configured by DOCUMENTS_DIR and DOCUMENT_KEY (SettingsError on a bad key)."""
    key = settings.documents.decoded_key() or settings.app.derived_key("documents")
    return DocumentStore(settings.documents.directory, key)
