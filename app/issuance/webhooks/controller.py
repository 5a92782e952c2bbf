"""Routes of the deliveries page (/console/webhooks, admins): every event with its state,
attempts, last error and next attempt; 「再送する」 on a failed one."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.console.guards import current_operator, requires
from app.console.permissions import Permission
from app.console.web import page
from app.i18n import _
from app.web.render import see_other
from app.web.security import client_address
from app.web.state import services
from app.web.types import Req

from . import operations
from .service import enqueue_delivery

LIST = "console/webhooks/list.html.jinja2"
MANAGE = [requires(Permission.MANAGE_WEBHOOKS)]


def shown_url(url: str) -> str:
    """The receiver's address as operators see it: scheme, host, port and path, never a
    user:password part or a query (either may carry a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class WebhooksController(Controller):
    path = "/webhooks"

    @get("", guards=MANAGE)
    async def deliveries(self, request: Req) -> Response[Any]:
        failed_only = request.query_params.get("state") == "failed"
        hook = services(request).settings.webhooks
        context = {
            "page_title": _("自動登録の配信"),
            "events": await operations.list_events(failed_only),
            "failed_only": failed_only,
            "enabled": hook.enabled,
            "url": shown_url(hook.url),
            "notice": request.query_params.get("notice", ""),
        }
        return page(request, LIST, context, operator=current_operator(request))

    @post("/{event_id:str}/retry", guards=MANAGE)
    async def retry(self, request: Req, event_id: FromPath[str]) -> Response[Any]:
        state = services(request)
        client = client_address(request, state.settings.security.trusted_proxy)
        actor = current_operator(request).actor
        row_id = await operations.requeue_failed(event_id, actor, client)
        if row_id is None:
            return see_other("/console/webhooks?notice=not_retried")
        await enqueue_delivery(state.queue, row_id, f":retry-{secrets.token_hex(4)}")
        return see_other("/console/webhooks?notice=retried")
