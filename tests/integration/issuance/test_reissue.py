"""「再発行」: an unclaimed (or lost) certificate gets a new key and certificate for the same
application, the old one revoked as superseded at the CA with its revocation row; one re-issue
when two approvers click at once, one revocation when an ordinary revocation races it; each
re-issue idempotent at the CA; the certificate page shows it all, audited."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509

from app.application.tables import Application
from app.application.workflow import Actor
from app.console.audit.tables import AuditEvent
from app.db import utcnow
from app.issuance import reissue as reissuing
from app.issuance.ca import select
from app.issuance.ca.base import CertStatus
from app.issuance.ca.base import Revocation as CaRevocation
from app.issuance.console import colon_serial
from app.issuance.tables import ISSUED, REQUESTED, REVOKED, Certificate, WrappedKey
from app.issuance.webhooks.service import iso_utc
from app.issuance.webhooks.tables import WebhookEvent
from app.revocation import requests as revocation_requests
from app.revocation import rules, service
from app.revocation.tables import Revocation, RevocationRequest
from tasks.issue_certificate import issue_certificate
from tasks.sweep import sweep_expired
from tests.helpers import CSRF, operator_client
from tests.integration.issuance.issuance_helpers import (
    approved,
    certificates,
    job_context,
    pickup_mails_to,
    wait_issued,
)
from tests.support.cli import jcan


@pytest.fixture
def services(app: Any, ca_settings: Any) -> Any:  # ca_settings: the local CA exists
    return app.state.services


async def issued_unclaimed(client: Any, smtp_sink: Any, services: Any) -> dict[str, Any]:
    """An issued certificate whose pickup link expired and whose key the sweep destroyed."""
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    await pickup_mails_to(smtp_sink)
    later = utcnow() + timedelta(days=services.settings.issuance.pickup_link_days, seconds=1)
    ctx = {"settings": services.settings, "queue": services.queue, "now": later}
    assert (await sweep_expired(ctx))["unclaimed_keys"] == 1
    [row] = await certificates(application["id"])
    return row


ADMIN = Actor.operator(1)


async def reissue(
    services: Any, public_id: str, reason: str = reissuing.UNCLAIMED, ca: Any = None
) -> Any:
    return await reissuing.reissue(
        public_id,
        reason,
        "期限切れのため",
        actor=ADMIN,
        settings=services.settings,
        outbox=services.outbox,
        ca=ca,
    )


class Answered:
    """The real CA, with an event set once it has revoked: lets a test start a racing call at
    the moment the re-issue has the CA's answer (and goes for the database)."""

    def __init__(self, ca: Any) -> None:
        self.ca = ca
        self.event = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ca, name)

    async def revoke(self, revocation: Any) -> None:
        await self.ca.revoke(revocation)
        self.event.set()


async def test_an_unclaimed_certificate_is_reissued_and_the_old_one_superseded(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    old = await issued_unclaimed(client, smtp_sink, services)
    new = await reissue(services, old["public_id"])
    assert new["status"] == REQUESTED and new["request_id"].endswith(f"reissue-of-{old['id']}")
    assert await WrappedKey.exists().where(WrappedKey.certificate == new["id"])
    ca = select(services.settings)
    status = await ca.status(int(old["serial"], 16))
    assert status.status is CertStatus.REVOKED
    assert (await Certificate.select().where(Certificate.id == old["id"]).first())[
        "status"
    ] == REVOKED
    revoked = await WebhookEvent.select().where(WebhookEvent.serial == old["serial"])
    assert {e["event_type"] for e in revoked} == {"certificate.issued", "certificate.revoked"}

    ctx = job_context(services)
    assert await issue_certificate(ctx, old["application"]) == "issued"
    assert await issue_certificate(ctx, old["application"]) == "issued already"  # rerun
    rows = await certificates(old["application"])
    assert len(rows) == 2
    done = next(r for r in rows if r["id"] == new["id"])
    assert done["status"] == ISSUED and done["serial"] != old["serial"]
    await pickup_mails_to(smtp_sink, count=2)  # the new pickup mail to the holder
    [audit] = await AuditEvent.select().where(AuditEvent.action == "certificate.reissue")
    assert audit["target"] == f"certificate:{old['serial']}" and "unclaimed" in audit["details"]


async def test_the_superseded_certificate_has_its_revocation_row(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    old = await issued_unclaimed(client, smtp_sink, services)
    await reissue(services, old["public_id"])
    [row] = await Revocation.select().where(Revocation.certificate == old["id"])
    status = await select(services.settings).status(int(old["serial"], 16))
    assert status.reason is x509.ReasonFlags.superseded
    assert (row["reason"], row["revoked_at"]) == ("superseded", status.revoked_at)
    assert (row["actor"], row["request"], row["invalidity_date"]) == ("operator:1", None, None)
    [event] = await WebhookEvent.select().where(
        (WebhookEvent.serial == old["serial"]) & (WebhookEvent.event_type == "certificate.revoked")
    )
    assert f'"revoked_at":"{iso_utc(row["revoked_at"])}"' in event["body"]
    assert '"reason":"superseded"' in event["body"]
    # The application stays issued (its new certificate is on the way), no revocation notice.
    application = await Application.select().where(Application.id == old["application"]).first()
    assert application is not None and application["status"] == "issued"
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.revoke") == 0
    # A later revocation of the same certificate finds it revoked, with the row's reason.
    again = await service.revoke(
        old["id"],
        "keyCompromise",
        Actor.system("test"),
        settings=services.settings,
        outbox=services.outbox,
    )
    assert not again.revoked_now and (again.reason, again.revoked_at) == (
        "superseded",
        row["revoked_at"],
    )
    shown = await asyncio.to_thread(jcan, "certificates", "show", old["serial"])
    assert shown.returncode == 0, shown.stderr
    assert "status:\trevoked" in shown.stdout and "reason:\tsuperseded" in shown.stdout
    assert "revoked by:\toperator:1" in shown.stdout


async def test_an_open_revocation_request_is_answered_by_the_reissue(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    old = await issued_unclaimed(client, smtp_sink, services)
    choice = rules.Choice(rules.Reason.CESSATION_OF_OPERATION, None)
    received = await revocation_requests.record_paper(
        old, choice, "本人", "電話で確認", 1, services.settings
    )
    await reissue(services, old["public_id"])
    request = await RevocationRequest.select().where(RevocationRequest.id == received.id).first()
    assert request is not None
    assert (request["status"], request["decided_by"]) == ("revoked", 1)
    assert request["decided_at"] is not None


async def test_a_revocation_that_reached_the_ca_first_is_what_the_reissue_records(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    """The ordinary revocation's CA call landed, its transaction not yet: the re-issue records
    the CA's reason and time (what the CRL and OCSP say), and the revocation then finds it."""
    old = await issued_unclaimed(client, smtp_sink, services)
    ca = select(services.settings)
    first = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    compromised = first - timedelta(hours=1)
    serial = int(old["serial"], 16)
    await ca.revoke(CaRevocation(serial, x509.ReasonFlags.key_compromise, first, compromised))
    await reissue(services, old["public_id"])
    [row] = await Revocation.select().where(Revocation.certificate == old["id"])
    assert (row["reason"], row["revoked_at"], row["invalidity_date"]) == (
        "keyCompromise",
        first,
        compromised,
    )
    outcome = await service.revoke(
        old["id"],
        "keyCompromise",
        Actor.system("test"),
        compromised,
        settings=services.settings,
        outbox=services.outbox,
    )
    assert not outcome.revoked_now and (outcome.reason, outcome.revoked_at) == (
        "keyCompromise",
        first,
    )
    assert await Revocation.count().where(Revocation.certificate == old["id"]) == 1


@pytest.mark.parametrize("reissue_first", [False, True], ids=["together", "reissue-first-at-ca"])
async def test_a_reissue_racing_a_revocation_leaves_one_revocation(
    client: Any, smtp_sink: Any, services: Any, reissue_first: bool
) -> None:
    """Whichever transaction wins, one revocation row, the CA's reason and time in it, one
    certificate.revoked, and the application as the winner leaves it."""
    old = await issued_unclaimed(client, smtp_sink, services)
    ca = select(services.settings)

    answered = Answered(ca)

    async def revoke() -> service.Outcome:
        if reissue_first:  # start once the re-issue has the CA's answer
            await asyncio.wait_for(answered.event.wait(), 30)
        return await service.revoke(
            old["id"],
            "cessationOfOperation",
            Actor.system("revoke_request"),
            settings=services.settings,
            outbox=services.outbox,
        )

    reissued, revoked = await asyncio.gather(
        reissue(services, old["public_id"], ca=answered), revoke(), return_exceptions=True
    )
    assert not isinstance(revoked, BaseException), revoked
    [row] = await Revocation.select().where(Revocation.certificate == old["id"])
    status = await ca.status(int(old["serial"], 16))
    assert status.status is CertStatus.REVOKED
    assert (row["reason"], row["revoked_at"]) == (
        rules.reason_of_flag(status.reason),
        status.revoked_at,
    )
    assert (revoked.reason, revoked.revoked_at) == (row["reason"], row["revoked_at"])
    certificate = await Certificate.select().where(Certificate.id == old["id"]).first()
    assert certificate is not None and certificate["status"] == REVOKED
    assert (
        await WebhookEvent.count().where(
            (WebhookEvent.serial == old["serial"])
            & (WebhookEvent.event_type == "certificate.revoked")
        )
        == 1
    )
    application = await Application.select().where(Application.id == old["application"]).first()
    assert application is not None
    reissues = await AuditEvent.count().where(AuditEvent.action == "certificate.reissue")
    revokes = await AuditEvent.count().where(AuditEvent.action == "certificate.revoke")
    if revoked.revoked_now:  # the revocation won: no re-issue, the application revoked
        assert isinstance(reissued, reissuing.Lost), reissued
        assert row["actor"] == "system:revoke_request"
        assert (application["status"], reissues, revokes) == ("revoked", 0, 1)
        assert len(await certificates(old["application"])) == 1
    else:  # the re-issue won: a new certificate, the application still issued
        assert isinstance(reissued, dict), reissued
        assert row["actor"] == "operator:1"
        assert (application["status"], reissues, revokes) == ("issued", 1, 0)
        assert len(await certificates(old["application"])) == 2


async def test_two_approvers_at_once_make_one_reissue(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    old = await issued_unclaimed(client, smtp_sink, services)
    outcomes = await asyncio.gather(
        reissue(services, old["public_id"]),
        reissue(services, old["public_id"]),
        return_exceptions=True,
    )
    lost = [o for o in outcomes if isinstance(o, (reissuing.Lost, reissuing.NotReissuable))]
    made = [o for o in outcomes if isinstance(o, dict)]
    assert len(made) == 1 and len(lost) == 1, outcomes
    assert len(await certificates(old["application"])) == 2
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.reissue") == 1
    with pytest.raises(reissuing.NotReissuable):  # the superseded one: not again
        await reissue(services, old["public_id"], reissuing.LOST)


async def test_a_waiting_pickup_is_reissued_only_on_the_holders_request(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    [old] = await certificates(application["id"])
    with pytest.raises(reissuing.NotReissuable):
        await reissue(services, old["public_id"], reissuing.UNCLAIMED)
    new = await reissue(services, old["public_id"], reissuing.LOST)
    assert new["status"] == REQUESTED


async def test_the_certificate_page_shows_pickup_deliveries_and_reissues(
    client: Any, smtp_sink: Any, services: Any, app: Any
) -> None:
    old = await issued_unclaimed(client, smtp_sink, services)
    serial = colon_serial(old["serial"])
    assert re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2}){7,}", serial), serial
    url = f"/console/certificates/{old['public_id']}"
    async with operator_client(app, "reviewer") as reviewer:
        page = await reviewer.get(url)
        assert page.status_code == 200, page.text
        assert serial in page.text and "秘密鍵は消去されました" in page.text
        assert "certificate.issued" in page.text and "再発行の理由" not in page.text
        assert (await reviewer.post(f"{url}/reissue", data={})).status_code == 403
    views = await AuditEvent.select().where(AuditEvent.action == "certificate.view")
    assert views and views[-1]["target"] == f"certificate:{old['serial']}"
    async with operator_client(app, "approver") as approver:
        page = await approver.get(url)
        assert "再発行の理由" in page.text
        token = CSRF.search(page.text).group(1)
        bad = await approver.post(f"{url}/reissue", data={"_csrf_token": token, "reason": "lost"})
        assert bad.status_code == 422 and "再発行の経緯を入力してください" in bad.text
        assert "checked" in bad.text  # the chosen reason kept
        done = await approver.post(
            f"{url}/reissue",
            data={"_csrf_token": token, "reason": "unclaimed", "note": "本人に確認済み"},
        )
        assert done.status_code == 303, done.text
        new_page = await approver.get(done.headers["location"])
        assert "再発行を受け付けました" in new_page.text and serial in new_page.text  # other cert
        again = await approver.get(url)
        assert "新しい証明書への切り替え" in again.text and "再発行の理由" not in again.text
        application = await approver.get(f"/console/applications/{await _app_public_id(old)}")
        assert f'href="{url}"' in application.text
        tab = await approver.get("/console/applications?tab=issued")
        assert "/console/certificates/" in tab.text


async def _app_public_id(certificate: dict[str, Any]) -> str:
    from app.application.tables import Application

    row = (
        await Application.select(Application.public_id)
        .where(Application.id == certificate["application"])
        .first()
    )
    assert row is not None
    return str(row["public_id"])
