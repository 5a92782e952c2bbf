"""Job: issue the certificate of one approved application (idempotent by the approval's
request id: app.issuance.service), and the cron that re-enqueues approvals a lost enqueue left."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq.worker import Retry

from app import cpu
from app.application.tables import Application
from app.db import utcnow
from app.issuance import service
from app.issuance.ca import select
from app.issuance.ca.base import CAError, CertificateAuthority, TransientCAError
from app.issuance.ca.local import LocalCA
from app.mail.outbox import Outbox
from app.mail.service import backoff
from app.settings import Settings
from app.templating import make_environment

log = logging.getLogger("jcan.jobs")

_environments: dict[int, Any] = {}


def outbox_for(ctx: dict[str, Any]) -> Outbox:
    settings: Settings = ctx["settings"]
    env = _environments.get(id(settings))
    if env is None:
        env = _environments[id(settings)] = make_environment(settings)
    return Outbox(Application._meta.db, env, settings.app.mail_domain, ctx.get("queue"))


# One CA adapter per settings for the process's life: arq hands each job a copy of its ctx, so
# an adapter kept in ctx was made again for every job, and the local CA decrypted its key file
# every time (~0.6 s of CPU per certificate, `make bench`). The settings are kept beside it so
# that their id is not reused while the entry lives.
_authorities: dict[int, tuple[Settings, CertificateAuthority]] = {}


def _ca(ctx: dict[str, Any]) -> CertificateAuthority:
    ca: CertificateAuthority | None = ctx.get("ca")
    if ca is None:
        settings: Settings = ctx["settings"]
        entry = _authorities.get(id(settings))
        if entry is None or entry[0] is not settings:
            entry = _authorities[id(settings)] = (settings, select(settings))
        ca = entry[1]
    return ca


async def prepare_worker(ctx: dict[str, Any]) -> None:
    """At the worker's start, what its first jobs would otherwise wait for: the key pool's
    processes (spawned interpreters) and the local CA's keys (decrypting the key file costs
    ~0.6 s of CPU). A CA not initialised yet is not an error here: its jobs say so."""
    cpu.warm(cpu.BACKGROUND, cpu.size())
    ca = _ca(ctx)
    if isinstance(ca, LocalCA):
        try:
            await ca.load()
        except CAError as exc:
            log.warning("the local CA is not ready: %s", exc)


async def issue_certificate(ctx: dict[str, Any], application_id: int) -> str:
    outbox = outbox_for(ctx)
    prepared = await service.prepare(int(application_id), ctx["settings"], outbox)
    if prepared is None:
        return "nothing to issue"
    if prepared.certificate["status"] != "requested":
        return "issued already"
    settings: Settings = ctx["settings"]
    certificate_id = int(prepared.certificate["id"])
    lapse = timedelta(seconds=settings.issuance.retry_seconds)
    if not await service.lease_ca_call(certificate_id, ctx.get("now") or utcnow(), lapse):
        # Another run is asking the CA for this request right now: look again later (its
        # certificate will be stored by then, or its lease lapsed).
        delay = backoff(int(ctx.get("job_try", 1)))
        log.info(
            "the CA is being asked for %s by another run, again in %.0f s", application_id, delay
        )
        raise Retry(defer=delay)
    try:
        issued = await _ca(ctx).issue(prepared.request)
    except TransientCAError as exc:
        await service.release_ca_call(certificate_id)
        delay = backoff(int(ctx.get("job_try", 1)))
        log.warning("CA unavailable for %s (%s), retry in %.0f s", application_id, exc, delay)
        raise Retry(defer=delay) from exc
    except BaseException:
        await service.release_ca_call(certificate_id)
        raise
    # A worker that dies here reruns the job: the same request id, the same certificate.
    done = await service.complete(prepared, issued, outbox)
    log.info("certificate %x issued for application %s", issued.serial, application_id)
    return "issued" if done else "issued already"


async def relay_issuance(ctx: dict[str, Any]) -> int:
    """Approved applications not issued yet (up to service.RELAY_BATCH, oldest first): enqueue
    their job (the job id keeps one at a time), so issuing never depends on the enqueue after
    the approval. A worker killed mid-job leaves its job id taken in Redis until arq's job
    timeout: a request stored longer ago than ISSUE_RETRY_SECONDS gets a job id of its own (the
    job is idempotent)."""
    settings: Settings = ctx["settings"]
    now = ctx.get("now") or utcnow()
    stale = await service.stale_requests(now - timedelta(seconds=settings.issuance.retry_seconds))
    waiting = await service.awaiting_issue()
    for application_id in waiting:
        suffix = ""
        if application_id in stale:
            suffix = f":retry-{int(now.timestamp()) // settings.issuance.retry_seconds}"
            log.info("issuing of application %s is retried (%s)", application_id, suffix)
        await service.enqueue_issue(ctx["queue"], application_id, suffix)
    return len(waiting)
