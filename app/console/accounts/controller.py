"""Routes of signing in and out of the console: 「ログイン」, 「確認」, 「ログアウト」."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.response import Response

from app.console import sessions
from app.console.accounts import service
from app.console.guards import LOGIN, session_of
from app.web.render import see_other
from app.web.state import services

Req = Request[Any, Any, Any]


def client_of(request: Req) -> str:
    return request.client.host if request.client else ""


class AccountsController(Controller):
    path = "/"

    @post("/logout", opt={"console_public": True})
    async def logout(self, request: Req) -> Response[Any]:
        session = await session_of(request)
        if session is not None:
            await service.sign_out(session, client_of(request))
        return sessions.clear_cookie(see_other(LOGIN), services(request).settings)
