"""What an outside probe tried: no API schema, HSTS in production, bounded bodies, the inline
ticket check under the rate limit."""

from __future__ import annotations

import pytest

from app.registration.tables import Registration
from tests.helpers import CSRF, client_for

SCHEMA_PATHS = (
    "/schema",
    "/schema/",
    "/schema/openapi.json",
    "/schema/openapi.yaml",
    "/schema/openapi.yml",
    "/schema/swagger",
    "/schema/redoc",
    "/schema/elements",
    "/schema/rapidoc",
    "/schema/stoplight",
)


@pytest.mark.parametrize("path", SCHEMA_PATHS)
async def test_there_is_no_api_schema_or_doc_ui(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


def _production(variant, **security):
    settings = variant(
        app={"env": "production", "secret_key": "x" * 40, "base_url": "https://lra.example.jp"},
        documents={"key": "dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE"},
        ca={"key_passphrase": "a long CA key passphrase"},
        **({"security": security} if security else {}),
    )
    settings.validate()
    return settings


async def test_production_sends_strict_transport_security(variant):
    async with client_for(_production(variant), "https://lra.example.jp") as c:
        for path in ("/", "/register/step1", "/no-such-page", "/static/css/site.css"):
            response = await c.get(path)
            assert response.headers["strict-transport-security"] == (
                "max-age=63072000; includeSubDomains"
            ), path


async def test_hsts_max_age_follows_its_setting(variant):
    settings = _production(variant, hsts_max_age=31536000)
    async with client_for(settings, "https://lra.example.jp") as c:
        response = await c.get("/")
        assert response.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )


async def test_hsts_max_age_is_read_from_the_environment():
    from app.settings import Settings

    assert Settings.from_env({"HSTS_MAX_AGE": "600"}).security.hsts_max_age == 600
    assert Settings.from_env({}).security.hsts_max_age == 63072000


async def test_no_strict_transport_security_outside_production(client):
    # dev and test serve plain http on 127.0.0.1: HSTS there would pin the developer's host.
    response = await client.get("/")
    assert "strict-transport-security" not in response.headers


async def test_the_inline_ticket_check_is_rate_limited(variant):
    settings = variant(security={"rate_limit_per_minute": 3, "trusted_proxy": True})
    async with client_for(settings) as c:
        headers = {"X-Forwarded-For": "192.0.2.44"}
        csrf = CSRF.search((await c.get("/register/step1", headers=headers)).text).group(1)
        data = {
            "_csrf_token": csrf,
            "applicant_type": "self",
            "company_code": "ISC",
            "ticket_number": "ABCD-EFGH-JKMN-2345",
        }
        statuses = [
            (
                await c.post(
                    "/register/step1/fields/ticket_number",
                    data=data,
                    headers={**headers, "HX-Request": "true"},
                )
            ).status_code
            for _ in range(4)
        ]
        assert statuses[3] == 429, statuses
        assert 429 not in statuses[:3]
        page = await c.post("/register/step1/fields/ticket_number", data=data, headers=headers)
        assert page.status_code == 429
        assert "アクセスが集中しています" in page.text


async def test_the_inline_checks_share_the_registration_limit(variant):
    # One counter per client: the ticket check and the registration POST draw from it.
    settings = variant(security={"rate_limit_per_minute": 2, "trusted_proxy": True})
    async with client_for(settings) as c:
        headers = {"X-Forwarded-For": "192.0.2.45"}
        csrf = CSRF.search((await c.get("/register/step1", headers=headers)).text).group(1)
        data = {"_csrf_token": csrf, "ticket_number": "ABCD-EFGH-JKMN-2345"}
        for _ in range(2):
            await c.post("/register/step1/fields/ticket_number", data=data, headers=headers)
        response = await c.post("/register/step1", data={"_csrf_token": csrf}, headers=headers)
        assert response.status_code == 429


async def test_a_registration_form_body_over_the_limit_is_refused_with_the_413_page(client):
    csrf = CSRF.search((await client.get("/register/step1")).text).group(1)
    response = await client.post(
        "/register/step1",
        data={"_csrf_token": csrf, "applicant_type": "self", "email": "a" * 200_000},
    )
    assert response.status_code == 413
    assert "送信されたデータが大きすぎます" in response.text
    assert "ファイル" not in response.text  # not the documents' wording: no file was sent
    inline = await client.post(
        "/register/step1/fields/email",
        data={"_csrf_token": csrf, "email": "a" * 200_000},
        headers={"HX-Request": "true"},
    )
    assert inline.status_code == 413
    assert await Registration.count() == 0
