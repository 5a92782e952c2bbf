"""「再発行」: an unclaimed (or lost) certificate gets a new key and certificate for the same
application, the old one revoked as superseded at the CA; one re-issue when two approvers click
at once; each re-issue idempotent at the CA; the certificate page shows it all, audited."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from app.console.audit.tables import AuditEvent
from app.db import utcnow
from app.issuance import reissue as reissuing
from app.issuance.ca import select
from app.issuance.ca.base import CertStatus
from app.issuance.console import colon_serial
from app.issuance.tables import ISSUED, REQUESTED, REVOKED, Certificate, WrappedKey
from app.issuance.webhooks.tables import WebhookEvent
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


async def reissue(services: Any, public_id: str, reason: str = reissuing.UNCLAIMED) -> Any:
    return await reissuing.reissue(
        public_id,
        reason,
        "期限切れのため",
        actor="operator:1",
        settings=services.settings,
        outbox=services.outbox,
    )


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
        assert "再発行による置き換え" in again.text and "再発行の理由" not in again.text
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
