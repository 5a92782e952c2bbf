"""The middleware's fast paths leave no route unprotected: every response carries every
security header, every unsafe route refuses a request without a CSRF token, sessions and the
rate limit behave as before (app/web/middleware.py, issue 18)."""

from __future__ import annotations

import re
from typing import Any

from cryptography.x509 import ocsp
from litestar.middleware.csrf import generate_csrf_token
from litestar.routes import HTTPRoute

from app.web import security
from tests.helpers import CSRF, SAMPLE_PARAMS

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PUBLIC_PKI_TYPES = ("application/pkix-crl", "application/pkix-cert", "application/ocsp-response")
# Routes that opt out of CSRF on purpose: RFC 6960 clients POST DER requests without a session
# or a form, and the responder changes nothing. A new entry here needs the same argument.
CSRF_EXEMPT = {("POST", "/ocsp")}


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path with sample parameters) of every route of the app, HEAD/OPTIONS aside."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(
            r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), m.group(0)), route.path
        )
        assert "{" not in path, f"add a sample value for {route.path}"
        found += [(m, path) for m in route.route_handler_map if m not in ("HEAD", "OPTIONS")]
    return sorted(found, key=lambda item: (item[1], item[0]))


def assert_security_headers(response: Any, where: str) -> None:
    for name, value in security.HEADERS.items():
        assert response.headers.get_list(name) == [value], (where, name)
    content_type = response.headers.get("content-type", "")
    if content_type.startswith(("text/css", "text/javascript", "application/javascript")):
        assert "no-store" not in response.headers.get("cache-control", ""), where
    elif content_type.startswith(PUBLIC_PKI_TYPES):
        # The CRL, the CA certificates and OCSP answers are public and meant to be cached
        # (their handler says for how long); the hook keeps a handler's own Cache-Control.
        # An unsuccessful OCSP answer (no or a garbled request here) is never stored.
        cache = response.headers.get_list("cache-control")
        unsuccessful = content_type.startswith("application/ocsp-response") and (
            ocsp.load_der_ocsp_response(response.content).response_status
            is not ocsp.OCSPResponseStatus.SUCCESSFUL
        )
        assert cache and ("no-store" in cache[0]) is unsuccessful, where
    else:
        assert response.headers.get_list("cache-control") == ["no-store"], where


async def test_every_route_answers_with_every_security_header(app, client):
    for method, path in routes(app):
        response = await client.request(method, path, follow_redirects=False)
        assert_security_headers(response, f"{method} {path}")


async def test_error_pages_carry_every_security_header(client):
    for response in (
        await client.get("/no/such/page"),
        await client.post("/register/step1", data={}),  # 403: no CSRF token
        await client.get("/", headers={"host": "testserver.local:99999999"}),  # 400
    ):
        assert response.status_code in (400, 403, 404)
        assert_security_headers(response, str(response.status_code))


async def test_a_security_header_set_by_a_handler_is_replaced_not_doubled(settings):
    hook = security.security_headers(settings)
    message: Any = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-type", b"text/css")],
    }
    await hook(message, {})
    names = [name.lower() for name, _ in message["headers"]]
    assert names.count(b"x-frame-options") == 1
    assert (b"x-frame-options", b"DENY") in message["headers"]
    assert b"cache-control" not in names  # a style sheet may be cached


async def test_every_unsafe_route_refuses_a_request_without_the_csrf_token(app, client):
    token = CSRF.search((await client.get("/register/step1")).text).group(1)
    assert client.cookies.get("jcan_csrf")
    unsafe = [(m, p) for m, p in routes(app) if m in UNSAFE and (m, p) not in CSRF_EXEMPT]
    assert len(unsafe) > 20
    for method, path in unsafe:
        where = f"{method} {path}"
        missing = await client.request(method, path, data={"x": "1"})
        assert missing.status_code == 403, where
        forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
        wrong = await client.request(method, path, data={"_csrf_token": forged})
        assert wrong.status_code == 403, where
        header = await client.request(method, path, headers={"x-csrftoken": forged})
        assert header.status_code == 403, where


async def test_the_header_token_is_judged_as_litestar_judges_it(settings, client):
    """The unsafe requests the middleware lets through itself (a header token that matches
    the cookie) and those it leaves to Litestar's check: the same answers as that check."""
    token = CSRF.search((await client.get("/register/step1")).text).group(1)
    path = "/register/step1/fields/email"
    form = {"applicant_type": "self", "email": "taro@example.jp"}
    htmx = {"hx-request": "true", "x-csrftoken": token}
    assert (await client.post(path, data=form, headers=htmx)).status_code == 200
    # The header decides when there is one, as in Litestar: a forged form token is not read.
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    both = await client.post(path, data=form | {"_csrf_token": forged}, headers=htmx)
    assert both.status_code == 200
    # An empty header: the form's token decides.
    empty = {"hx-request": "true", "x-csrftoken": ""}
    assert (await client.post(path, data=form, headers=empty)).status_code == 403
    with_form = await client.post(path, data=form | {"_csrf_token": token}, headers=empty)
    assert with_form.status_code == 200
    # A well-formed token of another browser's cookie is no match for this one.
    other = generate_csrf_token(security.csrf_config(settings).secret)
    mismatch = {"hx-request": "true", "x-csrftoken": other}
    assert (await client.post(path, data=form, headers=mismatch)).status_code == 403
    # The same genuine token again (now kept as genuine): still let through.
    assert (await client.post(path, data=form, headers=htmx)).status_code == 200
    # A forged token sent as both cookie and header is not genuine, kept tokens or not.
    client.cookies.set("jcan_csrf", forged)
    forged_both = {"hx-request": "true", "x-csrftoken": forged}
    assert (await client.post(path, data=form, headers=forged_both)).status_code == 403
    client.cookies.delete("jcan_csrf")
    assert (await client.post(path, data=form, headers=htmx)).status_code == 403


async def test_a_token_without_its_cookie_is_refused(app, client):
    token = CSRF.search((await client.get("/register/step1")).text).group(1)
    client.cookies.delete("jcan_csrf")
    response = await client.post("/register/step1", data={"_csrf_token": token})
    assert response.status_code == 403


async def test_the_page_token_matches_the_cookie_with_and_without_one(client):
    first = await client.get("/register/step1")
    set_cookie = [c for c in first.headers.get_list("set-cookie") if c.startswith("jcan_csrf=")]
    assert len(set_cookie) == 1
    cookie = client.cookies.get("jcan_csrf")
    assert CSRF.search(first.text).group(1) == cookie
    again = await client.get("/register/step1")
    assert not [c for c in again.headers.get_list("set-cookie") if c.startswith("jcan_csrf=")]
    assert CSRF.search(again.text).group(1) == cookie


async def test_a_get_with_a_form_body_still_goes_through_the_full_check(client):
    await client.get("/")
    response = await client.request(
        "GET",
        "/",
        content=b"applicant_type=\xff",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400  # the strict form decoder, as before


async def test_pages_without_a_session_set_no_session_cookie(client):
    for path in ("/", "/register/step1", "/policies/privacy"):
        response = await client.get(path)
        cookies = response.headers.get_list("set-cookie")
        assert not [c for c in cookies if c.startswith("jcan_session")], path


async def test_a_session_written_without_a_cookie_is_set(client):
    token = CSRF.search((await client.get("/register/step1")).text).group(1)
    assert "jcan_session" not in client.cookies
    await client.post(
        "/register/step1", data={"_csrf_token": token, "applicant_type": "self"}
    )  # invalid form: 422, no draft kept
    response = await client.get("/register/confirm", follow_redirects=False)
    assert response.status_code in (302, 303)  # no draft: back to step 1


def test_every_throttled_post_is_a_post_route(app):
    posts = [
        re.compile(re.sub(r"\{\w+(:\w+)?\}", "[^/]+", route.path))
        for route in app.routes
        if isinstance(route, HTTPRoute) and "POST" in route.route_handler_map
    ]
    for path in security.RATE_LIMITED_POSTS:
        assert any(pattern.fullmatch(path) for pattern in posts), path
    for prefix in security.RATE_LIMITED_PREFIXES:
        assert any(path.startswith(prefix) for _, path in routes(app)), prefix


async def test_only_throttled_routes_count(variant):
    from tests.helpers import client_for

    settings = variant(security={"rate_limit_per_minute": 2, "trusted_proxy": True})
    async with client_for(settings) as c:
        # An address no other test uses: with Redis the counters outlive the app.
        headers = {"X-Forwarded-For": "192.0.2.181"}
        for _ in range(5):
            assert (await c.get("/", headers=headers)).status_code == 200
            assert (await c.get("/register/step1", headers=headers)).status_code == 200
        image = "/captcha/nonexistent/image.png"
        statuses = [(await c.get(image, headers=headers)).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]


async def test_large_pages_are_gzipped_only_when_accepted(client):
    plain = await client.get("/register/step1", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    zipped = await client.get("/register/step1", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert_security_headers(zipped, "gzip")
    assert len(zipped.content) > 1024  # httpx decodes; the page is above the minimum size
