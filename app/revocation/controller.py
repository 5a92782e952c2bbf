"""Routes of the holder's revocation request (/revoke): when to revoke and the lookup form,
the same answer for every lookup, the mailed link, the reason form and the confirmation."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.captcha import service as captcha
from app.db import utcnow
from app.links import web as links
from app.registration.form import captcha_error
from app.revocation import form, requests, rules
from app.revocation.requests import LINK
from app.revocation.service import email_of
from app.web.render import INVALID, page, see_other
from app.web.state import form_values, services
from app.web.types import Req

START = "revocation/start.html.jinja2"
SENT = "revocation/sent.html.jinja2"
REQUEST = "revocation/request.html.jinja2"
DONE = "revocation/done.html.jinja2"
LINK_STATE = "revocation/link_state.html.jinja2"
DONE_KEY = "revocation_done"


async def _start(
    request: Req,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    block: str | None = None,
) -> Response[Any]:
    s = services(request)
    challenge = captcha.create_challenge(s.settings.registration, s.captcha_key)
    values = {k: v for k, v in values.items() if k != "captcha_answer"}
    context = {"values": values, "errors": errors, "challenge": challenge}
    return page(request, START, context, status=status, block=block)


def details(certificate: dict[str, Any]) -> dict[str, Any]:
    pem = x509.load_pem_x509_certificate(certificate["certificate_pem"].encode())
    return {
        "serial": certificate["serial"],
        "subject": certificate["subject"],
        "not_before": rules.jst(certificate["not_before"]),
        "not_after": rules.jst(certificate["not_after"]),
        "email": email_of(pem),
        "revoked": certificate["status"] == "revoked",
    }


async def _request_page(
    request: Req,
    certificate: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response[Any]:
    context = {
        "values": values,
        "errors": errors,
        "certificate": details(certificate),
        "reasons": [{"value": v, "label": label} for v, label in rules.reason_options()],
    }
    return page(request, REQUEST, context, status=status)


class RevocationController(Controller):
    path = "/revoke"

    @get("")
    async def start(self, request: Req) -> Response[Any]:
        return await _start(request, {}, {})

    @get("/captcha")
    async def new_captcha(self, request: Req) -> Response[Any]:
        return await _start(request, {}, {}, block="captcha")

    @post("")
    async def ask(self, request: Req) -> Response[Any]:
        s = services(request)
        values = await form_values(request)
        if values.get("action") == "refresh_captcha":
            return await _start(request, values, {})
        lookup, errors = form.check_lookup(values)
        verdict = await captcha.verify(
            values.get("captcha_id", ""), values.get("captcha_answer", ""), s.captcha_key, utcnow()
        )
        message = captcha_error(verdict.value, s.settings.registration.captcha_ttl_seconds // 60)
        if message:
            errors["captcha_answer"] = message
        if lookup is None or errors:
            return await _start(request, values, errors, status=INVALID)
        await requests.ask(lookup, s.settings, s.outbox)
        return see_other("/revoke/sent")  # the same answer whether or not it exists

    @get("/sent")
    async def sent(self, request: Req) -> Response[Any]:
        hours = services(request).settings.revocation.link_hours
        return page(request, SENT, {"hours": hours})

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        return await links.exchange(request, LINK, token)

    @get("/request")
    async def show(self, request: Req) -> Response[Any]:
        token_id = await links.live_token(request, LINK)
        certificate = await requests.certificate_of_link(token_id)
        if certificate is None:
            return see_other(LINK.state_path("invalid"))
        return await _request_page(request, certificate, {}, {})

    @post("/request")
    async def submit(self, request: Req) -> Response[Any]:
        s = services(request)
        token_id = await links.live_token(request, LINK)
        certificate = await requests.certificate_of_link(token_id)
        if certificate is None:
            return see_other(LINK.state_path("invalid"))
        values = await form_values(request)
        choice, errors = rules.check_choice(values, utcnow())
        if choice is None or certificate["status"] != "issued":
            return await _request_page(request, certificate, values, errors, status=INVALID)
        try:
            received = await requests.submit(token_id, choice, s.settings, s.outbox)
        except requests.LinkUsed:
            return see_other(LINK.state_path("used"))
        request.session.pop(LINK.session_key, None)
        request.session[DONE_KEY] = {
            "number": received.number,
            "due_at": rules.jst(received.due_at),
            "immediate": s.settings.revocation.immediate,
        }
        return see_other("/revoke/done")

    @get("/done")
    async def done(self, request: Req) -> Response[Any]:
        shown = request.session.get(DONE_KEY)
        if not isinstance(shown, dict):
            return see_other("/revoke")
        return page(request, DONE, shown)

    @get("/link/{link_state:str}")
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        shown = link_state if link_state in links.SHOWN_STATES else "invalid"
        return page(request, LINK_STATE, {"state": shown})
