"""The holder's revocation request: the lookup that mails a one-time link (the same answer
whether or not the certificate exists), the request the link's page submits, the operator's
rejection and the paper request (管理者による失効)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from app.application.tables import Application
from app.console.audit.service import record
from app.db import utcnow, write_transaction
from app.issuance.tables import ISSUED, Certificate
from app.jobs import JobQueue
from app.links import tokens
from app.links.kinds import LinkKind
from app.mail.outbox import Letters, Outbox
from app.registration.form import TICKET_ALPHABET
from app.revocation import rules
from app.revocation.form import Lookup
from app.revocation.service import email_of
from app.revocation.tables import (
    PAPER,
    PENDING,
    REJECTED,
    SUBSCRIBER,
    RevocationLink,
    RevocationRequest,
)
from app.settings import Settings

REVOKE_REQUEST = "revoke_request"
LINK = LinkKind("revoke", RevocationLink, "revocation_link", "/revoke/request")


class LinkUsed(Exception):
    """The link was used (or ended) between showing the page and submitting it."""


def new_number() -> str:
    """R-XXXX-XXXX: random, never sequential (the holder quotes it)."""
    body = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"


async def find_certificate(lookup: Lookup) -> dict[str, Any] | None:
    """The issued certificate the holder names, if its own address is the one given."""
    query = Certificate.select().where(Certificate.status == ISSUED)
    if lookup.serial:
        query = query.where(Certificate.serial == lookup.serial)
    else:
        application = (
            await Application.select(Application.id)
            .where(Application.reference == lookup.reference)
            .first()
        )
        if application is None:
            return None
        query = query.where(Certificate.application == application["id"])
    for row in await query:
        pem = x509.load_pem_x509_certificate(row["certificate_pem"].encode())
        if email_of(pem).lower() == lookup.email:
            return dict(row)
    return None


async def ask(lookup: Lookup, settings: Settings, outbox: Outbox) -> None:
    """Mail a revocation link when such a certificate exists; nothing otherwise. The caller
    answers the same in both cases."""
    async with outbox.transaction() as letters:
        certificate = await find_certificate(lookup)
        if certificate is None:
            return
        minted = await tokens.mint(
            RevocationLink,
            {"certificate": certificate["id"]},
            timedelta(hours=settings.revocation.link_hours),
            letters.now,
            supersede_by=RevocationLink.certificate,
        )
        await letters.add(
            "revocation_link",
            lookup.email,
            {
                "link": LINK.url(settings.app.base_url, minted.token),
                "expires_at": rules.jst(minted.expires_at),
            },
        )


async def certificate_of_link(token_id: int) -> dict[str, Any] | None:
    link = await RevocationLink.select().where(RevocationLink.id == token_id).first()
    if link is None:
        return None
    row = await Certificate.select().where(Certificate.id == link["certificate"]).first()
    return dict(row) if row else None


@dataclass(frozen=True)
class Received:
    id: int
    number: str
    due_at: datetime


async def _insert_request(
    certificate: dict[str, Any],
    choice: rules.Choice,
    settings: Settings,
    now: datetime,
    **extra: Any,
) -> Received:
    number = new_number()
    due = rules.deadline(now, settings.revocation.deadline_hours)
    rows = await RevocationRequest.insert(
        RevocationRequest(
            number=number,
            certificate=certificate["id"],
            reason=choice.reason.value,
            invalidity_date=choice.invalidity_date,
            status=PENDING,
            received_at=now,
            due_at=due,
            **extra,
        )
    ).returning(RevocationRequest.id)
    return Received(int(rows[0]["id"]), number, due)


def _received_mail(
    certificate: dict[str, Any], received: Received, reason: str, now: datetime
) -> dict[str, Any]:
    return {
        "number": received.number,
        "serial": certificate["serial"],
        "reason": rules.reason_label(reason),
        "received_at": rules.jst(now),
        "due_at": rules.jst(received.due_at),
    }


async def submit(
    token_id: int, choice: rules.Choice, settings: Settings, outbox: Outbox
) -> Received:
    """The holder's request through the link: the link consumed (once), the request row and
    the confirmation mail in one transaction; with REVOCATION_IMMEDIATE its revocation job is
    enqueued after the commit."""
    async with outbox.transaction() as letters:
        used = await tokens.consume(
            RevocationLink, token_id, letters.now, RevocationLink.certificate
        )
        if used is None:
            raise LinkUsed()
        certificate = (
            await Certificate.select().where(Certificate.id == used["certificate"]).first()
        )
        assert certificate is not None
        received = await _insert_request(
            dict(certificate), choice, settings, letters.now, source=SUBSCRIBER, confirmed=True
        )
        holder = email_of(x509.load_pem_x509_certificate(certificate["certificate_pem"].encode()))
        context = _received_mail(dict(certificate), received, choice.reason.value, letters.now)
        await letters.add("revocation_received", holder, context)
        await record(
            "revocation.request",
            actor="subscriber",
            target=f"certificate:{certificate['serial']}",
            details={"request": received.number, "reason": choice.reason.value},
            now=letters.now,
        )
    if settings.revocation.immediate and outbox.queue is not None:
        await enqueue_revocation(outbox.queue, received.id)
    return received


async def enqueue_revocation(queue: JobQueue, request_id: int) -> None:
    await queue.enqueue(REVOKE_REQUEST, request_id, job_id=f"{REVOKE_REQUEST}:{request_id}")


async def record_paper(
    certificate: dict[str, Any],
    choice: rules.Choice,
    requester: str,
    verification: str,
    operator_id: int,
    settings: Settings,
) -> Received:
    """管理者による失効: the paper request written (who asked, how verified), before the
    revocation that answers it."""
    now = utcnow()
    async with write_transaction(RevocationRequest._meta.db):
        return await _insert_request(
            certificate,
            choice,
            settings,
            now,
            source=PAPER,
            confirmed=False,
            requester=requester,
            verification=verification,
            decided_by=operator_id,
        )


async def reject(
    number: str, note: str, operator_id: int, actor: str, client: str, outbox: Outbox
) -> bool:
    """却下: a pending request closed with a reason, the holder told; False when it was no
    longer pending (decided by someone else first)."""
    async with outbox.transaction() as letters:
        rows = (
            await RevocationRequest.update(
                {
                    RevocationRequest.status: REJECTED,
                    RevocationRequest.decided_at: letters.now,
                    RevocationRequest.decided_by: operator_id,
                    RevocationRequest.decision_note: note,
                }
            )
            .where((RevocationRequest.number == number) & (RevocationRequest.status == PENDING))
            .returning(RevocationRequest.certificate)
        )
        if not rows:
            return False
        certificate = (
            await Certificate.select().where(Certificate.id == rows[0]["certificate"]).first()
        )
        assert certificate is not None
        await _tell_rejected(dict(certificate), number, note, letters)
        await record(
            "revocation.reject",
            actor=actor,
            target=f"certificate:{certificate['serial']}",
            client=client,
            details={"request": number, "note": note},
            now=letters.now,
        )
    return True


async def _tell_rejected(
    certificate: dict[str, Any], number: str, note: str, letters: Letters
) -> None:
    holder = email_of(x509.load_pem_x509_certificate(certificate["certificate_pem"].encode()))
    if holder:
        await letters.add(
            "revocation_rejected",
            holder,
            {"number": number, "serial": certificate["serial"], "note": note},
        )
