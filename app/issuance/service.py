"""Issuing, in two transactions around the CA's answer: `prepare` stores the CSR, the wrapped
key, the pickup link and its mail (held); `complete` stores the certificate, moves the
application to issued and releases the mail. The request id ties both to one approval, so a
rerun reuses what the first run stored and the CA answers with the same certificate."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ulid import ULID

from app.application import states, workflow
from app.application.answers import answers_of
from app.application.form import check_application
from app.application.subject import subject_of
from app.application.tables import Application, StatusChange
from app.application.workflow import Actor
from app.db import is_unique_violation
from app.issuance import keys
from app.issuance.ca.base import CAError, Issued, IssueRequest, Profile, Subject
from app.issuance.profile import subject_fields
from app.issuance.tables import (
    CSR,
    GENERATED,
    ISSUED,
    REQUESTED,
    Certificate,
    PickupToken,
    WrappedKey,
)
from app.issuance.webhooks.service import ISSUED as ISSUED_EVENT
from app.issuance.webhooks.service import Webhooks, certificate_data
from app.jobs import JobQueue
from app.links import tokens
from app.links.kinds import LinkKind
from app.mail.outbox import Letters, Outbox
from app.settings import Settings

ISSUE_CERTIFICATE = "issue_certificate"
SYSTEM = Actor.system(ISSUE_CERTIFICATE)
PICKUP_LINK = LinkKind("pickup", PickupToken, session_key="pickup_token", landing="/pickup")


def issue_job_id(application_id: int, suffix: str = "") -> str:
    return f"{ISSUE_CERTIFICATE}:{application_id}{suffix}"


async def enqueue_issue(queue: JobQueue, application_id: int, suffix: str = "") -> None:
    """After the approval's commit (best effort: relay_issuance covers a lost enqueue)."""
    job_id = issue_job_id(application_id, suffix)
    await queue.enqueue(ISSUE_CERTIFICATE, application_id, job_id=job_id)


# Approvals the relay enqueues per run, oldest first: a backlog (the CA away for hours) is
# worked off over several runs instead of one burst of Redis round trips and jobs.
RELAY_BATCH = 1000


async def awaiting_issue(limit: int = RELAY_BATCH) -> list[int]:
    """The oldest `limit` approved applications (not issued yet), by id."""
    rows = (
        await Application.select(Application.id)
        .where(Application.status == states.APPROVED)
        .order_by(Application.id)
        .limit(limit)
    )
    return [int(row["id"]) for row in rows]


async def stale_requests(before: datetime) -> set[int]:
    """Applications whose stored request is still without its certificate since `before`."""
    rows = await Certificate.select(Certificate.application).where(
        (Certificate.status == REQUESTED) & (Certificate.created_at < before)
    )
    return {int(r["application"]) for r in rows}


async def lease_ca_call(certificate_id: int, now: datetime, lapse: timedelta) -> bool:
    """Take the right to ask the CA for this stored request: True for one caller at a time
    (a conditional UPDATE), so two runs of the job at once ask the CA once instead of both
    signing. A caller that died holding it (SIGKILL mid-call) leaves it to lapse: after
    `lapse` (ISSUE_RETRY_SECONDS, after which the relay counts a request as abandoned), the
    next caller asks again with the same request id, and the CA's idempotency returns what it
    signed."""
    taken = (
        await Certificate.update({Certificate.ca_asked_at: now})
        .where(
            (Certificate.id == certificate_id)
            & (Certificate.status == REQUESTED)
            & (Certificate.ca_asked_at.is_null() | (Certificate.ca_asked_at <= now - lapse))
        )
        .returning(Certificate.id)
    )
    return bool(taken)


async def release_ca_call(certificate_id: int) -> None:
    """The CA call failed (to be retried): the next caller need not wait for the lapse."""
    await Certificate.update({Certificate.ca_asked_at: None}).where(
        (Certificate.id == certificate_id) & (Certificate.status == REQUESTED)
    )


@dataclass(frozen=True)
class Prepared:
    certificate: dict[str, Any]  # the certificate row as stored
    request: IssueRequest


async def _approval_id(application_id: int) -> int | None:
    row = (
        await StatusChange.select(StatusChange.id)
        .where(
            (StatusChange.application == application_id)
            & (StatusChange.to_status == states.APPROVED)
        )
        .order_by(StatusChange.id, ascending=False)
        .first()
    )
    return int(row["id"]) if row else None


def request_id_of(application_id: int, approval_id: int) -> str:
    """One request id per approval: the CA's idempotency key."""
    return f"jcan-{application_id}-approval-{approval_id}"


def ca_subject(application: dict[str, Any]) -> tuple[Subject, Profile]:
    cleaned, _errors = check_application(answers_of(application), application["applicant_type"])
    subject = subject_of(cleaned)
    years = int(cleaned.get("validity_years") or 1)
    return (
        Subject(
            common_name=subject.cn,
            organization=subject.o,
            organizational_unit=subject.ous[0] if subject.ous else "",
            email=subject.e,
            given_name=cleaned.get("given_name_roman", ""),
            surname=cleaned.get("family_name_roman", ""),
        ),
        Profile(validity_days=365 * years),
    )


def applicant_csr(application: dict[str, Any]) -> bytes | None:
    """The CSR the applicant sent (鍵の作成: 自分で作成したCSR), checked again; None when the
    key is to be made here."""
    cleaned, errors = check_application(answers_of(application), application["applicant_type"])
    if cleaned.get("key_source") != CSR:
        return None
    if "csr_pem" in errors or not cleaned.get("csr_pem"):
        # Never a key made here instead of the one the applicant holds: the job fails loudly.
        raise CAError(f"application {application['id']}: its CSR no longer passes the checks")
    return cleaned["csr_pem"].encode()


def subject_text(subject: Subject) -> str:
    parts = [("CN", subject.common_name), ("O", subject.organization)]
    parts += [("OU", subject.organizational_unit), ("E", subject.email), ("C", subject.country)]
    return ", ".join(f"{k}={v}" for k, v in parts if v)


async def _certificate(request_id: str) -> dict[str, Any] | None:
    row = await Certificate.select().where(Certificate.request_id == request_id).first()
    return dict(row) if row else None


async def prepare(application_id: int, settings: Settings, outbox: Outbox) -> Prepared | None:
    """The stored request of this application's approval (made now if there is none); None
    when the application is not approved (nothing to do)."""
    application = await Application.select().where(Application.id == application_id).first()
    if application is None or application["status"] not in (states.APPROVED, states.ISSUED):
        return None
    approval_id = await _approval_id(application_id)
    if approval_id is None:
        return None
    request_id = request_id_of(application_id, approval_id)
    subject, profile = ca_subject(dict(application))
    existing = await _certificate(request_id)
    if existing is not None and existing["status"] != REQUESTED:
        # A re-issue (app.issuance.reissue) stored its own request for the CA: that one.
        existing = await pending_reissue(application_id) or existing
    if existing is None:
        if application["status"] != states.APPROVED:
            return None
        # The applicant's CSR brings its key (made in an IC card or HSM): no key is made here.
        own = applicant_csr(dict(application))
        material = (
            keys.KeyMaterial(b"", own)
            if own is not None
            else await keys.generate(settings.ca.rsa_key_size, subject.common_name)
        )
        try:
            existing = await _store_request(
                dict(application), request_id, subject, material, settings, outbox
            )
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            existing = await _certificate(request_id)  # a twin run stored it first
            assert existing is not None
    request = IssueRequest(existing["request_id"], existing["csr_pem"].encode(), subject, profile)
    return Prepared(existing, request)


async def pending_reissue(application_id: int) -> dict[str, Any] | None:
    """The newest certificate of this application still waiting for the CA (a re-issue)."""
    row = (
        await Certificate.select()
        .where((Certificate.application == application_id) & (Certificate.status == REQUESTED))
        .order_by(Certificate.id, ascending=False)
        .first()
    )
    return dict(row) if row else None


async def _store_request(
    application: dict[str, Any],
    request_id: str,
    subject: Subject,
    material: keys.KeyMaterial,
    settings: Settings,
    outbox: Outbox,
) -> dict[str, Any]:
    """Transaction 1: the request row, the pickup link, the key wrapped under its token (none
    for the applicant's CSR: material.key_der is empty), and the pickup mail held (the token
    exists only in that mail)."""
    async with outbox.transaction() as letters:
        await insert_request(letters, application, request_id, subject, material, settings)
    stored = await _certificate(request_id)
    assert stored is not None
    return stored


async def insert_request(
    letters: Letters,
    application: dict[str, Any],
    request_id: str,
    subject: Subject,
    material: keys.KeyMaterial,
    settings: Settings,
) -> int:
    """Inside the caller's write transaction: the request row, its pickup link, the wrapped
    key (none for the applicant's own CSR: material.key_der is empty) and the held pickup
    mail; the certificate row's id."""
    generated = bool(material.key_der)
    rows = await Certificate.insert(
        Certificate(
            public_id=str(ULID()),
            application=application["id"],
            request_id=request_id,
            status=REQUESTED,
            key_origin=GENERATED if generated else CSR,
            csr_pem=material.csr_pem.decode(),
            subject=subject_text(subject),
            created_at=letters.now,
        )
    ).returning(Certificate.id)
    certificate_id = int(rows[0]["id"])
    ttl = timedelta(days=settings.issuance.pickup_link_days)
    minted = await tokens.mint(PickupToken, {"certificate": certificate_id}, ttl, letters.now)
    if generated:
        await WrappedKey.insert(
            WrappedKey(
                certificate=certificate_id,
                wrapped=keys.wrap(material.key_der, minted.token, request_id),
                created_at=letters.now,
            )
        )
    mail_id = await letters.add_held(
        "certificate_pickup",
        subject.email,
        {
            "reference": application["reference"],
            "common_name": subject.common_name,
            "link": PICKUP_LINK.url(settings.app.base_url, minted.token),
            "expires_at": minted.expires_at,
            "with_key": generated,
        },
    )
    await Certificate.update({Certificate.pickup_mail: mail_id}).where(
        Certificate.id == certificate_id
    )
    return certificate_id


async def complete(prepared: Prepared, issued: Issued, outbox: Outbox) -> bool:
    """Transaction 2: the certificate stored, the application issued, the mail released.
    False when it had been completed already (a rerun)."""
    row = prepared.certificate
    certificate = issued.certificate
    der = certificate.public_bytes(serialization.Encoding.DER)
    async with Webhooks(outbox).transaction() as events:
        letters = events.letters
        stored = (
            await Certificate.update(
                {
                    Certificate.status: ISSUED,
                    Certificate.serial: format(issued.serial, "x"),
                    Certificate.not_before: certificate.not_valid_before_utc,
                    Certificate.not_after: certificate.not_valid_after_utc,
                    Certificate.subject: certificate.subject.rfc4514_string(),
                    Certificate.fingerprint: hashlib.sha256(der).hexdigest(),
                    Certificate.certificate_pem: issued.certificate_pem.decode(),
                    Certificate.chain_pem: b"".join(issued.chain_pem).decode(),
                    Certificate.issued_at: letters.now,
                }
            )
            .where((Certificate.id == row["id"]) & (Certificate.status == REQUESTED))
            .returning(Certificate.id)
        )
        if not stored:
            return False
        application = await Application.select().where(Application.id == row["application"]).first()
        assert application is not None
        if application["status"] == states.APPROVED:
            await workflow.move(dict(application), states.ISSUED, SYSTEM)
        if row["pickup_mail"] is not None:
            await letters.release(int(row["pickup_mail"]))
        # 証明書を自動登録: announced to the e-contract service in this transaction, next to
        # the certificate it announces (delivered after the commit, at least once).
        await events.announce(ISSUED_EVENT, await _event_data(application, certificate, issued))
    return True


async def company_code_of(application_id: int) -> str:
    """The 企業コード of the application's company (every certificate event carries it)."""
    ticket: Any = Application.ticket
    row = (
        await Application.select(ticket.company.code)
        .where(Application.id == application_id)
        .first()
    )
    return str(row["ticket.company.code"]) if row else ""


async def _event_data(
    application: dict[str, Any], certificate: x509.Certificate, issued: Issued
) -> dict[str, Any]:
    return certificate_data(
        serial=format(issued.serial, "x"),
        subject=subject_fields(certificate.subject),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        pem=issued.certificate_pem.decode(),
        company_code=await company_code_of(int(application["id"])),
        reference=str(application["reference"]),
    )


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())
