"""Pages kept as bytes (app/web/render.page_once) answer exactly what page() renders: the same
body for the same CSRF token and challenge, the same status and headers; fragments, drafts
and a changed company list are rendered afresh (issue 18)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jinja2
import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.template.config import TemplateConfig

from app.registration import companies
from app.web import middleware
from app.web.render import page, page_once
from app.web.types import Req
from tests.helpers import CAPTCHA, CSRF, check_step1_field, csrf_of, post_step1

# Tokens as a client may send them in the CSRF cookie (the safe-method fast path takes the
# cookie as the token): one plain, one that HTML escaping changes.
TOKENS = ("plain-token-0123456789abcdef", "a<b>&c'd")

SMALL = {
    "page.html": (
        '<body hx-headers=\'{"x-csrftoken": "{{ csrf_token() }}"}\'>'
        '{% block main %}<main><input name="_csrf_token" value="{{ csrf_token() }}">'
        '{% if challenge_id %}<img src="/c/{{ challenge_id }}.png">'
        '<input name="captcha_id" value="{{ challenge_id }}">{% endif %}'
        "<p>{{ note }}</p></main>{% endblock %}</body>"
    ),
    "shout.html": "<p>{{ csrf_token() }} {{ challenge_id | upper }}</p>",
}


def small_app(settings: Any) -> Litestar:
    """page() and page_once() side by side on the same templates, behind the portal's CSRF
    middleware and security headers."""

    def context(request: Req) -> tuple[dict[str, Any], dict[str, str]]:
        challenge = request.query_params.get("challenge", "")
        return {"note": "固定", "challenge_id": ""}, (
            {"challenge_id": challenge} if challenge else {}
        )

    @get("/fresh/{name:str}")
    async def fresh(request: Req, name: FromPath[str]) -> Response[Any]:
        fixed, slots = context(request)
        return page(request, name, fixed | slots, block="main")

    @get("/kept/{name:str}")
    async def kept(request: Req, name: FromPath[str]) -> Response[Any]:
        fixed, slots = context(request)
        return page_once(request, name, fixed, slots=slots, block="main")

    # auto_reload off as outside development (page_once renders every time while it is on).
    env = jinja2.Environment(loader=jinja2.DictLoader(SMALL), autoescape=True, auto_reload=False)
    return Litestar(
        route_handlers=[fresh, kept],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        middleware=middleware.stack(settings),
        before_send=[middleware.before_send(settings)],
        openapi_config=None,
    )


async def both(client: httpx.AsyncClient, path: str, **options: Any) -> tuple[Any, Any]:
    return await client.get(f"/fresh/{path}", **options), await client.get(
        f"/kept/{path}", **options
    )


def assert_same(fresh: Any, kept: Any) -> None:
    assert kept.status_code == fresh.status_code
    assert kept.content == fresh.content
    assert kept.headers.multi_items() == fresh.headers.multi_items()


@pytest.fixture
async def small(settings: Any) -> Any:
    transport = httpx.ASGITransport(app=small_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def test_kept_page_equals_page_for_every_token_and_challenge(small):
    for token in TOKENS:
        for challenge in ("", "first-challenge-id", "second-challenge-id"):
            fresh, kept = await both(
                small,
                f"page.html?challenge={challenge}",
                headers={"Cookie": f"jcan_csrf={token}"},
            )
            assert_same(fresh, kept)
            assert challenge in kept.text
    assert "a&lt;b&gt;&amp;c&#39;d" in kept.text


async def test_first_visit_gets_the_token_litestar_sets_with_its_cookie(small):
    kept = await small.get("/kept/page.html")  # no cookie: Litestar's CSRF middleware
    token = kept.cookies["jcan_csrf"]
    assert f'name="_csrf_token" value="{token}"' in kept.text
    fresh = await small.get("/fresh/page.html", headers={"Cookie": f"jcan_csrf={token}"})
    assert fresh.content == kept.content


async def test_a_template_that_transforms_a_slot_is_rendered_each_time(small):
    for challenge in ("abc", "xyz"):
        fresh, kept = await both(
            small, f"shout.html?challenge={challenge}", headers={"Cookie": "jcan_csrf=t1"}
        )
        assert_same(fresh, kept)
        assert challenge.upper() in kept.text


async def test_an_htmx_fragment_is_the_block_not_the_kept_page(small):
    cookie = {"Cookie": "jcan_csrf=t1"}
    await small.get("/kept/page.html", headers=cookie)
    fresh, kept = await both(small, "page.html", headers={**cookie, "HX-Request": "true"})
    assert_same(fresh, kept)
    assert kept.text.startswith("<main>")
    boosted = {**cookie, "HX-Request": "true", "HX-Boosted": "true"}
    fresh, kept = await both(small, "page.html", headers=boosted)
    assert_same(fresh, kept)
    assert kept.text.startswith("<body")


# The portal's pages kept by page_once, each fetched three times: with one token (the page is
# made and kept), with another (answered from what was kept), and with that other token again
# after the kept pages are dropped (rendered afresh: what page() renders).
KEPT_PAGES = (
    "/",
    "/policies/obligations",
    "/policies/privacy",
    "/register/step1",
    "/register/step1?applicant_type=self",
    "/register/step1?applicant_type=agent",
)


def same_challenge(html: str, other: str) -> str:
    """`html` with its challenge id (if any) replaced by the one in `other`."""
    mine, theirs = CAPTCHA.search(html), CAPTCHA.search(other)
    if mine is None:
        assert theirs is None
        return html
    assert theirs is not None
    return html.replace(mine.group(1), theirs.group(1))


@pytest.mark.parametrize("path", KEPT_PAGES)
async def test_kept_portal_page_equals_the_page_rendered_afresh(app, client, path):
    first, second = TOKENS
    # Uncompressed, so that content-length compares too (gzip of two challenge ids differs).
    plain = {"Accept-Encoding": "identity"}
    await client.get(path, headers={**plain, "Cookie": f"jcan_csrf={first}"})
    assert app.state.page_stamps, "the page was not kept"
    kept = await client.get(path, headers={**plain, "Cookie": f"jcan_csrf={second}"})
    app.state.page_stamps.clear()
    fresh = await client.get(path, headers={**plain, "Cookie": f"jcan_csrf={second}"})
    assert kept.status_code == fresh.status_code == 200
    assert same_challenge(kept.text, fresh.text) == fresh.text
    assert kept.headers.multi_items() == fresh.headers.multi_items()
    assert (
        CSRF.search(kept.text) is None
        or CSRF.search(kept.text).group(1) == "a&lt;b&gt;&amp;c&#39;d"
    )
    assert first not in kept.text


async def test_each_kept_step1_view_has_its_own_challenge(client):
    ids = {
        CAPTCHA.search((await client.get("/register/step1?applicant_type=self")).text).group(1)
        for _ in range(3)
    }
    assert len(ids) == 3


async def test_type_change_by_htmx_after_a_kept_view_is_the_fragment(client):
    await client.get("/register/step1?applicant_type=agent")
    response = await client.get(
        "/register/step1?applicant_type=agent", headers={"HX-Request": "true"}
    )
    assert response.text.lstrip().startswith('<div id="step1-main">')
    assert "<html" not in response.text


async def test_step1_with_a_draft_after_kept_views_shows_the_draft_and_keeps_none(app, client):
    await client.get("/register/step1")
    await client.get("/register/step1?applicant_type=self")
    response = await post_step1(
        client, email="draft-kept@example.jp", email_confirm="draft-kept@example.jp"
    )
    assert response.status_code == 303
    for path in ("/register/step1", "/register/step1?applicant_type=self"):
        html = (await client.get(path)).text
        assert 'value="draft-kept@example.jp"' in html, path
    kept = b"".join(b"".join(stamp.parts) for stamp in app.state.page_stamps.values() if stamp)
    assert kept and b"draft-kept@example.jp" not in kept  # an applicant's answers are never kept


async def test_a_new_company_shows_on_step1_at_once(client):
    for path in ("/register/step1", "/register/step1?applicant_type=self"):
        assert "ZNEW01" not in (await client.get(path)).text
    await companies.add_company("ZNEW01", "新規株式会社")
    for path in ("/register/step1", "/register/step1?applicant_type=self"):
        assert 'value="ZNEW01"' in (await client.get(path)).text, path


def without_counts(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.multi_items() if not k.startswith("ratelimit-")]


INLINE_VALUES = {
    "email": ("taro@example.com", "o'neil&co@example.jp"),
    "email_confirm": ("taro@example.com", "o'neil&co@example.jp"),
    "ticket_number": (None, None),  # the demo data's first ticket (client.tickets[0])
}


@pytest.mark.parametrize("applicant_type", ["self", "agent"])
@pytest.mark.parametrize("name", sorted(INLINE_VALUES))
async def test_kept_inline_check_equals_the_fragment_rendered_afresh(
    app, client, name, applicant_type
):
    csrf = await csrf_of(client)

    async def check(value: str) -> Any:
        form = {
            "_csrf_token": csrf,
            "applicant_type": applicant_type,
            "company_code": "ISC",
            "ticket_number": client.tickets[0],
            "email": value,
            "email_confirm": value,
        }
        return await client.post(
            f"/register/step1/fields/{name}",
            data=form if name != "ticket_number" else {**form, "email": ""},
            headers={"HX-Request": "true", "Accept-Encoding": "identity"},
        )

    first, second = INLINE_VALUES[name]
    await check(first or "")
    kept = await check(second or "")
    app.state.page_stamps.clear()
    fresh = await check(second or "")
    assert kept.status_code == fresh.status_code == 200
    assert kept.content == fresh.content
    # The ticket's check counts against the rate limit: one fewer remaining each time.
    assert [k for k, _ in kept.headers.multi_items()] == [k for k, _ in fresh.headers.multi_items()]
    assert without_counts(kept.headers) == without_counts(fresh.headers)
    assert "<html" not in kept.text
    if second:
        assert 'value="o&#39;neil&amp;co@example.jp"' in kept.text
    assert any(key[1] == "field" for key in app.state.page_stamps)


async def test_inline_check_with_an_error_after_kept_checks_shows_the_error(client):
    ok = await check_step1_field(client, "email", email="taro@example.com")
    assert ok.status_code == 200 and "error-message" not in ok.text
    wrong = await check_step1_field(client, "email", email="not-an-address")
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text and 'value="not-an-address"' in wrong.text


async def test_inline_check_of_the_company_marks_the_company_checked(client):
    for code in ("ISC", "OTHER", "ISC"):
        response = await check_step1_field(client, "company_code", company_code=code)
        assert response.status_code == 200
        assert re.findall(r'<option value="(\w+)" selected>', response.text) == [code]
