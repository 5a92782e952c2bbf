"""確認, 申請登録 and 完了: the one transaction, the guidance mail, the complete page."""

from __future__ import annotations

import re

from app.links.tokens import hash_token
from app.mail.tables import SENT
from app.registration.tables import AccessToken, Registration
from tests.helpers import (
    CSRF,
    error_of,
    html_body,
    input_value,
    link_in,
    post_step1,
    register,
    text_body,
    title,
    wait_for_mail,
)


async def test_confirm_without_step1_goes_back_to_step1(client):
    response = await client.get("/register/confirm", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/register/step1"


async def test_confirm_shows_the_answers_and_the_policy_links(client):
    await post_step1(client, applicant_type="agent")
    html = (await client.get("/register/confirm")).text
    assert "以下の内容で、申請を登録してもよろしいですか？" in html
    assert "申請者情報を登録するとJCAN証明書発行申請手続き案内メールが届きます。" in html
    for text in (
        "代理人",
        "ISC（インタセクト・コミュニケーションズ株式会社）",
        client.tickets[0],
        "taro@example.com",
    ):
        assert text in html
    new_window = '<span class="new-window">（新しいウィンドウで開きます）'
    for href, name in (("obligations", "利用者の義務"), ("privacy", "個人情報の取扱いについて")):
        link = f'<a href="/policies/{href}" target="_blank" rel="noopener">{name}{new_window}'
        assert link in html
    checkbox_label = re.sub(
        r"<[^>]+>",
        "",
        re.search(r'<label class="checkbox__label" for="agree">(.*?)</label>', html, re.S).group(1),
    )
    assert (
        re.sub(r"（新しいウィンドウで開きます）|\s", "", checkbox_label)
        == "本システムの利用者の義務と個人情報の取扱いについてに同意します。"
    )


async def test_back_returns_to_step1_with_every_value_kept(client):
    await post_step1(
        client,
        applicant_type="agent",
        email="hanako@example.com",
        email_confirm="hanako@example.com",
    )
    confirm = (await client.get("/register/confirm")).text
    assert 'href="/register/step1">前へ</a>' in confirm
    html = (await client.get("/register/step1")).text
    assert 'value="agent" checked' in html
    assert 'option value="ISC" selected' in html
    assert input_value(html, "ticket-number") == client.tickets[0]
    assert input_value(html, "email") == "hanako@example.com"
    assert input_value(html, "email-confirm") == "hanako@example.com"
    assert input_value(html, "captcha-answer") == ""


async def test_register_without_the_checkbox_shows_a_red_error(client):
    await post_step1(client)
    csrf = CSRF.search((await client.get("/register/confirm")).text).group(1)
    response = await client.post("/register/confirm", data={"_csrf_token": csrf})
    assert response.status_code == 422
    assert title(response.text).startswith("エラー: ")
    assert (
        error_of(response.text, "agree")
        == "申請登録するには、利用者の義務と個人情報の取扱いについてに同意してください。"
    )
    assert 'aria-describedby="agree-error" aria-invalid="true"' in response.text
    assert await Registration.count() == 0


async def test_register_commits_registration_token_hash_and_outbox_in_one_go(client, smtp_sink):
    response = await register(client, applicant_type="agent")
    assert response.status_code == 303
    assert response.headers["location"] == "/register/complete"
    registration = await Registration.select().first()
    assert registration["applicant_type"] == "agent"
    assert registration["email"] == "taro@example.com"
    assert len(registration["public_id"]) == 26
    token = await AccessToken.select().first()
    hours = (token["expires_at"] - token["created_at"]).total_seconds() / 3600
    assert hours == 72
    messages = await wait_for_mail(smtp_sink, "taro@example.com")
    link = link_in(messages[0])
    raw = link.rsplit("/", 1)[1]
    assert token["token_hash"] == hash_token(raw)
    assert raw not in str(await AccessToken.select()) + str(await Registration.select())


async def test_complete_page_says_where_the_mail_went_and_what_to_do(client):
    await register(client, email="hanako@example.com", email_confirm="hanako@example.com")
    html = (await client.get("/register/complete")).text
    for text in (
        "JCAN証明書オンライン発行システムでの申請者確認情報を登録いただきありがとうございます。",
        "この段階では、まだ申請は完了していません。",
        "登録いただいたメールアドレスにJCAN証明書発行申請のためのURLが送付されます。",
        "受信確認をお願いします。",
        "hanako@example.com",
        "メールが届かない場合",
        "迷惑メールフォルダ",
    ):
        assert text in html
    assert '<li class="flow__step flow__step--current" aria-current="step">完了' in html


async def test_complete_without_registering_goes_to_the_top(client):
    response = await client.get("/register/complete", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_double_submit_of_confirm_registers_once(client):
    await register(client)
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    again = await client.post(
        "/register/confirm", data={"_csrf_token": csrf, "agree": "yes"}, follow_redirects=False
    )
    assert again.status_code == 303
    assert again.headers["location"] == "/register/complete"
    assert await Registration.count() == 1


async def test_back_after_complete_leads_to_complete(client):
    await register(client)
    back = await client.get("/register/confirm", follow_redirects=False)
    assert (back.status_code, back.headers["location"]) == (303, "/register/complete")


async def test_guidance_mail_has_link_expiry_in_japan_time_reuse_note_and_contact(
    client, smtp_sink
):
    await register(client)
    [message] = await wait_for_mail(smtp_sink, "taro@example.com")
    assert message["Subject"] == "【JCAN証明書】発行申請手続きのご案内"
    assert message["Message-ID"]
    token = await AccessToken.select().first()
    from app.templating import format_japan_time

    text = text_body(message)
    html = html_body(message)
    expiry = format_japan_time(token["expires_at"])
    assert "（日本時間）" in expiry
    for body in (text, html):
        assert expiry in body
        assert (
            "同じチケット番号を再びご利用いただけますので、チケットを再度購入する必要はありません。"
            in body
        )
        assert "jcanlra@example.jp" in body
        assert "/apply/t/" in body
    from tests.helpers import wait_for_status

    outbox = await wait_for_status(SENT)
    assert outbox["attempts"] == 1


async def test_a_ticket_from_a_used_up_race_is_refused_at_register_time(client):
    from app.db import utcnow
    from app.registration.tables import Ticket

    await post_step1(client)
    await Ticket.update({Ticket.used_at: utcnow()}).where(Ticket.number == client.tickets[0])
    csrf = CSRF.search((await client.get("/register/confirm")).text).group(1)
    response = await client.post("/register/confirm", data={"_csrf_token": csrf, "agree": "yes"})
    assert response.status_code == 422
    assert (
        error_of(response.text, "ticket-number")
        == "このチケット番号は既に発行申請に使用されています。"
    )
    assert await Registration.count() == 0


async def test_the_session_cookie_is_written_only_when_the_session_changes(client):
    def session_cookies(response):
        return [c for c in response.headers.get_list("set-cookie") if c.startswith("jcan_session")]

    posted = await post_step1(client)
    assert posted.status_code == 303 and session_cookies(posted)  # the draft was written
    for _ in range(2):
        confirm = await client.get("/register/confirm")
        assert confirm.status_code == 200 and client.tickets[0] in confirm.text
        assert session_cookies(confirm) == []  # read, not changed: the browser's cookie stands
    csrf = CSRF.search(confirm.text).group(1)
    done = await client.post(
        "/register/confirm", data={"_csrf_token": csrf, "agree": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303 and session_cookies(done)  # draft gone, "done" added
    complete = await client.get("/register/complete")
    assert complete.status_code == 200 and session_cookies(complete) == []
