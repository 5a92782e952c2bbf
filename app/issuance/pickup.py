"""Pickup (証明書の受け取り): the certificate behind a live link, and the one download that
unwraps the key with the token, builds the PKCS#12 and destroys the key in the transaction that
marks the link used; for the applicant's CSR, the certificate and chain (PEM, .p7b) instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from cryptography.x509.oid import NameOID

from app import cpu
from app.db import utcnow, write_transaction
from app.issuance import keys, pkcs12
from app.issuance.tables import CSR, Certificate, PickupToken, WrappedKey
from app.links import tokens

PEM = "pem"
P7B = "p7b"


class NotAvailable(Exception):
    """The link was used meanwhile, or the token does not open this key."""


@dataclass(frozen=True)
class Download:
    content: bytes
    file_name: str


async def certificate_for(token_id: int) -> dict[str, Any] | None:
    link = await PickupToken.select().where(PickupToken.id == token_id).first()
    if link is None:
        return None
    row = await Certificate.select().where(Certificate.id == link["certificate"]).first()
    if row is None:
        return None
    return {**dict(row), "token_hash": link["token_hash"], "expires_at": link["expires_at"]}


def x509_of(certificate: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certificate["certificate_pem"].encode())


def common_name_of(certificate: dict[str, Any]) -> str:
    names = x509_of(certificate).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


async def download(
    token_id: int, token: str, pin: str, fmt: str, now: datetime | None = None
) -> Download:
    """The PKCS#12 of this link's certificate; the key is gone once this returns."""
    now = now or utcnow()
    certificate = await certificate_for(token_id)
    if certificate is None or tokens.hash_token(token) != certificate["token_hash"]:
        raise NotAvailable()
    wrapped = await WrappedKey.select().where(WrappedKey.certificate == certificate["id"]).first()
    if wrapped is None or not certificate["certificate_pem"]:
        raise NotAvailable()
    try:
        key_der = keys.unwrap(wrapped["wrapped"], token, certificate["request_id"])
    except keys.UnwrapError as exc:
        raise NotAvailable() from exc
    name = common_name_of(certificate)
    # Deriving the file's keys from the PIN holds the GIL for tens of ms (a thread would stall
    # every other request of this process): a process of the foreground pool builds it.
    content = await cpu.run(
        cpu.FOREGROUND,
        pkcs12.build,
        key_der,
        certificate["certificate_pem"].encode(),
        certificate["chain_pem"].encode(),
        pin,
        fmt,
        name,
    )
    async with write_transaction(PickupToken._meta.db):
        if await tokens.consume(PickupToken, token_id, now) is None:
            raise NotAvailable()  # another download won: this file is never handed out
        await WrappedKey.delete().where(WrappedKey.certificate == certificate["id"])
        await Certificate.update({Certificate.picked_up_at: now}).where(
            Certificate.id == certificate["id"]
        )
    return Download(content, pkcs12.file_name(name, certificate["serial"]))


def prepare() -> None:
    """The PIN page is open: start a pool process for its download ahead of the PIN."""
    cpu.warm(cpu.FOREGROUND)


def is_csr(certificate: dict[str, Any]) -> bool:
    """Issued for the applicant's CSR: nothing to unwrap, the files are the certificate's."""
    return certificate["key_origin"] == CSR


def certificate_files(certificate: dict[str, Any], kind: str) -> Download:
    """The certificate and its chain for a CSR certificate: PEM (certificate first, then the
    issuing CA up to the root) or PKCS#7 (.p7b, DER, certificates only)."""
    chain_pem = certificate["chain_pem"].encode()
    chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
    stem = pkcs12.file_name(common_name_of(certificate), certificate["serial"])[: -len(".p12")]
    if kind == PEM:
        content = certificate["certificate_pem"].encode() + chain_pem
        return Download(content, f"{stem}.pem")
    content = pkcs7.serialize_certificates([x509_of(certificate), *chain], Encoding.DER)
    return Download(content, f"{stem}.p7b")


async def mark_fetched(certificate_id: int, now: datetime | None = None) -> None:
    """The first download of a CSR certificate's files is its pickup (the link stays usable
    until it expires: there is no key to destroy, the files may be fetched again)."""
    async with write_transaction(Certificate._meta.db):
        await Certificate.update({Certificate.picked_up_at: now or utcnow()}).where(
            (Certificate.id == certificate_id) & Certificate.picked_up_at.is_null()
        )
