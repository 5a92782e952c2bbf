"""The console's home page: the review queue (審査待ち) for those who may view applications."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.response import Response

from app.console.guards import current_operator, requires
from app.console.permissions import Permission
from app.console.review.controller import queue_page
from app.console.web import page
from app.web.types import Req


class HomeController(Controller):
    path = "/"

    @get("", guards=[requires(Permission.CONSOLE)])
    async def home(self, request: Req) -> Response[Any]:
        operator = current_operator(request)
        if operator.may(Permission.VIEW_APPLICATIONS):
            return await queue_page(request)
        return page(request, "console/home.html.jinja2", {}, operator=operator)
