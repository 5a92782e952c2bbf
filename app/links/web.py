"""The web side of one-time links: the 303 exchange for a token-free address, the check that
the link in this browser's session is still live, and the one link-state page."""

from __future__ import annotations

from typing import Any

from litestar.response import Response

from app.links import tokens
from app.links.kinds import LinkKind
from app.links.tokens import LinkState
from app.web.render import page, see_other
from app.web.state import services
from app.web.types import Req

STATE_TEMPLATE = "links/state.html.jinja2"
SHOWN_STATES = frozenset(s.value for s in LinkState) - {LinkState.VALID.value}


class LinkNotLive(Exception):
    """The session's link is missing, used, superseded or expired: answered by
    `link_not_live` with a 303 to the page that explains it."""

    def __init__(self, kind: LinkKind, state: LinkState, location: str | None = None) -> None:
        super().__init__(state.value)
        self.kind = kind
        self.state = state
        self.location = location or kind.state_path(state)  # where the browser is sent


async def exchange(request: Req, kind: LinkKind, token: str) -> Response[Any]:
    """The emailed URL: always a redirect, so the token never stays in the address bar."""
    resolution = await tokens.resolve(kind.table, token)
    if resolution.state is LinkState.VALID:
        request.session[kind.session_key] = resolution.token_id
        return see_other(kind.landing)
    return see_other(kind.state_path(resolution.state))


async def live_token(request: Req, kind: LinkKind) -> int:
    """The id of this session's live link of `kind`, or LinkNotLive."""
    token_id = request.session.get(kind.session_key)
    if not isinstance(token_id, int):
        raise LinkNotLive(kind, LinkState.INVALID)
    state = await tokens.state(kind.table, token_id)
    if state is not LinkState.VALID:
        request.session.pop(kind.session_key, None)
        raise LinkNotLive(kind, state)
    return token_id


def link_not_live(request: Req, exc: LinkNotLive) -> Response[Any]:
    """The one exception handler for LinkNotLive."""
    return see_other(exc.location)


def state_page(request: Req, kind: LinkKind, link_state: str) -> Response[Any]:
    """Why a link cannot be used; unknown states read as invalid."""
    shown = link_state if link_state in SHOWN_STATES else LinkState.INVALID.value
    ttl_hours = services(request).settings.registration.token_ttl_hours
    return page(
        request,
        STATE_TEMPLATE,
        {"state": shown, "ttl_days": ttl_hours // 24, "ttl_hours": ttl_hours, "kind": kind.name},
    )
