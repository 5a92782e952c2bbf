"""Type names shared by the web glue and every controller."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request

# Handlers take the request of any user, auth and state type: one name for it.
Req: TypeAlias = Request[Any, Any, Any]
