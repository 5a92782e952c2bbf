"""Pickup (証明書の受け取り): the certificate behind a live link, and the one download that
unwraps the key with the token, builds the PKCS#12 and destroys the key in the transaction that
marks the link used."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from app.db import utcnow, write_transaction
from app.issuance import keys, pkcs12
from app.issuance.tables import Certificate, PickupToken, WrappedKey
from app.links import tokens


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
    return {**dict(row), "token_hash": link["token_hash"]}


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
    content = await asyncio.to_thread(
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
