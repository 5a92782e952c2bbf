"""Top page, policies, error pages, security headers, CSRF and the rate limit."""

from __future__ import annotations

from tests.helpers import CSRF, client_for, title, wait_for_status


async def test_top_page_has_title_obligations_contact_and_agree(client):
    response = await client.get("/")
    html = response.text
    assert response.status_code == 200
    assert "<h1>電子契約サービス JCAN証明書オンライン発行申請</h1>" in html
    assert "JCAN証明書認定LRAであるインタセクト・コミュニケーションズ株式会社が行います。" in html
    assert html.count("<li>") >= 4
    for text in (
        "一般財団法人日本情報経済社会推進協会（JIPDEC）",
        "暗証番号",
        "紛失、盗難、破損",
        "入力事項に変更",
    ):
        assert text in html
    assert (
        "JCAN証明書LRA業務担当" in html and "jcanlra@example.jp" in html and "03-0000-0000" in html
    )
    assert '<a class="button" href="/register/step1">同意する</a>' in html
    assert 'class="site-name" href="/">JCAN証明書オンライン発行システム</a>' in html
    assert "Copyright ©" in html
    from importlib.metadata import version

    assert f"バージョン {version('jcan')}" in html


async def test_policy_pages(client):
    obligations = await client.get("/policies/obligations")
    assert obligations.status_code == 200 and "利用者の義務" in title(obligations.text)
    privacy = await client.get("/policies/privacy")
    assert privacy.status_code == 200
    assert "個人情報の取扱いについて" in title(privacy.text)
    assert "個人情報についてのお問い合わせ先" in privacy.text
    assert "privacy@example.jp" in privacy.text


async def test_unknown_page_is_a_japanese_404(client):
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text
    assert "hx-push-url" not in response.headers


async def test_an_error_page_for_htmx_keeps_the_address_it_came_from(client):
    """A boosted click that meets an error page shows it (static/js/app.js); the page tells
    htmx not to put the failed request's URL into the history."""
    response = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text
    assert response.headers["hx-push-url"] == "false"
    assert "Traceback" not in response.text


async def test_wrong_method_is_a_japanese_page(client):
    response = await client.put("/register/step1")
    assert response.status_code in (403, 405)
    assert "<html" in response.text


async def test_every_response_carries_the_security_headers(client):
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


async def test_htmx_is_configured_without_eval(client):
    html = (await client.get("/")).text
    assert '"allowEval": false' in html
    assert '{"code": "422", "swap": true}' in html
    assert 'hx-headers=\'{"x-csrftoken": "' in html
    assert "<script>" not in html  # no inline script (CSP)


async def test_vendored_htmx_is_2_0(client):
    response = await client.get("/static/htmx.min.js")
    assert response.status_code == 200
    assert 'version:"2.0.' in response.text


async def test_post_without_csrf_token_is_refused_with_a_japanese_page(client):
    response = await client.post("/register/step1", data={"applicant_type": "self"})
    assert response.status_code == 403
    assert "画面の有効期限が切れました" in response.text


async def test_htmx_post_with_the_csrf_header_is_accepted(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post(
        "/register/step1/fields/email",
        data={"email": "x"},
        headers={"HX-Request": "true", "x-csrftoken": csrf},
    )
    assert response.status_code == 422


async def test_cookies_are_httponly_and_samesite(client):
    response = await client.get("/register/step1")
    cookies = response.headers.get_list("set-cookie")
    csrf_cookie = next(c for c in cookies if c.startswith("jcan_csrf="))
    assert "HttpOnly" in csrf_cookie and "SameSite=lax" in csrf_cookie


async def test_cookies_are_secure_in_production(variant):
    settings = variant(
        app={"env": "production", "secret_key": "x" * 40, "base_url": "https://lra.example.jp"},
        ca={"key_passphrase": "a long CA key passphrase"},
    )
    settings.validate()
    async with client_for(settings, "https://lra.example.jp") as c:
        response = await c.get("/register/step1")
        cookies = response.headers.get_list("set-cookie")
        assert cookies and all("Secure" in cookie for cookie in cookies)


async def test_registration_posts_and_captcha_are_rate_limited(variant, smtp_sink):
    settings = variant(security={"rate_limit_per_minute": 3, "trusted_proxy": True})
    async with client_for(settings) as c:
        headers = {"X-Forwarded-For": "203.0.113.9"}
        statuses = [
            (
                await c.get("/captcha/nonexistent-challenge-id/image.png", headers=headers)
            ).status_code
            for _ in range(4)
        ]
        assert statuses[:3] == [404, 404, 404]
        assert statuses[3] == 429
        page = await c.get("/captcha/nonexistent-challenge-id/image.png", headers=headers)
        assert "アクセスが集中しています" in page.text
        # Ordinary pages are not limited.
        assert (await c.get("/", headers=headers)).status_code == 200


async def test_registration_post_is_rate_limited_too(variant):
    settings = variant(security={"rate_limit_per_minute": 2, "trusted_proxy": True})
    async with client_for(settings) as c:
        headers = {"X-Forwarded-For": "198.51.100.7"}
        csrf = CSRF.search((await c.get("/register/step1", headers=headers)).text).group(1)
        statuses = [
            (
                await c.post("/register/step1", data={"_csrf_token": csrf}, headers=headers)
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [422, 422, 429]


async def test_no_personal_data_or_tokens_in_our_logs(client, smtp_sink, caplog):
    import logging

    from tests.helpers import link_in, register, wait_for_mail

    caplog.set_level(logging.DEBUG)
    await register(
        client, email="secret.person@example.com", email_confirm="secret.person@example.com"
    )
    [message] = await wait_for_mail(smtp_sink, "secret.person@example.com")
    from app.mail.tables import SENT

    await wait_for_status(SENT)  # the worker logs "mail N sent" after recording it
    token = link_in(message).rsplit("/", 1)[1]
    await client.get(link_in(message))
    ours = [r for r in caplog.records if not r.name.startswith(("mail.log", "httpx"))]
    text = "\n".join(r.getMessage() for r in ours)
    assert any(r.name.startswith("jcan") for r in ours)
    assert "secret.person" not in text
    assert token not in text
    assert client.tickets[0] not in text
