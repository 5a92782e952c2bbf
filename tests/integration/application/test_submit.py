"""申請: one transaction, a reference number, the mail; once, whoever races."""

from __future__ import annotations

import asyncio

from app.application.tables import Application, StatusChange
from app.mail.tables import OutboxMessage
from app.registration.tables import AccessToken, Ticket
from tests.helpers import (
    ready_application,
    submit_application,
    text_body,
    title,
    wait_for_mail,
)


async def test_self_application_is_submitted_with_a_reference_and_a_mail(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    confirm = await client.get("/apply/confirm")
    assert confirm.status_code == 200
    assert "CN" in confirm.text and "Taro Yamada" in confirm.text
    assert "CN-7000012050002" in confirm.text
    response = await submit_application(client, csrf)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == "/apply/complete"
    done = await client.get("/apply/complete")
    assert title(done.text).startswith("発行申請の完了")
    row = await Application.select().first()
    assert row["status"] == "submitted"
    assert row["reference"] and row["reference"] in done.text
    ticket = await Ticket.select().where(Ticket.id == row["ticket"]).first()
    assert ticket["used_at"] is not None
    mails = await wait_for_mail(smtp_sink, "taro@example.com", count=2)
    assert row["reference"] in text_body(mails[-1])
    moves = await StatusChange.select(StatusChange.from_status, StatusChange.to_status)
    assert [(m["from_status"], m["to_status"]) for m in moves] == [("draft", "submitted")]


async def test_twenty_concurrent_submits_give_one_application_and_one_mail(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    responses = await asyncio.gather(*(submit_application(client, csrf) for _ in range(20)))
    assert all(r.status_code == 303 for r in responses), [r.status_code for r in responses]
    assert {r.headers["location"] for r in responses} <= {"/apply/complete", "/apply/link/used"}
    submitted = await Application.count().where(Application.status == "submitted")
    assert submitted == 1
    mails = await OutboxMessage.count().where(OutboxMessage.template == "application_submitted")
    assert mails == 1
    used = await AccessToken.count().where(AccessToken.used_at.is_not_null())
    assert used == 1
    await wait_for_mail(smtp_sink, "taro@example.com", count=2)
    await asyncio.sleep(0.3)
    assert len(smtp_sink.to("taro@example.com")) == 2  # the link, and one confirmation


async def test_the_used_link_then_gets_the_used_page(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    await submit_application(client, csrf)
    again = await client.get("/apply", follow_redirects=False)
    assert again.headers["location"] == "/apply/complete"  # this browser: its outcome
    done = await client.get("/apply/complete")
    reference = (await Application.select(Application.reference).first())["reference"]
    assert reference in done.text


async def test_back_after_submit_leads_to_complete_without_a_second_mail(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    assert (await submit_application(client, csrf)).headers["location"] == "/apply/complete"
    for path in ("/apply", "/apply/confirm", "/apply/documents"):
        back = await client.get(path, follow_redirects=False)
        assert (back.status_code, back.headers["location"]) == (303, "/apply/complete"), path
    again = await submit_application(client, csrf)  # 申請する pressed again from history
    assert (again.status_code, again.headers["location"]) == (303, "/apply/complete")
    done = await client.get("/apply/complete")
    assert title(done.text).startswith("発行申請の完了")
    assert "URLが正しくありません" not in done.text
    mails = await OutboxMessage.count().where(OutboxMessage.template == "application_submitted")
    assert mails == 1
    await wait_for_mail(smtp_sink, "taro@example.com", count=2)
    await asyncio.sleep(0.3)
    assert len(smtp_sink.to("taro@example.com")) == 2  # the link, and one confirmation


async def test_another_browser_without_a_submission_still_gets_the_invalid_page(client):
    response = await client.get("/apply/confirm", follow_redirects=False)
    assert response.headers["location"] == "/apply/link/invalid"


async def test_submit_without_agreement_keeps_everything_and_says_why(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    response = await client.post("/apply/confirm", data={"_csrf_token": csrf})
    assert response.status_code == 422
    assert title(response.text).startswith("エラー:")
    assert "同意してください" in response.text
    assert (await Application.select(Application.status).first())["status"] == "draft"
    assert await AccessToken.count().where(AccessToken.used_at.is_not_null()) == 0


async def test_submit_of_an_incomplete_application_lists_what_is_missing(client, smtp_sink):
    from tests.helpers import open_application

    csrf = await open_application(client, smtp_sink)
    response = await client.post("/apply/confirm", data={"_csrf_token": csrf, "agree": "yes"})
    assert response.status_code == 422
    assert "氏名（姓）を入力してください。" in response.text
    assert "本人確認書類（表面）" in response.text
    assert 'href="/apply?return_to=confirm#family-name"' in response.text
    assert (await Application.select(Application.status).first())["status"] == "draft"


async def test_a_ticket_used_meanwhile_is_not_used_twice(client, smtp_sink):
    from app.db import utcnow

    csrf = await ready_application(client, smtp_sink)
    await Ticket.update({Ticket.used_at: utcnow()}).where(Ticket.id > 0)
    response = await submit_application(client, csrf)
    assert response.status_code == 303
    assert response.headers["location"] == "/apply/link/used"
    row = await Application.select().first()
    assert row["status"] == "draft" and row["reference"] is None
    assert await AccessToken.count().where(AccessToken.used_at.is_not_null()) == 0
