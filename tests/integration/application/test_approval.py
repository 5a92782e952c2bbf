"""代理人 → 本人 → approve / decline round trip, with the mails."""

from __future__ import annotations

from app.application.tables import Application, ApprovalToken, StatusChange
from tests.helpers import (
    AGENT,
    AGENT_ANSWERS,
    CSRF,
    PRINCIPAL,
    approval_link_in,
    error_of,
    fill_form,
    input_value,
    link_in,
    open_approval,
    submit_application,
    submitted_by_agent,
    text_body,
    title,
    wait_for_mail,
)


async def test_agent_submission_waits_for_the_principal(client, smtp_sink):
    link = await submitted_by_agent(client, smtp_sink)
    row = await Application.select().first()
    assert row["status"] == "awaiting_principal"
    page = await open_approval(client, link)
    for shown in ("Taro Yamada", "CN-7000012050002", "代理行政書士事務所", "id_front.png"):
        assert shown in page
    assert row["reference"] in page
    assert link.rsplit("/", 1)[1] not in page
    submitted = (await wait_for_mail(smtp_sink, AGENT, count=2))[-1]
    assert row["reference"] in text_body(submitted)


async def test_principal_approves_and_the_agent_is_told(client, smtp_sink):
    link = await submitted_by_agent(client, smtp_sink)
    page = await open_approval(client, link)
    csrf = CSRF.search(page).group(1)
    without_agreement = await client.post(
        "/approve", data={"_csrf_token": csrf, "decision": "approve"}
    )
    assert without_agreement.status_code == 422
    assert "利用者の義務に同意" in error_of(without_agreement.text, "agree")
    response = await client.post(
        "/approve",
        data={"_csrf_token": csrf, "decision": "approve", "agree": "yes"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/approve/complete"
    assert "承認しました" in (await client.get("/approve/complete")).text
    assert (await Application.select().first())["status"] == "principal_approved"
    outcome = (await wait_for_mail(smtp_sink, AGENT, count=3))[-1]
    assert "承認しました" in outcome["Subject"]
    # The link is spent: a second decision is not possible.
    again = await client.get(link, follow_redirects=False)
    assert again.headers["location"] == "/approve/link/used"
    moves = await StatusChange.select(StatusChange.to_status, StatusChange.actor).order_by(
        StatusChange.id
    )
    assert [(m["to_status"], m["actor"]) for m in moves] == [
        ("submitted", "applicant"),
        ("awaiting_principal", "system"),
        ("principal_approved", "principal"),
    ]


async def test_decline_needs_a_reason_then_the_agent_corrects_and_resends(client, smtp_sink):
    link = await submitted_by_agent(client, smtp_sink)
    page = await open_approval(client, link)
    csrf = CSRF.search(page).group(1)
    no_reason = await client.post("/approve", data={"_csrf_token": csrf, "decision": "decline"})
    assert no_reason.status_code == 422
    assert "理由" in error_of(no_reason.text, "reason")
    await client.post(
        "/approve",
        data={"_csrf_token": csrf, "decision": "decline", "reason": "ローマ字の綴りが違います"},
    )
    row = await Application.select().first()
    assert row["status"] == "principal_declined"
    assert row["decline_reason"] == "ローマ字の綴りが違います"
    outcome = (await wait_for_mail(smtp_sink, AGENT, count=3))[-1]
    assert "承認しませんでした" in outcome["Subject"]
    assert "ローマ字の綴りが違います" in text_body(outcome)

    # The agent follows the fresh link: the answers are there, editable again.
    client.cookies.clear()
    opened = await client.get(link_in(outcome), follow_redirects=False)
    assert opened.headers["location"] == "/apply"
    form = await client.get("/apply")
    assert input_value(form.text, "given-name-roman") == "Taro"
    assert "本人が申請を承認しませんでした" in form.text
    assert "ローマ字の綴りが違います" in form.text
    assert (await Application.select().first())["status"] == "draft"
    csrf = CSRF.search(form.text).group(1)
    fixed = await fill_form(client, csrf, {**AGENT_ANSWERS, "given_name_roman": "Tarou"})
    assert fixed.status_code == 303
    resent = await submit_application(client, csrf)
    assert resent.headers["location"] == "/apply/complete"
    row = await Application.select().first()
    assert row["status"] == "awaiting_principal"
    assert row["reference"] == (await Application.select().first())["reference"]

    # The old approval link is spent; the new request carries the correction.
    new_request = (await wait_for_mail(smtp_sink, PRINCIPAL, count=2))[-1]
    assert "Tarou Yamada" in text_body(new_request)
    page = await open_approval(client, approval_link_in(new_request))
    csrf = CSRF.search(page).group(1)
    await client.post("/approve", data={"_csrf_token": csrf, "decision": "approve", "agree": "yes"})
    assert (await Application.select().first())["status"] == "principal_approved"
    assert await ApprovalToken.count().where(ApprovalToken.used_at.is_not_null()) == 2


async def test_expired_approval_link_gets_the_expired_page_and_nothing_is_lost(client, smtp_sink):
    from datetime import timedelta

    from app.db import utcnow

    link = await submitted_by_agent(client, smtp_sink)
    await ApprovalToken.update({ApprovalToken.expires_at: utcnow() - timedelta(seconds=1)}).where(
        ApprovalToken.id > 0
    )
    client.cookies.clear()
    response = await client.get(link, follow_redirects=False)
    assert response.headers["location"] == "/approve/link/expired"
    page = await client.get("/approve/link/expired")
    assert "有効期限" in title(page.text) and "申請内容はそのまま保存されています" in page.text
    assert (await Application.select().first())["status"] == "awaiting_principal"


async def test_unknown_approval_links_get_the_generic_page(client):
    for path in ("/approve/t/short", "/approve/t/" + "A" * 43, "/approve"):
        response = await client.get(path, follow_redirects=False)
        assert response.headers["location"] == "/approve/link/invalid", path
    page = await client.get("/approve/link/nonsense")
    assert "URLが正しくありません" in title(page.text)
