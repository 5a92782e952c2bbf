"""Routes of the emailed link: exchange the token, then the token-free start of the application."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Response

from app.registration import service
from app.registration.flow import lanes
from app.registration.form import applicant_type_label
from app.registration.service import LinkState
from app.web.render import page, see_other
from app.web.state import services

Req = Request[Any, Any, Any]
STATE_PAGES = {s.value for s in LinkState} - {LinkState.VALID.value}


class ApplicationController(Controller):
    path = "/apply"

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        """The emailed URL: always a redirect, so the token never stays in the address bar."""
        resolution = await service.resolve_link(token)
        if resolution.state is LinkState.VALID:
            request.session["apply_token"] = resolution.token_id
            return see_other("/apply")
        return see_other(f"/apply/link/{resolution.state.value}")

    @get("")
    async def start(self, request: Req) -> Response[Any]:
        token_id = request.session.get("apply_token")
        if not isinstance(token_id, int):
            return see_other("/apply/link/invalid")
        state = await service.token_state(token_id)
        if state is not LinkState.VALID:
            request.session.pop("apply_token", None)
            return see_other(f"/apply/link/{state.value}")
        registration = await service.registration_for_token(token_id)
        if registration is None:
            return see_other("/apply/link/invalid")
        return page(
            request,
            "application/start.html.jinja2",
            {
                "registration": registration,
                "lanes": lanes(registration["applicant_type"]),
                "current_step": "app_input",
                "type_label": applicant_type_label(registration["applicant_type"]),
            },
        )

    @get("/link/{link_state:str}")
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        shown = link_state if link_state in STATE_PAGES else LinkState.INVALID.value
        ttl_hours = services(request).settings.registration.token_ttl_hours
        return page(
            request,
            "application/link_state.html.jinja2",
            {"state": shown, "ttl_days": ttl_hours // 24, "ttl_hours": ttl_hours},
        )
