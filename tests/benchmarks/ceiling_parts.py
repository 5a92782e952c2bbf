"""Where the gap between the bare framework and the middleware-only handler lies, under the
real server: the same `/bench/plain` GET (wrk, 50 connections, the CSRF cookie carried) on
granian servers that each add one part of the portal, in interleaved rounds.

    python -m tests.benchmarks.ceiling_parts [--rounds 5] [--seconds 5] [--only NAME ...]

The parts: the bare framework; the bare app with the security headers (`before_send`); with
the middleware layers but no headers; with both (what app/asgi.py configures, without the
rest of the app); and the portal itself (`jcan serve` on the bench stack's database, Redis
and worker). `tests.benchmarks.middleware_cost` counts the CPU of the ASGI calls in one
process; this shows what the server's side of them adds (headers turned into the response,
bytes on the socket) and what the whole portal process adds beyond its middleware.
Prints each part's median requests/s and p99, and its share of the bare framework's median.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys

from litestar import Litestar

from app.web import middleware, security
from tests.benchmarks import middleware_cost
from tests.benchmarks.bare import bare_app
from tests.benchmarks.run import Bench
from tests.benchmarks.stack import Stack, free_port, stop_process
from tests.benchmarks.web_load import ensure_wrk


def _frozen(app: Litestar) -> Litestar:
    gc.freeze()  # as app.asgi.app_from_env does
    return app


def headers_app() -> Litestar:
    return _frozen(bare_app(before_send=[security.security_headers(middleware_cost.settings())]))


def layers_app() -> Litestar:
    s = middleware_cost.settings()
    return _frozen(bare_app(middleware=middleware.stack(s)))


def stack_app() -> Litestar:
    return _frozen(middleware_cost.stack_now(middleware_cost.settings()))


FACTORIES = {
    "+ headers": "headers_app",
    "+ layers": "layers_app",
    "+ headers + layers": "stack_app",
}


def _serve(stack: Stack, factory: str, port: int) -> subprocess.Popen[bytes]:
    """A granian server of one part, served as `jcan serve` serves the portal."""
    code = (
        "from granian import Granian; from granian.constants import Interfaces; "
        f"Granian('tests.benchmarks.ceiling_parts:{factory}', address='127.0.0.1', "
        f"port={port}, interface=Interfaces.ASGI, factory=True, workers=1).serve()"
    )
    log = (stack.workdir / f"{factory}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=stack._env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/bench/plain"
    stack._wait_for(lambda: stack._answers(url), factory)
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.ceiling_parts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", nargs="*", default=None, help="parts to load besides bare")
    args = parser.parse_args(argv)
    ensure_wrk()
    stack = Stack()
    servers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        stack.start()
        bench = Bench(stack, args.seconds)
        ports: dict[str, int] = {"portal": stack.app_port}
        for name, factory in FACTORIES.items():
            if args.only is None or name in args.only:
                ports[name] = free_port()
                servers[name] = _serve(stack, factory, ports[name])
        parts = ["bare", *(p for p in ports if args.only is None or p in args.only)]
        seen: dict[str, list[tuple[float, float]]] = {part: [] for part in parts}
        for round_number in range(args.rounds):
            order = parts if round_number % 2 == 0 else parts[::-1]
            for part in order:
                if part == "bare":
                    result = bench.load("bare")
                else:
                    stack.app_port = ports[part]
                    result = bench.load("ceiling")
                    stack.app_port = ports["portal"]
                seen[part].append((result.rps, result.p99_ms))
        bare = statistics.median(r for r, _ in seen["bare"])
        print(f"{args.rounds} rounds of {args.seconds} s, wrk 50 connections, /bench/plain")
        for part in parts:
            rps = [r for r, _ in seen[part]]
            p99 = [p for _, p in seen[part]]
            rate = statistics.median(rps)
            print(
                f"{part:20s} {rate:7.0f} req/s {100 * rate / bare:5.1f}% "
                f"(+{1e6 / rate - 1e6 / bare:5.1f} µs) p99 {statistics.median(p99):5.1f} ms "
                f"[{', '.join(f'{r:.0f}' for r in rps)}]",
                flush=True,
            )
    finally:
        for server in servers.values():
            stop_process(server)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
