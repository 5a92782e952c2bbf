"""The bare framework `make bench` measures the portal against: one plain-text handler in a
Litestar app with no middleware and no schema, served exactly as `jcan serve` serves the
portal (granian, ASGI, the same worker count and event loop).

    python -m tests.benchmarks.bare PORT [WORKERS]
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from granian import Granian
from granian.constants import Interfaces
from litestar import Litestar, MediaType, get


@get("/bench/plain", media_type=MediaType.TEXT)
async def plain() -> str:
    return "ok"


def bare_app(**options: Any) -> Litestar:
    """The framework alone (options: what tests.benchmarks.middleware_cost adds to it)."""
    return Litestar(route_handlers=[plain], openapi_config=None, debug=False, **options)


def app_factory() -> Litestar:
    app = bare_app()
    gc.freeze()  # as app.asgi.app_from_env does
    return app


def main(argv: list[str]) -> int:
    port = int(argv[0])
    workers = int(argv[1]) if len(argv) > 1 else 1
    Granian(
        "tests.benchmarks.bare:app_factory",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
