"""Routes of an operator's setup link: the exchange, the password, the authenticator (QR code
and the secret as text), the confirming code, the recovery codes shown once."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.console.accounts import operators, passwords, totp
from app.console.accounts.controller import OPEN, client_of
from app.console.accounts.operators import SETUP_LINK
from app.console.web import page
from app.i18n import _
from app.links import web as links
from app.links.tokens import LinkState
from app.links.web import LinkNotLive
from app.web.render import INVALID, see_other
from app.web.state import form_values, services
from app.web.types import Req

PASSWORD_TEMPLATE = "console/setup_password.html.jinja2"
TOTP_TEMPLATE = "console/setup_totp.html.jinja2"
CODES_TEMPLATE = "console/setup_codes.html.jinja2"
STATE_TEMPLATE = "console/setup_link.html.jinja2"
SETUP = "/console/setup"


async def _operator(request: Req) -> tuple[int, dict[str, Any]]:
    """This browser's live setup link and its operator (LinkNotLive otherwise)."""
    token_id = await links.live_token(request, SETUP_LINK)
    operator = await operators.operator_of_link(token_id)
    if operator is None or operator["disabled_at"] is not None:
        raise LinkNotLive(SETUP_LINK, LinkState.INVALID)
    return token_id, operator


def _totp_page(
    request: Req, operator: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response[Any]:
    secret = operators.totp_secret(operator, services(request).settings)
    uri = totp.provisioning_uri(secret, operator["email"], operators.ISSUER)
    context = {
        "errors": errors,
        "qr": totp.qr_data_uri(uri),
        "secret": totp.spaced(secret),
        "email": operator["email"],
    }
    return page(request, TOTP_TEMPLATE, context, status=status)


class SetupController(Controller):
    path = "/setup"

    @get("/t/{token:str}", opt=OPEN)
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        return await links.exchange(request, SETUP_LINK, token)

    @get("", opt=OPEN)
    async def setup(self, request: Req) -> Response[Any]:
        _token_id, operator = await _operator(request)
        if not operator["password_hash"]:
            return page(request, PASSWORD_TEMPLATE, {"email": operator["email"]})
        return _totp_page(request, operator, {})

    @post("/password", opt=OPEN)
    async def password(self, request: Req) -> Response[Any]:
        _token_id, operator = await _operator(request)
        if operator["password_hash"]:
            return see_other(SETUP)
        form = await form_values(request)
        password = form.get("password", "")
        errors = passwords.check_new_password(
            password, form.get("password_confirm", ""), operator["email"]
        )
        if errors:
            context = {"email": operator["email"], "errors": errors}
            return page(request, PASSWORD_TEMPLATE, context, status=INVALID)
        await operators.set_password(operator["id"], password, services(request).settings)
        return see_other(SETUP)

    @post("/totp", opt=OPEN)
    async def confirm(self, request: Req) -> Response[Any]:
        token_id, operator = await _operator(request)
        if not operator["password_hash"]:
            return see_other(SETUP)
        code = (await form_values(request)).get("code", "")[:64]
        settings = services(request).settings
        codes = await operators.enrol(token_id, operator, code, settings, client_of(request))
        if codes is None:
            errors = {
                "code": _(
                    "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
                )
            }
            return _totp_page(request, operator, errors, INVALID)
        request.session.pop(SETUP_LINK.session_key, None)
        # Shown in this answer only: the codes are stored nowhere readable, not even a cookie.
        return page(request, CODES_TEMPLATE, {"codes": codes})

    @get("/link/{link_state:str}", opt=OPEN)
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        shown = link_state if link_state in links.SHOWN_STATES else LinkState.INVALID.value
        return page(request, STATE_TEMPLATE, {"state": shown})
