"""Revoking a certificate: the CA first (idempotent), then one transaction that moves the
certificate and its application to revoked, mails the holder (and the agent), announces
certificate.revoked and writes one audit row. Exactly once: a conditional UPDATE decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from app.application import states, workflow
from app.application.tables import Application
from app.application.workflow import Actor, ActorKind
from app.console.audit.service import record
from app.db import utcnow
from app.issuance.ca import select
from app.issuance.ca.base import CertificateAuthority, CertStatus
from app.issuance.ca.base import Revocation as CaRevocation
from app.issuance.tables import ISSUED, Certificate
from app.issuance.tables import REVOKED as CERT_REVOKED
from app.issuance.webhooks.service import REVOKED as EVENT_REVOKED
from app.issuance.webhooks.service import Webhooks, certificate_data, iso_utc
from app.mail.outbox import Letters, Outbox
from app.registration.form import AGENT
from app.registration.tables import Company, Registration
from app.revocation import rules
from app.revocation.tables import PENDING, REVOKED, Revocation, RevocationRequest
from app.settings import Settings


class NotRevocable(Exception):
    """The certificate is not issued here (no serial yet, or unknown)."""


@dataclass(frozen=True)
class Outcome:
    revoked_now: bool  # False: it had been revoked already (a race or a retry)
    revoked_at: datetime
    reason: str


def audit_actor(actor: Actor) -> str:
    """How the audit log names who revoked: operator:<id>, system:<job>, or the kind."""
    return f"{actor.kind.value}:{actor.id}" if actor.id else actor.kind.value


def email_of(certificate: x509.Certificate) -> str:
    """The certificate's own address (SAN rfc822Name): where the holder is mailed."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ""
    names = san.value.get_values_for_type(x509.RFC822Name)
    return names[0] if names else ""


async def certificate_row(certificate_id: int) -> dict[str, Any]:
    row = await Certificate.select().where(Certificate.id == certificate_id).first()
    if row is None or not row["serial"] or row["status"] not in (ISSUED, CERT_REVOKED):
        raise NotRevocable(f"certificate {certificate_id} is not an issued certificate")
    return dict(row)


async def revoke(
    certificate_id: int,
    reason: str,
    actor: Actor,
    invalidity_date: datetime | None = None,
    *,
    settings: Settings,
    outbox: Outbox,
    ca: CertificateAuthority | None = None,
    request_id: int | None = None,
    client: str = "",
) -> Outcome:
    """Revoke one certificate for `reason` (a rules.Reason value; "none" = no reasonCode).
    Safe to call again (a job retried, two approvers at once): the CA's revoke is idempotent,
    and only the call whose conditional UPDATE moves the certificate mails, announces and
    audits. TransientCAError propagates (the job retries)."""
    row = await certificate_row(certificate_id)
    now = utcnow().replace(microsecond=0)
    flag = rules.flag_of(reason)
    if flag is not x509.ReasonFlags.key_compromise:
        invalidity_date = None
    ca = ca or select(settings)
    serial = int(row["serial"], 16)
    await ca.revoke(CaRevocation(serial, flag, now, invalidity_date))
    # The CA's record is the truth (a racing call may have reached it first with its reason).
    status = await ca.status(serial)
    if status.status is CertStatus.REVOKED and status.revoked_at is not None:
        now, reason = status.revoked_at, rules.reason_of_flag(status.reason)
        invalidity_date = status.invalidity_date
    async with Webhooks(outbox).transaction(now) as events:
        moved = (
            await Certificate.update({Certificate.status: CERT_REVOKED})
            .where((Certificate.id == certificate_id) & (Certificate.status == ISSUED))
            .returning(Certificate.id)
        )
        if not moved:
            done = await Revocation.select().where(Revocation.certificate == certificate_id).first()
            return Outcome(
                False, done["revoked_at"] if done else now, done["reason"] if done else reason
            )
        await Revocation.insert(
            Revocation(
                certificate=certificate_id,
                request=request_id,
                reason=reason,
                revoked_at=now,
                invalidity_date=invalidity_date,
                actor=audit_actor(actor),
            )
        )
        await _close_requests(certificate_id, actor, now)
        application = await Application.select().where(Application.id == row["application"]).first()
        assert application is not None
        if application["status"] == states.ISSUED:
            await workflow.move(
                dict(application), states.REVOKED, actor, rules.reason_label(reason)
            )
        context = await _mail(row, dict(application), reason, now, request_id, events.letters)
        await events.announce(
            EVENT_REVOKED,
            certificate_data(
                serial=row["serial"],
                subject=row["subject"],
                not_before=row["not_before"],
                not_after=row["not_after"],
                pem=row["certificate_pem"],
                company_code=context["company_code"],
                reference=application["reference"] or "",
                revoked_at=iso_utc(now),
                reason=None if reason == rules.Reason.NONE else reason,
            ),
        )
        await record(
            "certificate.revoke",
            actor=audit_actor(actor),
            target=f"certificate:{row['serial']}",
            client=client,
            details={
                "application": application["reference"] or "",
                "reason": reason,
                "invalidity_date": iso_utc(invalidity_date) if invalidity_date else "",
                "request": context["request_number"],
            },
            now=now,
        )
    return Outcome(True, now, reason)


async def _close_requests(certificate_id: int, actor: Actor, now: datetime) -> None:
    """Every open request of this certificate is answered by this revocation."""
    decided_by = int(actor.id) if actor.kind is ActorKind.OPERATOR else None
    await RevocationRequest.update(
        {
            RevocationRequest.status: REVOKED,
            RevocationRequest.decided_at: now,
            RevocationRequest.decided_by: decided_by,
        }
    ).where(
        (RevocationRequest.certificate == certificate_id) & (RevocationRequest.status == PENDING)
    )


async def _mail(
    row: dict[str, Any],
    application: dict[str, Any],
    reason: str,
    now: datetime,
    request_id: int | None,
    letters: Letters,
) -> dict[str, Any]:
    registration = (
        await Registration.select().where(Registration.id == application["registration"]).first()
    )
    assert registration is not None
    company = (
        await Company.select(Company.code).where(Company.id == registration["company"]).first()
    )
    number = ""
    if request_id is not None:
        found = (
            await RevocationRequest.select(RevocationRequest.number)
            .where(RevocationRequest.id == request_id)
            .first()
        )
        number = found["number"] if found else ""
    holder = email_of(x509.load_pem_x509_certificate(row["certificate_pem"].encode()))
    context = {
        "serial": row["serial"],
        "subject": row["subject"],
        "revoked_at": rules.jst(now),
        "reason": rules.reason_label(reason),
        "reference": application["reference"] or "",
        "request_number": number,
        "company_code": company["code"] if company else "",
    }
    recipients = [holder] if holder else []
    agent = registration["email"]
    if application["applicant_type"] == AGENT and agent and agent.lower() != holder.lower():
        recipients.append(agent)
    for recipient in recipients:
        await letters.add("certificate_revoked", recipient, context)
    return context
