"""Issuing through the issue_certificate job with CA_BACKEND=django-ca against a real
django-ca 3.2 server: an approval gives one certificate, the application issued and the pickup
mail; the job twice gives one; a crash after django-ca answered is repaired by the rerun with
the same certificate; pkilint's S/MIME BR linter passes what django-ca signed for the job.

The portal's side (prepare/complete) is the same code as with the local CA, covered on both
engines by test_issue.py: like test_django_ca.py this runs in the SQLite pass only (one
django-ca server for the session, shared with test_django_ca.py). JCAN_SKIP_DJANGO_CA=1 skips it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.application.tables import Application, StatusChange
from app.issuance import service
from app.issuance.ca import select
from app.issuance.ca.django_ca import DjangoCA
from app.issuance.webhooks.tables import WebhookEvent
from app.jobs import InProcessQueue, Jobs
from app.mail.outbox import Outbox
from app.mail.tables import OutboxMessage
from app.settings import DjangoCASettings
from tasks.issue_certificate import issue_certificate, outbox_for
from tasks.registry import JOBS
from tests.helpers import django_ca_settings, submitted, text_body
from tests.integration.issuance.issuance_helpers import (
    approve,
    certificates,
    no_queue,
    pickup_mails_to,
    wait_issued,
)
from tests.integration.issuance.test_django_ca import tagged
from tests.support.pkilint import lint_smime_certificate, smime_type
from tests.support.services import TEST_DATABASE_URL

_APPROVAL_IDS = itertools.count(secrets.randbelow(10**6) * 1000 + 10**9, 1000)

pytestmark = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="the django-ca path runs in the SQLite pass only"
)


@pytest.fixture(scope="module")
def dca_settings(django_ca_server: Any) -> DjangoCASettings:
    return django_ca_settings(django_ca_server)


@pytest.fixture
async def services(app: Any, settings: Any, dca_settings: DjangoCASettings) -> AsyncIterator[Any]:
    """The app's services with CA_BACKEND=django-ca, and the in-process runner of the
    registry's jobs (no schedule) under those settings: the approval's enqueue runs the job."""
    services = app.state.services
    chosen = replace(settings, ca=replace(settings.ca, backend="django-ca"), django_ca=dca_settings)
    before = services.settings, services.queue
    services.settings = chosen
    services.queue = InProcessQueue(chosen, Jobs(functions=JOBS.functions, schedule=()))
    try:
        yield services
    finally:
        await services.queue.close()
        services.settings, services.queue = before


async def approved(client: Any, smtp_sink: Any, services: Any) -> dict[str, Any]:
    """An application submitted and approved, its approval's id distinct from any approval
    an earlier test of the session made: the request id (application and approval ids) is
    django-ca's idempotency key, the server lives for the whole session, and SQLite numbers
    rows from 1 again after each test's cleanup (django-ca would refuse a known request id
    with a new key). A placeholder status change with a high id, removed after the approval,
    moves the approval's id up; the approval itself is the console's."""
    reference = await submitted(client, smtp_sink)
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    placeholder = next(_APPROVAL_IDS)
    await StatusChange.insert(
        StatusChange(
            id=placeholder, application=row["id"], from_status="submitted", to_status="submitted"
        )
    )
    try:
        return await approve(reference, services)
    finally:
        await StatusChange.delete().where(StatusChange.id == placeholder)


def job_context(services: Any) -> dict[str, Any]:
    return {"settings": services.settings, "queue": services.queue, "job_try": 1}


async def test_an_approval_through_the_job_issues_one_certificate_from_django_ca(
    client: Any, smtp_sink: Any, services: Any, dca_settings: DjangoCASettings
) -> None:
    assert isinstance(select(services.settings), DjangoCA)
    application = await approved(client, smtp_sink, services)
    issued = await wait_issued(application["id"])
    assert issued["status"] == "issued"
    [message] = await pickup_mails_to(smtp_sink)
    assert "/pickup/t/" in text_body(message)
    [cert] = await certificates(application["id"])
    assert cert["status"] == "issued" and cert["key_origin"] == "generated"
    certificate = x509.load_pem_x509_certificate(cert["certificate_pem"].encode())
    assert format(certificate.serial_number, "x") == cert["serial"]
    # Signed by django-ca: its issuing CA is the chain's first, and it knows the request's tag.
    issuing = x509.load_pem_x509_certificate(cert["chain_pem"].encode())
    certificate.verify_directly_issued_by(issuing)
    assert issuing.subject.rfc4514_string() == certificate.issuer.rfc4514_string()
    [held] = await tagged(dca_settings, cert["request_id"])
    assert int(held["certificate"]["serial"], 16) == certificate.serial_number
    assert await WebhookEvent.count().where(WebhookEvent.serial == cert["serial"]) == 1
    # pkilint's S/MIME BR linter on what django-ca signed for the job: no errors or warnings.
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert lint_smime_certificate(der) == [], smime_type(der)


async def test_the_job_run_twice_gives_one_certificate_from_django_ca(
    client: Any, smtp_sink: Any, services: Any, dca_settings: DjangoCASettings
) -> None:
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    ctx = job_context(services)
    again = await asyncio.gather(
        issue_certificate(ctx, application["id"]), issue_certificate(ctx, application["id"])
    )
    assert again == ["issued already", "issued already"]
    [cert] = await certificates(application["id"])
    assert len(await tagged(dca_settings, cert["request_id"])) == 1
    pickups = await OutboxMessage.select().where(OutboxMessage.template == "certificate_pickup")
    assert len(pickups) == 1


async def test_a_crash_after_django_ca_answered_is_repaired_by_the_rerun_with_the_same_cert(
    client: Any, smtp_sink: Any, services: Any, dca_settings: DjangoCASettings
) -> None:
    async with no_queue(services):  # the job is run below, by hand
        application = await approved(client, smtp_sink, services)
    ctx = job_context(services)
    # The first run: the request stored, django-ca signed, the worker died before the commit.
    outbox: Outbox = outbox_for(ctx)
    prepared = await service.prepare(application["id"], services.settings, outbox)
    assert prepared is not None
    first = await DjangoCA(dca_settings).issue(prepared.request)
    [row] = await certificates(application["id"])
    assert row["status"] == "requested" and row["serial"] is None
    # The rerun: the same request id, django-ca's same certificate, stored once.
    assert await issue_certificate(ctx, application["id"]) == "issued"
    [row] = await certificates(application["id"])
    assert row["serial"] == format(first.serial, "x")
    assert row["certificate_pem"].encode() == first.certificate_pem
    assert len(await tagged(dca_settings, prepared.request.request_id)) == 1
    await pickup_mails_to(smtp_sink)
