"""Revoking a certificate: the CA first (idempotent), then one transaction that moves the
certificate and its application to revoked, writes its revocation row, mails the holder (and
the agent), announces certificate.revoked and writes one audit row. Exactly once: a
conditional UPDATE decides (app.revocation.record, shared with the re-issue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from app.application import states, workflow
from app.application.tables import Application
from app.application.workflow import Actor
from app.console.audit.service import record
from app.db import utcnow
from app.issuance.ca import select
from app.issuance.ca.base import CertificateAuthority
from app.issuance.tables import ISSUED, Certificate
from app.issuance.tables import REVOKED as CERT_REVOKED
from app.issuance.webhooks.service import Webhooks, iso_utc
from app.mail.outbox import Letters, Outbox
from app.registration.form import AGENT
from app.registration.tables import Registration
from app.revocation import rules
from app.revocation.record import Recorded, audit_actor, mark_revoked, revocation_of, revoke_at_ca
from app.revocation.tables import RevocationRequest
from app.settings import Settings


class NotRevocable(Exception):
    """The certificate is not issued here (no serial yet, or unknown)."""


@dataclass(frozen=True)
class Outcome:
    revoked_now: bool  # False: it had been revoked already (a race or a retry)
    revoked_at: datetime
    reason: str


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
    recorded = await revoke_at_ca(
        ca or select(settings), row["serial"], reason, now, invalidity_date
    )
    async with Webhooks(outbox).transaction(recorded.revoked_at) as events:
        application = await Application.select().where(Application.id == row["application"]).first()
        assert application is not None
        reference = application["reference"] or ""
        if not await mark_revoked(
            row, recorded, actor, events, reference=reference, request_id=request_id
        ):
            done = await revocation_of(certificate_id)
            return Outcome(
                False,
                done["revoked_at"] if done else recorded.revoked_at,
                done["reason"] if done else recorded.reason,
            )
        if application["status"] == states.ISSUED:
            await workflow.move(
                dict(application), states.REVOKED, actor, rules.reason_label(recorded.reason)
            )
        number = await _mail(row, dict(application), recorded, request_id, events.letters)
        await record(
            "certificate.revoke",
            actor=audit_actor(actor),
            target=f"certificate:{row['serial']}",
            client=client,
            details={
                "application": reference,
                "reason": recorded.reason,
                "invalidity_date": iso_utc(recorded.invalidity_date)
                if recorded.invalidity_date
                else "",
                "request": number,
            },
            now=recorded.revoked_at,
        )
    return Outcome(True, recorded.revoked_at, recorded.reason)


async def _mail(
    row: dict[str, Any],
    application: dict[str, Any],
    recorded: Recorded,
    request_id: int | None,
    letters: Letters,
) -> str:
    """The revocation notice to the holder (and the agent); the request's number ("" without)."""
    registration = (
        await Registration.select().where(Registration.id == application["registration"]).first()
    )
    assert registration is not None
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
        "revoked_at": rules.jst(recorded.revoked_at),
        "reason": rules.reason_label(recorded.reason),
        "reference": application["reference"] or "",
        "request_number": number,
    }
    recipients = [holder] if holder else []
    agent = registration["email"]
    if application["applicant_type"] == AGENT and agent and agent.lower() != holder.lower():
        recipients.append(agent)
    for recipient in recipients:
        await letters.add("certificate_revoked", recipient, context)
    return number
