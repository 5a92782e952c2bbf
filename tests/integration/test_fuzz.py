"""Fuzzing as a test: no byte sequence a client can send gets a 5xx, a traceback in the log, or a
stored row from a refused request — on every route and method of the app's route table.

Bounded by the `jcan-fuzz` Hypothesis profile; JCAN_FUZZ_EXAMPLES=5000 runs a longer search.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.application.tables import Application, ApplicationDocument
from app.schema import TABLES
from tests.helpers import (
    AGENT_ANSWERS,
    CSRF,
    approval_link_in,
    fill_form,
    link_in,
    png_bytes,
    post_step1,
    ready_application,
    register,
    submit_application,
    upload,
    wait_for_mail,
)
from tests.support.fuzz import Browser, Request, request, routes_of

settings.register_profile(
    "jcan-fuzz",
    max_examples=int(os.environ.get("JCAN_FUZZ_EXAMPLES", "400")),
    deadline=None,  # a shared 2-core machine: time per example varies; the count bounds it
    database=None,  # nothing written into the work tree
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one set of browsers serves every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
FUZZ = settings.get_profile("jcan-fuzz")
AGENT = "agent@example.net"
# A refused request stores nothing; 422 re-renders keep the typed draft and spend the CAPTCHA.
REFUSED = (400, 403, 404, 405, 413, 429)


class Records(logging.Handler):
    """Every ERROR, and every record carrying a traceback, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.bad.append(record)


@pytest.fixture
def log_records():
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("litestar")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def _snapshot_cookies(client: Any) -> dict[str, str]:
    return {cookie.name: cookie.value for cookie in client.cookies.jar}


async def _page_csrf(client: Any, path: str) -> str:
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, (path, page.status_code)
    return match.group(1)


async def _browsers(client: Any, sink: Any) -> list[Browser]:
    """One browser at each point of the flows where the routes do their work."""
    # The principal, with the approval page of an agent's submitted application open.
    await register(
        client,
        applicant_type="agent",
        email=AGENT,
        email_confirm=AGENT,
        ticket_number=client.tickets[1],
    )
    await client.get(link_in((await wait_for_mail(sink, AGENT))[-1]))
    csrf = await _page_csrf(client, "/apply")
    assert (await fill_form(client, csrf, AGENT_ANSWERS)).status_code == 303
    for kind in ("id_front", "employment"):
        await upload(client, csrf, [(f"{kind}.png", png_bytes(), "image/png")], kind)
    assert (await submit_application(client, csrf)).status_code == 303
    link = approval_link_in((await wait_for_mail(sink, AGENT_ANSWERS["cert_email"]))[-1])
    client.cookies.clear()
    await client.get(link)
    principal = Browser(
        "principal", _snapshot_cookies(client), await _page_csrf(client, "/approve")
    )
    # The applicant, answered and with documents, before 申請.
    client.cookies.clear()
    csrf = await ready_application(client, sink)
    documents = await ApplicationDocument.select(ApplicationDocument.public_id)
    applicant = Browser(
        "applicant",
        _snapshot_cookies(client),
        csrf,
        tuple(row["public_id"] for row in documents),
    )
    # A step-1 draft awaiting 確認, and a first visit.
    client.cookies.clear()
    assert (await post_step1(client, ticket_number=client.tickets[2])).status_code == 303
    csrf = await _page_csrf(client, "/register/confirm")
    drafted = Browser("drafted", _snapshot_cookies(client), csrf)
    client.cookies.clear()
    csrf = await _page_csrf(client, "/register/step1?applicant_type=self")
    anonymous = Browser("anonymous", _snapshot_cookies(client), csrf)
    client.cookies.clear()
    return [principal, applicant, drafted, anonymous, Browser("no cookies", {}, "")]


async def _stored() -> tuple[dict[str, int], list[dict[str, Any]]]:
    counts = {table._meta.tablename: await table.count() for table in TABLES}
    rows = await Application.select(
        Application.id, Application.status, Application.answers
    ).order_by(Application.id)
    return counts, rows


def _without_draft(stored: tuple[dict[str, int], list[dict[str, Any]]]) -> Any:
    counts, rows = stored
    # A refused console sign-in is itself an event: its audit row is the one thing it stores.
    # An application's search words follow its answers, and a refused draft keeps what was
    # typed (the answers are left out below for that reason), so their count moves with them.
    ignored = ("captcha_challenge", "audit_event", "application_search")
    kept = {k: v for k, v in counts.items() if k not in ignored}
    return kept, [(row["id"], row["status"]) for row in rows]


async def _send(client: Any, req: Request) -> Any:
    client.cookies.clear()  # the drawn Cookie header is the whole truth
    return await client.request(
        req.method, req.url, headers=req.headers, content=req.body, follow_redirects=False
    )


class Setup(tuple):  # type: ignore[type-arg]
    """(routes, browsers), with a short repr for Hypothesis's report of a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self[0])} routes, browsers {[b.name for b in self[1]]}>"


@pytest.fixture
async def fuzz_setup(client, smtp_sink, app):
    return Setup((routes_of(app), await _browsers(client, smtp_sink)))


@FUZZ
@given(data=st.data())
async def test_no_request_gets_a_5xx_a_traceback_or_stores_when_refused(
    client, fuzz_setup, log_records, data
):
    """Every (route, method) of the app's table, junk path parameters and bodies, with and
    without CSRF token, HX-Request and cookies."""
    routes, browsers = fuzz_setup
    req = data.draw(request(routes, browsers), label="request")
    log_records.bad.clear()
    before = await _stored()
    response = await _send(client, req)
    where = f"{response.status_code} for {req.describe()}"
    assert response.status_code < 500, where
    assert not log_records.bad, (where, [r.getMessage() for r in log_records.bad])
    if response.status_code in REFUSED:
        assert await _stored() == before, where
    elif response.status_code == 422:
        assert _without_draft(await _stored()) == _without_draft(before), where
