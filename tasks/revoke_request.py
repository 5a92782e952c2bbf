"""The revocation of a confirmed request without an operator (REVOCATION_IMMEDIATE), and the
relay that revokes any such request whose enqueue was lost. Idempotent: a retry, or two jobs
at once, revoke once (app/revocation/service.py decides with a conditional UPDATE)."""

from __future__ import annotations

import logging
from typing import Any

from arq.worker import Retry

from app.application.workflow import Actor
from app.issuance.ca import select
from app.issuance.ca.base import CertificateAuthority, TransientCAError
from app.mail.service import backoff
from app.revocation import service
from app.revocation.requests import REVOKE_REQUEST, enqueue_revocation
from app.revocation.tables import PENDING, SUBSCRIBER, RevocationRequest
from app.settings import Settings
from tasks.issue_certificate import outbox_for

log = logging.getLogger("jcan.jobs")
SYSTEM = Actor.system(REVOKE_REQUEST)


def _ca(ctx: dict[str, Any]) -> CertificateAuthority:
    ca: CertificateAuthority | None = ctx.get("ca")
    if ca is None:
        ca = ctx["ca"] = select(ctx["settings"])
    return ca


async def revoke_request(ctx: dict[str, Any], request_id: int) -> str:
    settings: Settings = ctx["settings"]
    row = await RevocationRequest.select().where(RevocationRequest.id == int(request_id)).first()
    if row is None or row["status"] != PENDING:
        return "nothing to revoke"
    try:
        outcome = await service.revoke(
            row["certificate"],
            row["reason"],
            SYSTEM,
            row["invalidity_date"],
            settings=settings,
            outbox=outbox_for(ctx),
            ca=_ca(ctx),
            request_id=row["id"],
        )
    except TransientCAError as exc:
        delay = backoff(int(ctx.get("job_try", 1)))
        log.warning(
            "CA unavailable for revocation %s (%s), retry in %.0f s", request_id, exc, delay
        )
        raise Retry(defer=delay) from exc
    return "revoked" if outcome.revoked_now else "revoked already"


async def relay_revocations(ctx: dict[str, Any]) -> int:
    """With REVOCATION_IMMEDIATE: confirmed requests still pending are enqueued again."""
    settings: Settings = ctx["settings"]
    queue = ctx.get("queue")
    if not settings.revocation.immediate or queue is None:
        return 0
    rows = await RevocationRequest.select(RevocationRequest.id).where(
        (RevocationRequest.status == PENDING)
        & (RevocationRequest.source == SUBSCRIBER)
        & (RevocationRequest.confirmed == True)  # noqa: E712 (a Piccolo expression)
    )
    for row in rows:
        await enqueue_revocation(queue, row["id"])
    return len(rows)
