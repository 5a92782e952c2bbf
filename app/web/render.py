"""Choosing a full page or one of its named blocks (htmx fragment) for a response."""

from __future__ import annotations

from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar.response import Redirect

from app.web.types import Req

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


def see_other(path: str) -> Redirect:
    """303 See Other: the answer to every successful POST (post/redirect/get)."""
    return Redirect(path, status_code=303)
