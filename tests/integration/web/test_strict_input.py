"""Badly encoded requests: a Japanese 400 (or 404) page, never a 500, a traceback, a stored row."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, urlencode

from app.application.tables import Application
from app.registration.tables import Registration
from tests.helpers import (
    CAPTCHA,
    CSRF,
    GOOD_ANSWERS,
    captcha_answer,
    input_value,
    open_application,
    step1_page,
    title,
)

BAD_REQUEST_TITLE = "リクエストを処理できませんでした"
BOUNDARY = "jcanfuzzboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"


def multipart(fields: dict[str, bytes], part_headers: str = "") -> bytes:
    """A multipart body written byte for byte (clients may send anything)."""
    out = b""
    for name, value in fields.items():
        head = f'Content-Disposition: form-data; name="{name}"\r\n{part_headers}'
        out += f"--{BOUNDARY}\r\n{head}\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def errors_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def good_step1(client) -> dict[str, str]:
    _html, csrf, captcha_id = await step1_page(client)
    return {
        "_csrf_token": csrf,
        "applicant_type": "self",
        "company_code": "ISC",
        "ticket_number": client.tickets[0],
        "email": "taro@example.com",
        "email_confirm": "taro@example.com",
        "captcha_id": captcha_id,
        "captcha_answer": captcha_answer(client, captcha_id),
    }


def assert_bad_request_page(response, caplog) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert BAD_REQUEST_TITLE in title(response.text)
    assert errors_logged(caplog) == []


async def test_invalid_utf8_in_a_multipart_value_is_a_400_page(client, caplog):
    values = await good_step1(client)
    fields = {k: v.encode() for k, v in values.items()} | {"email": b"\xff\xfe@example.com"}
    for headers in ({}, {"x-csrftoken": values["_csrf_token"]}):  # read by CSRF, or the handler
        caplog.clear()
        response = await client.post(
            "/register/step1",
            content=multipart(fields),
            headers={"content-type": MULTIPART, **headers},
        )
        assert_bad_request_page(response, caplog)
    confirm = await client.get("/register/confirm", follow_redirects=False)
    assert confirm.headers["location"] == "/register/step1"  # no draft was kept


async def test_a_multipart_field_in_an_unknown_charset_is_a_400_page(client, caplog):
    values = await good_step1(client)
    body = multipart(
        {k: v.encode() for k, v in values.items()},
        part_headers="Content-Type: text/plain; charset=no-such-charset\r\n",
    )
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": MULTIPART}
    )
    assert_bad_request_page(response, caplog)


async def test_a_multipart_body_on_a_get_is_not_a_500(client, caplog):
    # The CSRF middleware reads a form body even on GET.
    body = multipart({"email": b"\xff\xfe"})
    response = await client.request(
        "GET", "/register/step1", content=body, headers={"content-type": MULTIPART}
    )
    assert_bad_request_page(response, caplog)


async def test_invalid_percent_encoded_utf8_is_refused_not_replaced(client, smtp_sink, caplog):
    values = await good_step1(client)
    body = urlencode({k: v for k, v in values.items() if k not in ("email", "email_confirm")})
    body += "&email=%FF%FE%40example.com&email_confirm=%FF%FE%40example.com"
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": URLENCODED}
    )
    assert_bad_request_page(response, caplog)
    confirm = await client.get("/register/confirm", follow_redirects=False)
    assert confirm.headers["location"] == "/register/step1"
    assert await Registration.count() == 0 and smtp_sink.messages == []


async def test_invalid_raw_bytes_in_a_urlencoded_body_are_refused(client, caplog):
    values = await good_step1(client)
    body = urlencode(values).encode() + b"&family_name=\xff\xfe"
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": URLENCODED}
    )
    assert_bad_request_page(response, caplog)


async def test_raw_utf8_in_a_urlencoded_body_is_read_as_utf8_not_latin1(client):
    values = await good_step1(client)
    values["email"] = values["email_confirm"] = "山田"  # invalid, so the page shows it again
    body = "&".join(
        f"{quote(k)}={v if k == 'email' else quote(v)}" for k, v in values.items()
    ).encode()
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": URLENCODED}
    )
    assert response.status_code == 422
    assert input_value(response.text, "email") == "山田"


async def test_a_nul_in_a_form_value_is_refused_and_not_stored(client, smtp_sink, caplog):
    csrf = await open_application(client, smtp_sink)
    before = (await Application.select(Application.answers).first())["answers"]
    caplog.clear()
    response = await client.post(
        "/apply",
        data={**GOOD_ANSWERS, "family_name": "山\x00田", "action": "save", "_csrf_token": csrf},
    )
    assert_bad_request_page(response, caplog)
    after = (await Application.select(Application.answers).first())["answers"]
    assert after == before and "山\\u0000田" not in json.dumps(after)


async def test_more_fields_than_any_form_has_is_a_400_page(client, caplog):
    values = await good_step1(client)
    body = urlencode(values) + "".join(f"&f{i}=x" for i in range(5000))
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": URLENCODED}
    )
    assert_bad_request_page(response, caplog)
    parts = {k: v.encode() for k, v in values.items()} | {
        f"f{i}": b"x" for i in range(300)
    }  # under the 64 kB body limit
    response = await client.post(
        "/register/step1", content=multipart(parts), headers={"content-type": MULTIPART}
    )
    assert_bad_request_page(response, caplog)


async def test_a_nul_byte_in_a_static_path_is_a_404_page(client, caplog):
    for path in ("/static/css/site%00.css", "/static/%00", "/captcha/%00/image.png"):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "ページが見つかりません" in title(response.text)
    assert errors_logged(caplog) == []


async def test_the_good_step1_still_passes(client):
    # The strict reader changes nothing for what a browser sends.
    values = await good_step1(client)
    response = await client.post("/register/step1", data=values, follow_redirects=False)
    assert response.headers["location"] == "/register/confirm"
    page = await client.get("/register/confirm")
    assert CSRF.search(page.text) and not CAPTCHA.search(page.text)


async def test_a_csrf_token_sent_as_a_file_is_a_400_page(client, caplog):
    values = await good_step1(client)
    token = values.pop("_csrf_token").encode()
    body = multipart({k: v.encode() for k, v in values.items()}).replace(
        f"--{BOUNDARY}--".encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf_token"; '
        f'filename="token.txt"\r\n\r\n'.encode()
        + token
        + f"\r\n--{BOUNDARY}--".encode(),
    )
    response = await client.post(
        "/register/step1", content=body, headers={"content-type": MULTIPART}
    )
    assert_bad_request_page(response, caplog)


async def test_a_lone_surrogate_from_an_escape_charset_is_refused(client, smtp_sink, caplog):
    csrf = await open_application(client, smtp_sink)
    before = (await Application.select(Application.answers).first())["answers"]
    caplog.clear()
    fields = {"_csrf_token": csrf.encode(), "action": b"save"}
    body = (
        multipart(fields)
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="family_name"\r\n'
            "Content-Type: text/plain; charset=unicode_escape\r\n\r\n\\ud800\r\n"
            f"--{BOUNDARY}--\r\n"
        ).encode()
    )
    body = body.replace(f"--{BOUNDARY}--\r\n--".encode(), b"--", 1)
    response = await client.post("/apply", content=body, headers={"content-type": MULTIPART})
    assert_bad_request_page(response, caplog)
    assert (await Application.select(Application.answers).first())["answers"] == before


async def test_a_host_header_that_is_no_host_is_a_400_page(client, caplog):
    for path in ("/", "/register/step1", "/static/css/site.css"):
        response = await client.get(path, headers={"host": "testserver.local:99999999"})
        assert_bad_request_page(response, caplog)
    response = await client.get("/no-such-page", headers={"host": "testserver.local:99999999"})
    assert response.status_code == 404 and errors_logged(caplog) == []


async def asgi_get(app, path: str, query_string: bytes) -> tuple[int, bytes]:
    """One GET straight through ASGI: raw query bytes no HTTP client library would send."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver.local")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


async def test_a_query_string_that_is_not_utf8_is_a_400_page(app, client, caplog):
    for path in ("/", "/register/step1"):
        status, body = await asgi_get(app, path, b"applicant_type=\xff\xfe")
        assert status == 400, (path, status)
        assert BAD_REQUEST_TITLE in body.decode()
    assert errors_logged(caplog) == []
