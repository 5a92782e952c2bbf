"""What the fuzz suite found, each kept as a plain regression test."""

from __future__ import annotations

import base64
import logging

from app.application.tables import ApplicationDocument
from tests.helpers import error_of, ready_application, title


async def test_an_upload_post_without_a_documents_field_asks_for_a_file(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink)
    before = await ApplicationDocument.count()
    response = await client.post("/apply/documents", data={"_csrf_token": csrf, "kind": "id_front"})
    assert response.status_code == 422
    assert error_of(response.text, "documents") == "アップロードするファイルを選択してください。"
    assert await ApplicationDocument.count() == before


async def test_a_forged_session_cookie_is_no_session_not_a_500(client, caplog):
    # Litestar reads the cookie's clear-text expiry before checking its signature.
    aad = b"additional_authenticated_data="
    for forged in (b"{bad", b"[1]", b'{"x":1}', b'{"expires_at":"z"}'):
        cookie = b"jcan_session=" + base64.b64encode(b"0" * 12 + aad + forged)
        for path in ("/", "/register/confirm", "/apply"):
            caplog.clear()
            response = await client.get(path, headers={"cookie": cookie}, follow_redirects=False)
            assert response.status_code in (200, 303), (path, forged, response.status_code)
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_nul_in_a_path_parameter_is_a_404_not_a_database_error(client, smtp_sink, caplog):
    # PostgreSQL refuses NUL in text: the document id reached the DELETE and answered 500.
    csrf = await ready_application(client, smtp_sink)
    before = await ApplicationDocument.count()
    caplog.clear()
    for path in ("/apply/documents/a%00b/delete", "/apply/fields/a%00b"):
        response = await client.post(path, data={"_csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 404, (path, response.status_code)
        assert "ページが見つかりません" in title(response.text)
    for path in ("/apply/t/%00%ff", "/approve/t/%00", "/apply/link/%00"):
        assert (await client.get(path, follow_redirects=False)).status_code == 404, path
    assert await ApplicationDocument.count() == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_csrf_cookie_with_non_ascii_characters_is_a_403_not_a_500(client, caplog):
    # The middleware compared header and cookie with compare_digest on str, which raises on
    # non-ASCII text: `jcan_csrf=%ff` (unquoted to "ÿ") beside a header token answered 500.
    token = "1112a424fd67857ff35fb48469fd2cec3851c5cb6e331bb3b3849fa05a644bfdbfcc9bfc1659f477"
    for cookie in ("%ff", "%E5%B1%B1", token + "%ff"):
        caplog.clear()
        response = await client.post(
            "/register/step1/fields/email",
            data={"applicant_type": "self", "email": "taro@example.jp"},
            headers={"hx-request": "true", "x-csrftoken": token, "cookie": f"jcan_csrf={cookie}"},
        )
        assert response.status_code == 403, (cookie, response.status_code)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A header token with non-ASCII characters beside a genuine cookie.
    await client.get("/register/step1")
    caplog.clear()
    response = await client.post(
        "/register/step1/fields/email",
        data={"applicant_type": "self", "email": "taro@example.jp"},
        headers={"hx-request": "true", "x-csrftoken": (token + "\u00ff").encode("latin-1")},
    )
    assert response.status_code == 403
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
