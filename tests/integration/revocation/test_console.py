"""The LRA's side: the 失効申請 queue in deadline order, marked 期限間近 / 期限超過;
an approver's 「失効する」 and 「却下」; 「管理者による失効」 of a paper request."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from app.console.audit.tables import AuditEvent
from app.console.permissions import Role
from app.db import utcnow
from app.issuance.tables import Certificate
from app.revocation.tables import Revocation, RevocationRequest
from tests.helpers import CSRF, error_of, text_body, wait_for_mail
from tests.integration.console.console_helpers import account, sign_in
from tests.integration.issuance.issuance_helpers import HOLDER
from tests.integration.revocation.conftest import issued_certificate
from tests.integration.revocation.holder_steps import lookup, mailed_link, request_revocation


async def _add(
    certificate: dict[str, Any], number: str, reason: str, confirmed: bool, age_hours: float
) -> None:
    received = utcnow() - timedelta(hours=age_hours)
    await RevocationRequest.insert(
        RevocationRequest(
            number=number,
            certificate=certificate["id"],
            reason=reason,
            confirmed=confirmed,
            source="subscriber" if confirmed else "paper",
            received_at=received,
            due_at=received + timedelta(hours=24),
        )
    )


async def _post(client: Any, page: str, action: str, **values: str) -> Any:
    csrf = CSRF.search((await client.get(page)).text).group(1)
    return await client.post(action, data={"_csrf_token": csrf, **values}, follow_redirects=False)


async def test_the_queue_puts_key_compromise_and_confirmed_first_and_marks_deadlines(
    client: Any, smtp_sink: Any, services: Any, settings: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    await _add(certificate, "R-AAAA-0001", "superseded", False, 23.5)  # near its deadline
    await _add(certificate, "R-AAAA-0002", "superseded", True, 1)
    await _add(certificate, "R-AAAA-0003", "keyCompromise", True, 0.5)
    await _add(certificate, "R-AAAA-0004", "none", True, 25)  # overdue
    await sign_in(client, await account(client, settings, Role.APPROVER))
    page = await client.get("/console/revocations")
    assert page.status_code == 200
    order = re.findall(r'href="/console/revocations/(R-AAAA-\d+)"', page.text)
    assert order == ["R-AAAA-0003", "R-AAAA-0004", "R-AAAA-0002", "R-AAAA-0001"]
    rows = page.text.split("<tr>")
    assert "期限超過" in next(r for r in rows if "R-AAAA-0004" in r)
    assert "期限間近" in next(r for r in rows if "R-AAAA-0001" in r)
    assert "期限" not in next(r for r in rows if "R-AAAA-0002" in r).split("</td>")[1]


async def test_an_approver_revokes_a_holders_request_and_the_holder_is_mailed(
    client: Any, smtp_sink: Any, services: Any, settings: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    before = len(smtp_sink.to(HOLDER))
    await lookup(client, certificate["serial"], HOLDER)
    link = await mailed_link(smtp_sink, HOLDER, before + 1)
    assert (await request_revocation(client, link, reason="affiliationChanged")).status_code == 303
    [row] = await RevocationRequest.select().where(
        RevocationRequest.certificate == certificate["id"]
    )
    client.cookies.clear()
    approver = await account(client, settings, Role.APPROVER)
    await sign_in(client, approver)
    page = f"/console/revocations/{row['number']}"
    shown = await client.get(page)
    assert certificate["serial"] in shown.text and "所属・記載事項の変更" in shown.text
    done = await _post(client, page, page + "/revoke", reason="affiliationChanged")
    assert done.status_code == 303 and "notice=revoked" in done.headers["location"]
    revoked = await Certificate.select().where(Certificate.id == certificate["id"]).first()
    assert revoked is not None and revoked["status"] == "revoked"
    [record] = await Revocation.select().where(Revocation.certificate == certificate["id"])
    assert record["reason"] == "affiliationChanged" and record["request"] == row["id"]
    closed = await RevocationRequest.select().where(RevocationRequest.id == row["id"]).first()
    assert closed is not None and closed["status"] == "revoked"
    assert closed["decided_by"] == approver.id
    messages = await wait_for_mail(smtp_sink, HOLDER, count=before + 3)  # link, received, revoked
    assert any("証明書を失効しました" in text_body(m) for m in messages)
    [audit] = await AuditEvent.select().where(AuditEvent.action == "certificate.revoke")
    assert audit["actor"] == f"operator:{approver.id}"
    again = await _post(client, page, page + "/revoke", reason="affiliationChanged")
    assert again.status_code == 303  # decided already: nothing more happens
    assert await AuditEvent.count().where(AuditEvent.action == "certificate.revoke") == 1


async def test_a_rejection_needs_a_reason_and_tells_the_holder(
    client: Any, smtp_sink: Any, services: Any, settings: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    await _add(certificate, "R-BBBB-0001", "superseded", True, 1)
    await sign_in(client, await account(client, settings, Role.APPROVER))
    page = "/console/revocations/R-BBBB-0001"
    empty = await _post(client, page, page + "/reject", note="")
    assert empty.status_code == 422 and "却下の理由" in error_of(empty.text, "note")
    done = await _post(client, page, page + "/reject", note="本人からの取り下げ")
    assert done.status_code == 303
    row = await RevocationRequest.select().where(RevocationRequest.number == "R-BBBB-0001").first()
    assert (
        row is not None
        and row["status"] == "rejected"
        and row["decision_note"] == "本人からの取り下げ"
    )
    messages = await wait_for_mail(smtp_sink, HOLDER, count=4)
    assert any("本人からの取り下げ" in text_body(m) for m in messages)
    still = await Certificate.select().where(Certificate.id == certificate["id"]).first()
    assert still is not None and still["status"] == "issued"


async def test_an_admin_records_a_paper_request_and_revokes(
    client: Any, smtp_sink: Any, services: Any, settings: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    await sign_in(client, await account(client, settings, Role.ADMIN))
    page = "/console/revocations-paper"
    missing = await _post(client, page, page, identifier=certificate["serial"], email=HOLDER)
    assert missing.status_code == 422
    assert "申請者" in error_of(missing.text, "requester")
    assert "失効理由" in error_of(missing.text, "reason")
    done = await _post(
        client,
        page,
        page,
        identifier=certificate["serial"],
        email=HOLDER,
        requester="山田 太郎（総務部、03-1234-5678）",
        verification="会社印のある失効申請書と運転免許証の写し",
        reason="cessationOfOperation",
    )
    assert done.status_code == 303, error_of(done.text, "identifier")
    [row] = await RevocationRequest.select().where(
        RevocationRequest.certificate == certificate["id"]
    )
    assert (
        row["source"] == "paper"
        and row["status"] == "revoked"
        and "運転免許証" in row["verification"]
    )
    revoked = await Certificate.select().where(Certificate.id == certificate["id"]).first()
    assert revoked is not None and revoked["status"] == "revoked"
    assert "R-" in done.headers["location"]
