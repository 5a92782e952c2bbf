"""The holder's request: the same answer whether or not the certificate exists, the link
mailed only to the certificate's address, the reason form, the request number and deadline;
with REVOCATION_IMMEDIATE the request revokes at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from app.application.tables import Application
from app.db import utcnow
from app.issuance.tables import Certificate
from app.revocation.rules import JST
from app.revocation.tables import RevocationRequest
from tests.helpers import client_for, error_of, text_body, wait_for_mail
from tests.integration.issuance.issuance_helpers import HOLDER
from tests.integration.revocation.conftest import issued_certificate
from tests.integration.revocation.holder_steps import lookup, mailed_link, request_revocation

IGNORED = {"date", "set-cookie"}


def _same(response: Any) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in IGNORED}
    return response.status_code, headers, response.content


async def test_every_page_links_to_the_request_and_it_explains_when_to_revoke(client: Any) -> None:
    top = await client.get("/")
    assert 'href="/revoke"' in top.text and "失効申請" in top.text
    page = await client.get("/revoke")
    assert "紛失" in page.text and "PIN" in page.text and 'name="captcha_id"' in page.text


async def test_the_answer_is_byte_identical_whether_or_not_the_certificate_exists(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    before = len(smtp_sink.to(HOLDER))
    answers = [
        await lookup(client, certificate["serial"], HOLDER),
        await lookup(client, "0badc0ffee", HOLDER),
        await lookup(client, certificate["serial"], "someone.else@example.com"),
        await lookup(client, "JC-0000-0000", HOLDER),
    ]
    assert answers[0].status_code == 303 and answers[0].headers["location"] == "/revoke/sent"
    assert len({repr(_same(a)) for a in answers}) == 1
    await wait_for_mail(smtp_sink, HOLDER, count=before + 1)
    await asyncio.sleep(0.5)
    assert len(smtp_sink.to(HOLDER)) == before + 1  # only the matching lookup mailed
    assert smtp_sink.to("someone.else@example.com") == []
    sent = await client.get("/revoke/sent")
    assert "一致する証明書がある場合は" in sent.text


async def test_bad_input_is_answered_next_to_the_fields_and_kept(client: Any) -> None:
    response = await lookup(client, "not a serial!", "nope", answer="000000")
    assert response.status_code == 422
    assert "シリアル番号" in error_of(response.text, "identifier")
    assert "メールアドレス" in error_of(response.text, "email")
    assert "画像の文字" in error_of(response.text, "captcha-answer")
    assert 'value="not a serial!"' in response.text


async def test_the_link_takes_a_reason_and_confirms_with_number_and_deadline(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    before = len(smtp_sink.to(HOLDER))
    # By the application's reference and the address in another case.
    reference = await lookup_reference(certificate)
    assert (await lookup(client, reference, HOLDER.upper())).status_code == 303
    link = await mailed_link(smtp_sink, HOLDER, before + 1)
    refused = await request_revocation(client, link, reason="unspecified")
    assert refused.status_code == 422 and "失効理由" in error_of(refused.text, "reason")
    future = await request_revocation(
        client, link, reason="keyCompromise", invalidity_date="2099-01-01T00:00"
    )
    assert future.status_code == 422 and "未来" in error_of(future.text, "invalidity-date")
    compromised = (utcnow() - timedelta(hours=2)).replace(second=0, microsecond=0)
    typed = compromised.astimezone(JST).strftime("%Y-%m-%dT%H:%M")
    done = await request_revocation(client, link, reason="keyCompromise", invalidity_date=typed)
    assert done.status_code == 303 and done.headers["location"] == "/revoke/done"
    [row] = await RevocationRequest.select().where(
        RevocationRequest.certificate == certificate["id"]
    )
    assert row["status"] == "pending" and row["reason"] == "keyCompromise" and row["confirmed"]
    assert row["due_at"] - row["received_at"] == timedelta(hours=24)
    assert row["invalidity_date"] == compromised  # typed in Japan time, stored in UTC
    page = await client.get("/revoke/done")
    assert row["number"] in page.text and "失効の期限" in page.text
    messages = await wait_for_mail(smtp_sink, HOLDER, count=before + 2)
    assert any(row["number"] in text_body(m) and "失効の期限" in text_body(m) for m in messages)
    used = await client.get(link, follow_redirects=False)
    assert used.headers["location"] == "/revoke/link/used"
    still = await Certificate.select().where(Certificate.id == certificate["id"]).first()
    assert still is not None and still["status"] == "issued"  # an approver decides


async def lookup_reference(certificate: dict[str, Any]) -> str:
    row = await Application.select().where(Application.id == certificate["application"]).first()
    assert row is not None
    return str(row["reference"]).lower()


async def test_with_immediate_revocation_the_confirmed_request_revokes_at_once(
    client: Any, smtp_sink: Any, services: Any, variant: Any
) -> None:
    certificate = await issued_certificate(client, smtp_sink, services)
    immediate = variant(revocation={"immediate": True})
    async with client_for(immediate) as other:
        before = len(smtp_sink.to(HOLDER))
        assert (await lookup(other, certificate["serial"], HOLDER)).status_code == 303
        link = await mailed_link(smtp_sink, HOLDER, before + 1)
        done = await request_revocation(other, link, reason="superseded")
        assert done.status_code == 303
        for _ in range(200):
            row = await Certificate.select().where(Certificate.id == certificate["id"]).first()
            if row and row["status"] == "revoked":
                break
            await asyncio.sleep(0.1)
        assert row is not None and row["status"] == "revoked"
        [request] = await RevocationRequest.select().where(
            RevocationRequest.certificate == certificate["id"]
        )
        assert request["status"] == "revoked" and request["decided_by"] is None
