"""The emailed URL: valid, expired, superseded, used, unknown and malformed tokens."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.registration.tables import AccessToken
from tests.helpers import link_in, register, title, wait_for_mail


async def _link(client, smtp_sink, address="taro@example.com", count=1):
    await register(client, email=address, email_confirm=address)
    messages = await wait_for_mail(smtp_sink, address, count=count)
    return link_in(messages[-1])


async def test_valid_link_is_exchanged_for_a_token_free_address(client, smtp_sink):
    link = await _link(client, smtp_sink)
    response = await client.get(link, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/apply"
    assert response.headers["referrer-policy"] == "no-referrer"
    page = await client.get("/apply")
    assert page.status_code == 200
    assert title(page.text).startswith("発行申請情報入力")
    assert client.tickets[0] in page.text
    assert "このURLの有効期限" in page.text and "（日本時間）" in page.text
    assert link.rsplit("/", 1)[1] not in page.text
    assert (
        '<li class="flow__step flow__step--current" aria-current="step">発行申請情報入力'
        in page.text
    )


async def test_the_link_can_be_opened_again_while_valid(client, smtp_sink):
    link = await _link(client, smtp_sink)
    await client.get(link)
    response = await client.get(link, follow_redirects=False)
    assert response.headers["location"] == "/apply"


async def test_expired_link_offers_to_register_again_with_the_same_ticket(client, smtp_sink):
    link = await _link(client, smtp_sink)
    await AccessToken.update({AccessToken.expires_at: utcnow() - timedelta(minutes=1)}, force=True)
    response = await client.get(link, follow_redirects=False)
    assert response.headers["location"] == "/apply/link/expired"
    page = await client.get("/apply/link/expired")
    assert "URLの有効期限が切れています" in title(page.text)
    assert "チケットを再度購入する必要はありません" in page.text
    assert 'href="/"' in page.text


async def test_expired_ticket_can_register_again(client, smtp_sink):
    await _link(client, smtp_sink)
    await AccessToken.update({AccessToken.expires_at: utcnow() - timedelta(minutes=1)}, force=True)
    response = await register(client)
    assert response.status_code == 303


async def test_a_newer_registration_supersedes_the_older_link(client, smtp_sink):
    first = await _link(client, smtp_sink)
    second = await _link(client, smtp_sink, count=2)
    assert first != second
    old = await client.get(first, follow_redirects=False)
    assert old.headers["location"] == "/apply/link/superseded"
    page = await client.get("/apply/link/superseded")
    assert "新しい申請登録" in title(page.text)
    new = await client.get(second, follow_redirects=False)
    assert new.headers["location"] == "/apply"
    live = await AccessToken.count().where(
        AccessToken.used_at.is_null() & AccessToken.superseded_at.is_null()
    )
    assert live == 1


async def test_session_of_a_superseded_link_loses_access(client, smtp_sink):
    first = await _link(client, smtp_sink)
    await client.get(first)
    await _link(client, smtp_sink, count=2)
    response = await client.get("/apply", follow_redirects=False)
    assert response.headers["location"] == "/apply/link/superseded"


async def test_used_link_says_so(client, smtp_sink):
    link = await _link(client, smtp_sink)
    await AccessToken.update({AccessToken.used_at: utcnow()}, force=True)
    response = await client.get(link, follow_redirects=False)
    assert response.headers["location"] == "/apply/link/used"
    assert "使用済み" in (await client.get("/apply/link/used")).text


async def test_unknown_and_malformed_links_get_one_generic_page(client):
    for path in (
        "/apply/t/" + "A" * 43,
        "/apply/t/short",
        "/apply/t/%ff%fe",  # (a control character such as %00 makes any path a 404)
        "/apply/t/" + "x" * 500,
        "/apply/t/' OR 1=1 --",
    ):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/apply/link/invalid", path
    page = await client.get("/apply/link/invalid")
    assert page.status_code == 200
    assert "URLが正しくありません" in title(page.text)
    other = await client.get("/apply/link/whatever")
    assert "URLが正しくありません" in title(other.text)


async def test_apply_without_a_link_is_the_generic_page(client):
    response = await client.get("/apply", follow_redirects=False)
    assert response.headers["location"] == "/apply/link/invalid"
