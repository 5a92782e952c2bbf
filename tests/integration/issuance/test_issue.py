"""Issuing after the console's approval, with the local CA: one certificate per approval
whatever happens to the job (twice, at once, after a crash between the CA's answer and the
commit), the application issued by the system, the key kept only wrapped, the mail released."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cryptography import x509

from app.application.tables import StatusChange
from app.issuance import service
from app.issuance.ca import select
from app.issuance.tables import PickupToken, WrappedKey
from app.issuance.webhooks.tables import WebhookEvent
from app.mail.tables import OutboxMessage
from tasks.issue_certificate import issue_certificate, outbox_for
from tests.helpers import text_body
from tests.integration.issuance.issuance_helpers import (
    approved,
    approved_without_job,
    certificates,
    job_context,
    pickup_mails_to,
    wait_issued,
)


@pytest.fixture
def services(app: Any, ca_settings: Any) -> Any:  # ca_settings: the local CA exists
    return app.state.services


async def test_an_approval_issues_one_certificate_and_mails_the_pickup_link(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    application = await approved(client, smtp_sink, services)
    issued = await wait_issued(application["id"])
    [message] = await pickup_mails_to(smtp_sink)
    [cert] = await certificates(application["id"])
    assert cert["status"] == "issued" and cert["key_origin"] == "generated"
    certificate = x509.load_pem_x509_certificate(cert["certificate_pem"].encode())
    assert format(certificate.serial_number, "x") == cert["serial"]
    assert "CN=Taro Yamada" in cert["subject"]
    assert cert["not_after"] > cert["not_before"]
    assert len(cert["fingerprint"]) == 64 and cert["chain_pem"].count("BEGIN CERTIFICATE") >= 1
    change = await StatusChange.select().where(StatusChange.to_status == "issued").first()
    assert change is not None
    assert (change["actor"], change["actor_id"]) == ("system", "issue_certificate")
    assert issued["status"] == "issued"
    assert "/pickup/t/" in text_body(message)
    # The key is stored only wrapped; the token only as its hash.
    wrapped = await WrappedKey.select().where(WrappedKey.certificate == cert["id"]).first()
    assert wrapped is not None and "PRIVATE KEY" not in wrapped["wrapped"]
    token = text_body(message).split("/pickup/t/")[1].split()[0]
    link = await PickupToken.select().where(PickupToken.certificate == cert["id"]).first()
    assert link is not None and token not in str(dict(link))
    # 証明書を自動登録: one certificate.issued event, written with the certificate.
    [event] = await WebhookEvent.select().where(WebhookEvent.serial == cert["serial"])
    assert event["event_type"] == "certificate.issued"
    data = json.loads(event["body"])["data"]
    assert data["serial"] == cert["serial"] and data["pem"] == cert["certificate_pem"]
    assert data["subject"]["CN"] == "Taro Yamada" and data["subject"]["C"] == "JP"
    assert data["reference"] == application["reference"] and data["company_code"]
    assert data["validity"]["not_after"].startswith(str(cert["not_after"].year))


async def test_the_job_run_twice_or_at_once_gives_one_certificate(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    ctx = job_context(services)
    again = await asyncio.gather(
        issue_certificate(ctx, application["id"]), issue_certificate(ctx, application["id"])
    )
    assert again == ["issued already", "issued already"]
    [cert] = await certificates(application["id"])
    assert await WebhookEvent.count().where(WebhookEvent.serial == cert["serial"]) == 1
    pickups = await OutboxMessage.select().where(OutboxMessage.template == "certificate_pickup")
    assert len(pickups) == 1


async def test_a_crash_after_the_ca_answered_is_repaired_by_the_rerun_with_the_same_cert(
    client: Any, smtp_sink: Any, services: Any, variant: Any
) -> None:
    application = await approved_without_job(client, smtp_sink, services)
    ctx = job_context(services)
    # The first run: the request stored, the CA signed, then the worker died before commit.
    prepared = await service.prepare(application["id"], services.settings, outbox_for(ctx))
    assert prepared is not None
    first = await select(services.settings).issue(prepared.request)
    [row] = await certificates(application["id"])
    assert row["status"] == "requested" and row["serial"] is None
    pickup = await OutboxMessage.select().where(OutboxMessage.template == "certificate_pickup")
    assert [m["status"] for m in pickup] == ["held"]  # no link to a certificate not stored
    # The rerun: the stored CSR again, the same certificate from the CA, stored once.
    assert await issue_certificate(ctx, application["id"]) == "issued"
    [row] = await certificates(application["id"])
    assert row["serial"] == format(first.serial, "x")
    assert row["certificate_pem"].encode() == first.certificate_pem
    await pickup_mails_to(smtp_sink)


async def test_a_run_while_another_asks_the_ca_waits_instead_of_asking_too(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    from datetime import timedelta

    from arq.worker import Retry

    from app.db import utcnow
    from app.issuance.ca.tables import LocalCaCertificate

    application = await approved_without_job(client, smtp_sink, services)
    ctx = job_context(services)
    prepared = await service.prepare(application["id"], services.settings, outbox_for(ctx))
    assert prepared is not None
    lapse = timedelta(seconds=services.settings.issuance.retry_seconds)
    # Another run holds the call: this one neither asks the CA nor stores anything.
    certificate_id = prepared.certificate["id"]
    assert await service.lease_ca_call(certificate_id, utcnow(), lapse)
    assert not await service.lease_ca_call(certificate_id, utcnow(), lapse)
    with pytest.raises(Retry):
        await issue_certificate(ctx, application["id"])
    assert await LocalCaCertificate.count() == 0
    [row] = await certificates(application["id"])
    assert row["status"] == "requested"
    # The holder died: once its lease lapsed, the next run asks the CA and issues.
    ctx_later = ctx | {"now": utcnow() + lapse}
    assert await issue_certificate(ctx_later, application["id"]) == "issued"
    assert await LocalCaCertificate.count() == 1
    assert not await service.lease_ca_call(certificate_id, utcnow(), lapse)  # issued: none


async def test_a_failed_ca_call_hands_its_lease_back(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    from datetime import timedelta

    from app.db import utcnow

    application = await approved_without_job(client, smtp_sink, services)
    prepared = await service.prepare(
        application["id"], services.settings, outbox_for(job_context(services))
    )
    assert prepared is not None
    certificate_id, lapse = prepared.certificate["id"], timedelta(minutes=5)
    assert await service.lease_ca_call(certificate_id, utcnow(), lapse)
    await service.release_ca_call(certificate_id)  # the CA was away: retried with backoff
    assert await service.lease_ca_call(certificate_id, utcnow(), lapse)  # no wait for a lapse


async def test_nothing_is_issued_for_an_application_not_approved(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    assert await issue_certificate(job_context(services), 999999) == "nothing to issue"


async def test_jcan_certificates_list_and_show(client: Any, smtp_sink: Any, services: Any) -> None:
    from tests.integration.test_cli import jcan

    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    [cert] = await certificates(application["id"])
    listed = await asyncio.to_thread(jcan, "certificates", "list")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.startswith(f"{cert['serial']}\tissued\t") and "waiting until" in line
    shown = await asyncio.to_thread(jcan, "certificates", "show", cert["serial"].upper())
    assert shown.returncode == 0, shown.stderr
    assert f"sha256:\t{cert['fingerprint']}" in shown.stdout
    assert "BEGIN CERTIFICATE" in shown.stdout
    missing = await asyncio.to_thread(jcan, "certificates", "show", "abcdef")
    assert missing.returncode == 1


async def test_the_relay_takes_the_oldest_approvals_a_batch_at_a_time(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    from app.application.tables import Application
    from tests.helpers import submitted

    references = [
        await submitted(
            client, smtp_sink, email=f"relay{n}@example.com", ticket_number=client.tickets[n]
        )
        for n in range(3)
    ]
    # Approved as the console would leave them before the enqueue (none is issued here).
    await Application.update({Application.status: "approved"}).where(
        Application.reference.is_in(references)
    )
    rows = await Application.select(Application.id).order_by(Application.id)
    ids = [int(row["id"]) for row in rows]
    assert len(ids) == 3
    assert await service.awaiting_issue(limit=2) == ids[:2]
    assert await service.awaiting_issue() == ids
    await Application.update({Application.status: "issued"}).where(Application.id == ids[0])
    assert await service.awaiting_issue(limit=2) == ids[1:]
