"""Routes of the content pages: top (利用者の義務 and 同意する), policies."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.response import Response

from app.web.render import page_once
from app.web.types import Req


class PagesController(Controller):
    @get("/")
    async def top(self, request: Req) -> Response[Any]:
        return page_once(request, "pages/top.html.jinja2", {})

    @get("/policies/obligations")
    async def obligations(self, request: Req) -> Response[Any]:
        return page_once(request, "pages/obligations.html.jinja2", {})

    @get("/policies/privacy")
    async def privacy(self, request: Req) -> Response[Any]:
        return page_once(request, "pages/privacy.html.jinja2", {})

    @get("/healthz", media_type="text/plain")
    async def health(self) -> str:
        return "ok"
