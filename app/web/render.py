"""Choosing a full page or one of its named blocks (htmx fragment) for a response, and the
pages kept as bytes between requests (page_once)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar.enums import MediaType
from litestar.response import Redirect, Response
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState
from markupsafe import escape

from app.web.types import Req

log = logging.getLogger("jcan.web")

# Re-rendered invalid forms answer 422: honest for machines, and htmx is told to swap it
# (responseHandling in templates/base.html.jinja2).
INVALID = 422


def wants_fragment(request: Req) -> bool:
    """An htmx request that targets part of a page (not a boosted navigation)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"


def page(
    request: Req,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status: int = 200,
) -> HTMXBlockTemplate:
    """The whole page, or only `block` of it when htmx asks for a fragment."""
    errors = context.get("errors") or {}
    full_context = {"errors": errors, "values": {}, **context, "request_path": request.url.path}
    return HTMXBlockTemplate(
        template_name=template,
        block_name=block if block and wants_fragment(request) else None,
        context=full_context,
        status_code=status,
        headers={"Vary": "HX-Request"},
    )


# page_once: a whole page that differs between requests only in a few strings (the CSRF token,
# a CAPTCHA challenge's id) is rendered once with a marker in each of their places, kept as the
# bytes between the markers, and answered by joining those bytes with each request's strings,
# escaped as Jinja escapes `{{ value }}`. Jinja's macros cost step 1 a millisecond of CPU per
# view (`make bench`, docs/benchmarks.md). The markers are random per process.
CSRF_SLOT = " csrf"  # no template variable can have this name
_MARKERS = {CSRF_SLOT: f"jcanslot{secrets.token_hex(12)}"}
_MAX_PAGES = 64  # kept pages per app; beyond that the cache starts again


def _marker(name: str) -> str:
    return _MARKERS.setdefault(name, f"jcanslot{secrets.token_hex(12)}")


class _Stamp:
    """A page split at its slots: parts[0] slot[0] parts[1] ... parts[-1]."""

    __slots__ = ("parts", "slots")

    def __init__(self, body: bytes, names: tuple[str, ...]) -> None:
        by_marker = {_marker(name).encode(): name for name in names}
        pieces = re.split(b"(" + b"|".join(map(re.escape, by_marker)) + b")", body)
        self.parts = tuple(pieces[0::2])
        self.slots = tuple(by_marker[marker] for marker in pieces[1::2])

    def fill(self, values: Mapping[str, str]) -> bytes:
        filled = {name: str(escape(value)).encode() for name, value in values.items()}
        out = [self.parts[0]]
        for name, part in zip(self.slots, self.parts[1:], strict=True):
            out += (filled[name], part)
        return b"".join(out)


def _render(request: Req, template: str, context: dict[str, Any], block: str | None) -> Any:
    """What page() answers, as Litestar turns it into the ASGI response (headers, body)."""
    return page(request, template, context, block=block).to_asgi_response(None, request)


def _csrf_token(request: Req) -> str:
    # What Litestar's csrf_token() template function reads: the token the CSRF middleware set.
    token = ScopeState.from_scope(request.scope).csrf_token
    return "" if token is Empty else str(token)


Context = dict[str, Any] | Callable[[Mapping[str, str]], dict[str, Any]]


def page_once(
    request: Req,
    template: str,
    context: Context,
    *,
    key: Hashable = (),
    slots: Mapping[str, str] | None = None,
    block: str | None = None,
) -> Response[Any]:
    """page(), for a page (or its `block`, for an htmx fragment) whose output is fixed by
    `template`, `key` (whatever the context depends on besides constants) and the request's
    path, except for the CSRF token and the strings in `slots`, which the template only prints
    (`{{ name }}`: no test, filter or comparison sees their value) and which are not empty.

    `context`: the page's context, with each slot a top-level name; or a function making the
    context from the slots' values (a slot inside a structure, e.g. a field's value).

    The first request renders the page twice (with the markers, then normally) and keeps it
    only if both agree once filled; while templates reload (development), and when a slot is
    empty, it renders as page() does."""
    slots = dict(slots or {})
    env = request.app.template_engine.engine  # type: ignore[union-attr]
    make = context if callable(context) else (lambda values: {**context, **values})
    if env.auto_reload or not all(slots.values()):
        return page(request, template, make(slots), block=block)
    block = block if block and wants_fragment(request) else None
    scope = request.scope
    cache: dict[Hashable, _Stamp | None] = request.app.state.setdefault("page_stamps", {})
    cache_key = (
        template,
        block,
        key,
        tuple(sorted(slots)),
        scope.get("root_path", ""),
        scope["path"],
    )
    stamp = cache.get(cache_key, Empty)
    if stamp is Empty:
        stamp = _stamp(request, template, make, slots, block)
        if len(cache) >= _MAX_PAGES:
            cache.clear()
        cache[cache_key] = stamp
    if stamp is None:  # a page that is not the same for every request: as page() does
        return page(request, template, make(slots), block=block)
    return Response(
        stamp.fill({**slots, CSRF_SLOT: _csrf_token(request)}),
        status_code=200,  # as page() sets it (a POST handler's default is 201)
        media_type=MediaType.HTML,
        headers={"Vary": "HX-Request"},
    )


def _stamp(
    request: Req,
    template: str,
    make: Callable[[Mapping[str, str]], dict[str, Any]],
    slots: dict[str, str],
    block: str | None,
) -> _Stamp | None:
    state = ScopeState.from_scope(request.scope)
    token = state.csrf_token
    state.csrf_token = _marker(CSRF_SLOT)
    try:
        marked = _render(request, template, make({n: _marker(n) for n in slots}), block)
    finally:
        state.csrf_token = token
    stamp = _Stamp(marked.body, (CSRF_SLOT, *slots))
    normal = _render(request, template, make(slots), block)
    if stamp.fill({**slots, CSRF_SLOT: _csrf_token(request)}) != normal.body or (
        marked.status_code != 200
    ):
        log.warning("page_once: %s differs between requests; rendered each time", template)
        return None
    return stamp


def see_other(path: str) -> Redirect:
    """303 See Other: the answer to every successful POST (post/redirect/get)."""
    return Redirect(path, status_code=303)
