"""The revocation record of a certificate, shared by revoking (app.revocation.service) and by
re-issuing (app.issuance.reissue, reason superseded): the CA's revoke, read back as the CA
recorded it; then, in the caller's write transaction, issued → revoked (one conditional UPDATE
decides), the one `certificate_revocation` row, the open requests answered and
certificate.revoked announced. What differs is the caller's: a revocation ends the application
and mails a notice, a re-issue keeps the application issued and mails a new pickup link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from app.application.workflow import Actor, ActorKind
from app.issuance.ca.base import CertificateAuthority, CertStatus
from app.issuance.ca.base import Revocation as CaRevocation
from app.issuance.service import company_code_of
from app.issuance.tables import ISSUED, REVOKED, Certificate
from app.issuance.webhooks.service import REVOKED as EVENT_REVOKED
from app.issuance.webhooks.service import Events, certificate_data, iso_utc
from app.revocation import rules
from app.revocation.tables import PENDING, Revocation, RevocationRequest
from app.revocation.tables import REVOKED as REQUEST_REVOKED


@dataclass(frozen=True)
class Recorded:
    """A revocation as the CA recorded it (a racing call may have reached it first)."""

    revoked_at: datetime
    reason: str  # a rules.Reason value ("none": no reasonCode)
    invalidity_date: datetime | None = None


def audit_actor(actor: Actor) -> str:
    """How the audit log (and the revocation row) names who revoked: operator:<id>,
    system:<job>, or the kind."""
    return f"{actor.kind.value}:{actor.id}" if actor.id else actor.kind.value


async def revoke_at_ca(
    ca: CertificateAuthority,
    serial: str,
    reason: str,
    now: datetime,
    invalidity_date: datetime | None = None,
) -> Recorded:
    """The CA revokes the serial (hex) at `now` (idempotent there: a second call is success),
    and what it recorded is the truth the row takes: the first call's time and reason when a
    racing call got there first, the CA's own time where it stamps one (django-ca)."""
    flag = rules.flag_of(reason)
    if flag is not x509.ReasonFlags.key_compromise:
        invalidity_date = None
    number = int(serial, 16)
    await ca.revoke(CaRevocation(number, flag, now, invalidity_date))
    status = await ca.status(number)
    if status.status is CertStatus.REVOKED and status.revoked_at is not None:
        return Recorded(
            status.revoked_at, rules.reason_of_flag(status.reason), status.invalidity_date
        )
    return Recorded(now, reason, invalidity_date)


async def mark_revoked(
    certificate: dict[str, Any],
    recorded: Recorded,
    actor: Actor,
    events: Events,
    *,
    reference: str,
    request_id: int | None = None,
) -> bool:
    """Inside the caller's write transaction: issued → revoked, the revocation row, the open
    requests of the certificate answered, certificate.revoked announced. False (nothing
    written) when another call revoked it first: the conditional UPDATE decides, and the row's
    UNIQUE certificate keeps it one even if it did not."""
    moved = (
        await Certificate.update({Certificate.status: REVOKED})
        .where((Certificate.id == certificate["id"]) & (Certificate.status == ISSUED))
        .returning(Certificate.id)
    )
    if not moved:
        return False
    await Revocation.insert(
        Revocation(
            certificate=certificate["id"],
            request=request_id,
            reason=recorded.reason,
            revoked_at=recorded.revoked_at,
            invalidity_date=recorded.invalidity_date,
            actor=audit_actor(actor),
        )
    )
    await _close_requests(int(certificate["id"]), actor, events.letters.now)
    await events.announce(
        EVENT_REVOKED,
        certificate_data(
            serial=certificate["serial"],
            subject=certificate["subject"],
            not_before=certificate["not_before"],
            not_after=certificate["not_after"],
            pem=certificate["certificate_pem"],
            company_code=await company_code_of(int(certificate["application"])),
            reference=reference,
            revoked_at=iso_utc(recorded.revoked_at),
            reason=None if recorded.reason == rules.Reason.NONE else recorded.reason,
        ),
    )
    return True


async def _close_requests(certificate_id: int, actor: Actor, now: datetime) -> None:
    """Every open request of this certificate is answered by this revocation (else the
    immediate-revocation relay would enqueue it again for ever)."""
    decided_by = int(actor.id) if actor.kind is ActorKind.OPERATOR else None
    await RevocationRequest.update(
        {
            RevocationRequest.status: REQUEST_REVOKED,
            RevocationRequest.decided_at: now,
            RevocationRequest.decided_by: decided_by,
        }
    ).where(
        (RevocationRequest.certificate == certificate_id) & (RevocationRequest.status == PENDING)
    )


async def revocation_of(certificate_id: int) -> dict[str, Any] | None:
    """The certificate's revocation row (None: not revoked), what every reader shows."""
    row = await Revocation.select().where(Revocation.certificate == certificate_id).first()
    return dict(row) if row else None
