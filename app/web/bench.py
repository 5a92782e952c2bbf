"""Bench mode only: the bare plain-text handler that `make bench` measures as the ceiling."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, get

from app.settings import Settings


@get("/bench/plain", media_type=MediaType.TEXT)
async def plain() -> str:
    """No database, no template: what the stack (server, middleware, headers) costs alone."""
    return "ok"


def routes(settings: Settings) -> list[Any]:
    """The bench routes when BENCH_MODE is on (Settings.validate refuses it in production)."""
    return [plain] if settings.app.bench_mode else []
