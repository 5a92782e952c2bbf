"""Routes of signing in and out of the console: 「ログイン」, then 「確認」, and 「ログアウト」."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.response import Response

from app.console import sessions
from app.console.accounts import service, throttle
from app.console.guards import LOGIN, PUBLIC, session_of
from app.console.web import page
from app.i18n import _
from app.mail.outbox import Outbox
from app.web.render import INVALID, see_other
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

LOGIN_TEMPLATE = "console/login.html.jinja2"
CODE_TEMPLATE = "console/code.html.jinja2"
CODE = "/console/mfa"
HOME = "/console"
OPEN = {PUBLIC: True}
TOO_MANY = 429


def client_of(request: Req) -> str:
    """The client address the audit log and the throttles record (behind TRUSTED_PROXY, the
    forwarded one)."""
    return client_address(request, services(request).settings.security.trusted_proxy)[:64]


def mailer(request: Req) -> Outbox:
    return services(request).outbox


async def _allowed(request: Req, subject: str) -> bool:
    store = request.app.stores.get(throttle.STORE)
    limit = services(request).settings.console.login_per_minute
    return await throttle.allow(store, throttle.keys(client_of(request), subject), limit)


def _refused(
    request: Req, template: str, message: str, status: int, **values: str
) -> Response[Any]:
    errors = {"signin": message}
    return page(request, template, {"errors": errors, "values": values}, status=status)


class AccountsController(Controller):
    path = "/"

    @get("/login", opt=OPEN)
    async def login_page(self, request: Req) -> Response[Any]:
        session = await session_of(request)
        if session is not None and session.mfa_done:
            return see_other(HOME)
        return page(request, LOGIN_TEMPLATE, {})

    @post("/login", opt=OPEN)
    async def login(self, request: Req) -> Response[Any]:
        form = await form_values(request)
        email = form.get("email", "")[:254]
        password = form.get("password", "")[: 4 * 256]
        if not await _allowed(request, email):
            message = _("ログインの試行が多すぎます。1分ほど待ってから、もう一度お試しください。")
            return _refused(request, LOGIN_TEMPLATE, message, TOO_MANY, email=email)
        settings = services(request).settings
        raw = await service.password_step(
            email,
            password,
            client_of(request),
            settings,
            mailer(request),
            await session_of(request),
        )
        if raw is None:
            message = _("メールアドレスまたはパスワードが正しくありません。")
            return _refused(request, LOGIN_TEMPLATE, message, INVALID, email=email)
        return sessions.set_cookie(see_other(CODE), raw, settings)

    @get("/mfa", opt=OPEN)
    async def code_page(self, request: Req) -> Response[Any]:
        session = await session_of(request)
        if session is None:
            return see_other(LOGIN)
        if session.mfa_done:
            return see_other(HOME)
        return page(request, CODE_TEMPLATE, {})

    @post("/mfa", opt=OPEN)
    async def code(self, request: Req) -> Response[Any]:
        session = await session_of(request)
        if session is None:
            return see_other(LOGIN)
        if session.mfa_done:
            return see_other(HOME)
        code = (await form_values(request)).get("code", "")[:64]
        if not await _allowed(request, f"operator:{session.operator_id}"):
            message = _("確認の試行が多すぎます。1分ほど待ってから、もう一度お試しください。")
            return _refused(request, CODE_TEMPLATE, message, TOO_MANY)
        settings = services(request).settings
        raw = await service.code_step(session, code, client_of(request), settings, mailer(request))
        if raw is None:
            message = _(
                "確認コードが正しくありません。最初からやり直す場合は、もう一度ログインしてください。"
            )
            return _refused(request, CODE_TEMPLATE, message, INVALID)
        return sessions.set_cookie(see_other(HOME), raw, settings)

    @post("/logout", opt=OPEN)
    async def logout(self, request: Req) -> Response[Any]:
        session = await session_of(request)
        if session is not None:
            await service.sign_out(session, client_of(request))
        return sessions.clear_cookie(see_other(LOGIN), services(request).settings)
