"""「再発行」: a new key and certificate for the same application, the old one revoked as
superseded (its revocation row, open requests and certificate.revoked written by
app.revocation.record, as a revocation writes them). One re-issue per certificate: the
conditional UPDATE that revokes the old one decides (two approvers at once, or an ordinary
revocation at the same time → one of them), and the new request id is derived from the
superseded certificate, so each re-issue is idempotent at the CA like the first issue.

Not app.revocation.service.revoke: that one ends the application (revoked) and mails the
holder a revocation notice, while a re-issue keeps the application issued and mails a new
pickup link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.application.tables import Application
from app.application.workflow import Actor
from app.console.audit.service import record
from app.db import utcnow
from app.i18n import _
from app.issuance import keys
from app.issuance.ca import select
from app.issuance.ca.base import CertificateAuthority
from app.issuance.service import ca_subject, enqueue_issue, insert_request
from app.issuance.tables import GENERATED, ISSUED, Certificate, PickupToken, WrappedKey
from app.issuance.webhooks.service import Webhooks
from app.jobs import JobQueue
from app.mail.outbox import Outbox
from app.revocation.record import audit_actor, mark_revoked, revoke_at_ca
from app.revocation.rules import Reason
from app.settings import Settings

UNCLAIMED = "unclaimed"  # the pickup was not completed and the key was destroyed
LOST = "lost"  # the holder asked (the file or its PIN lost)
NOTE_MAX = 500


class NotReissuable(Exception):
    """This certificate may not be re-issued (not issued, or the reason does not apply)."""


class Lost(Exception):
    """Another operator re-issued (or revoked) it first."""


def reason_labels() -> list[tuple[str, str]]:
    return [
        (UNCLAIMED, _("受け取られないまま秘密鍵が消去された")),
        (LOST, _("本人からの申し出（ファイルや PIN の紛失など）")),
    ]


@dataclass(frozen=True)
class Pickup:
    state: str  # "waiting" | "received" | "destroyed" | "expired" | "csr" | "none"
    expires_at: Any = None
    received_at: Any = None


async def pickup_of(certificate: dict[str, Any]) -> Pickup:
    link = await PickupToken.select().where(PickupToken.certificate == certificate["id"]).first()
    if certificate["picked_up_at"] is not None:
        return Pickup("received", received_at=certificate["picked_up_at"])
    if certificate["key_origin"] != GENERATED:
        return Pickup("csr", expires_at=link["expires_at"] if link else None)
    has_key = await WrappedKey.exists().where(WrappedKey.certificate == certificate["id"])
    if link is None:
        return Pickup("none")
    if not has_key:
        return Pickup("destroyed", expires_at=link["expires_at"])
    if link["expires_at"] <= utcnow():
        return Pickup("expired", expires_at=link["expires_at"])
    return Pickup("waiting", expires_at=link["expires_at"])


def reasons_open(certificate: dict[str, Any], pickup: Pickup) -> list[str]:
    """The re-issue reasons that apply to this certificate now (empty: no re-issue)."""
    if certificate["status"] != ISSUED or certificate["key_origin"] != GENERATED:
        return []
    return [UNCLAIMED, LOST] if pickup.state == "destroyed" else [LOST]


def request_id_of(application_id: int, superseded_id: int) -> str:
    """The re-issue's CA idempotency key: one per superseded certificate."""
    return f"jcan-{application_id}-reissue-of-{superseded_id}"


async def reissue(
    public_id: str,
    reason: str,
    note: str,
    *,
    actor: Actor,
    settings: Settings,
    outbox: Outbox,
    queue: JobQueue | None = None,
    ca: CertificateAuthority | None = None,
    client: str = "",
) -> dict[str, Any]:
    """Supersede the certificate and store the new request (its pickup mail held until the
    CA answers; the issue_certificate job does that and relay_issuance retries it). The new
    certificate row; NotReissuable or Lost otherwise."""
    found = await Certificate.select().where(Certificate.public_id == public_id).first()
    if found is None:
        raise NotReissuable(public_id)
    old = dict(found)
    if reason not in reasons_open(old, await pickup_of(old)):
        raise NotReissuable(public_id)
    application = await Application.select().where(Application.id == old["application"]).first()
    assert application is not None
    subject, _profile = ca_subject(dict(application))
    material = await keys.generate(settings.ca.rsa_key_size, subject.common_name)
    now = utcnow().replace(microsecond=0)
    # The CA first (its CRL re-signed there); the row takes what the CA recorded.
    recorded = await revoke_at_ca(ca or select(settings), old["serial"], Reason.SUPERSEDED, now)
    request_id = request_id_of(int(application["id"]), int(old["id"]))
    reference = str(application["reference"])
    async with Webhooks(outbox).transaction(now) as events:
        if not await mark_revoked(old, recorded, actor, events, reference=reference):
            raise Lost(public_id)  # rolls back; the CA's revoke was the winner's too
        new_id = await insert_request(
            events.letters, dict(application), request_id, subject, material, settings
        )
        await record(
            "certificate.reissue",
            actor=audit_actor(actor),
            target=f"certificate:{old['serial']}",
            client=client,
            details={
                "application": reference,
                "reason": reason,
                "note": note,
                "request": request_id,
            },
            now=now,
        )
    if queue is not None:
        await enqueue_issue(queue, int(application["id"]), f":reissue-{old['id']}")
    row = await Certificate.select().where(Certificate.id == new_id).first()
    assert row is not None
    return dict(row)
