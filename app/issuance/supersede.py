"""Revoking a re-issued certificate as superseded: the CA's revoke (the local CA re-signs its
CRL there), then (in the re-issue's transaction) the certificate marked revoked and
certificate.revoked announced.

Not app.revocation.service.revoke: that one ends the application (revoked) and mails the
holder a revocation notice, while a re-issue keeps the application issued and mails a new
pickup link. Still missing here: a `revocation` row for the superseded certificate (the
console's certificate page reads the reason from the audit row instead)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509

from app.issuance.ca.base import CertificateAuthority
from app.issuance.ca.base import Revocation as CaRevocation
from app.issuance.tables import ISSUED, REVOKED, Certificate
from app.issuance.webhooks.service import REVOKED as REVOKED_EVENT
from app.issuance.webhooks.service import Events, certificate_data, iso_utc

SUPERSEDED = "superseded"


async def revoke_superseded_at_ca(
    certificate: dict[str, Any], ca: CertificateAuthority, now: datetime
) -> None:
    """The CA revokes the serial as superseded (idempotent there: a second call is success)."""
    serial = int(certificate["serial"], 16)
    await ca.revoke(CaRevocation(serial, x509.ReasonFlags.superseded, now, None))


async def mark_superseded(
    certificate: dict[str, Any], events: Events, company_code: str, reference: str
) -> bool:
    """Inside the caller's write transaction: issued → revoked (conditional: False when another
    call got there first) and certificate.revoked announced to the e-contract service."""
    moved = (
        await Certificate.update({Certificate.status: REVOKED})
        .where((Certificate.id == certificate["id"]) & (Certificate.status == ISSUED))
        .returning(Certificate.id)
    )
    if not moved:
        return False
    await events.announce(
        REVOKED_EVENT,
        certificate_data(
            serial=certificate["serial"],
            subject=certificate["subject"],
            not_before=certificate["not_before"],
            not_after=certificate["not_after"],
            pem=certificate["certificate_pem"],
            company_code=company_code,
            reference=reference,
            revoked_at=iso_utc(events.letters.now),
            reason=SUPERSEDED,
        ),
    )
    return True
