"""What the middleware costs, in CPU time per request, measured in one process.

    python -m tests.benchmarks.middleware_cost [--requests 5000] [--rounds 7] [--only NAME ...]

Each variant is an ASGI app driven directly (no server, no sockets) with the same GET, the
CSRF cookie carried as a browser does: the bare framework (a plain-text handler in a Litestar
app with no middleware, `openapi_config=None`), the bare app plus one of the portal's layers,
and the portal itself (`/bench/plain` and the top page). Rounds are interleaved (every variant
once per round) and each variant's best round is kept: CPU time of the process
(`time.process_time`), so another process on the machine moves it far less than it moves
wrk's requests/s. Prints microseconds per request and each one's cost above the bare app.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import ClientException, NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.middleware.session.base import SessionMiddleware

from app.settings import Settings
from app.web import inputs, middleware, security
from tests.benchmarks.bare import bare_app

ENVIRON = {
    "APP_ENV": "test",
    "BENCH_MODE": "true",
    "SECRET_KEY": "middleware-cost-measurement-secret-key-0123456789",
    "TRUSTED_PROXY": "true",
    "RATE_LIMIT_PER_MINUTE": "100000000",
}
COMPANY = "BENCH"


def settings() -> Settings:
    return Settings.from_env({**ENVIRON, "VAR_DIR": tempfile.mkdtemp(prefix="jcan-mwcost-")})


async def prepare_database(s: Settings) -> None:
    """The schema (Piccolo's migrations, on a SQLite file in VAR_DIR) and one company, as
    `make bench` sets up, for the step-1 variants."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    os.environ.update(
        {**ENVIRON, "VAR_DIR": str(s.app.var_dir), "PICCOLO_CONF": "app.piccolo_conf"}
    )
    os.environ.pop("DATABASE_URL", None)
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def headers_before(s: Settings) -> Any:
    """The security-headers hook as it was before issue 18 (one MutableScopeHeaders
    assignment per header), for the comparison in the same run."""
    fixed = dict(security.HEADERS)

    async def add_security_headers(message: Any, scope: Any) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in fixed.items():
            headers[name] = value
        content_type = headers.get("content-type", "")
        if "cache-control" not in headers and not content_type.startswith(
            ("text/css", "text/javascript", "application/javascript")
        ):
            headers["Cache-Control"] = "no-store"

    return add_security_headers


def url_check_before(app: Any) -> Any:
    """inputs.refuse_malformed_urls before issue 18: the URL built on every request."""

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if inputs.PATH_CONTROL.search(scope["path"]):
                raise NotFoundException()
            try:
                ASGIConnection[Any, Any, Any, Any](scope).url  # noqa: B018
            except ValueError as exc:
                raise ClientException() from exc
        await app(scope, receive, send)

    return middleware


def stack_before(s: Settings) -> Litestar:
    """The plain handler behind the portal's middleware as configured before issue 18."""
    session = security.session_config(s)
    return bare_app(
        middleware=[
            url_check_before,
            DefineMiddleware(SessionMiddleware, backend=session._backend_class(session)),
            security.rate_limit_config(s).middleware,
        ],
        csrf_config=security.csrf_config(s),
        before_send=[headers_before(s)],
        compression_config=security.compression_config(),
    )


def stack_now(s: Settings) -> Litestar:
    """The plain handler behind the portal's middleware as app/asgi.py configures it now."""
    return bare_app(middleware=middleware.stack(s), before_send=[middleware.before_send(s)])


@dataclass(frozen=True)
class Probe:
    """One request: GET `path` unless a method, query, extra headers or a body say otherwise."""

    path: str
    method: str = "GET"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: str = field(default="", repr=False)


def inline_check(s: Settings, cookie: str) -> Probe:
    """What htmx posts for the email field's inline check (tests/benchmarks/web_load.py)."""
    from app.captcha.service import challenge_key, create_challenge

    challenge = create_challenge(s.registration, challenge_key(s.app))
    form = [
        ("_csrf_token", cookie),
        ("applicant_type", "self"),
        ("company_code", COMPANY),
        ("ticket_number", "ABCD-EFGH-JKMN-2345"),
        ("email", "bench@example.jp"),
        ("email_confirm", ""),
        ("captcha_id", challenge.public_id),
        ("captcha_answer", ""),
    ]
    return Probe(
        "/register/step1/fields/email",
        method="POST",
        headers=(
            ("hx-request", "true"),
            ("hx-trigger", "email"),
            ("hx-target", "email-field"),
            ("hx-current-url", "/register/step1?applicant_type=self"),
            ("x-csrftoken", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ),
        body="&".join(f"{k}={quote(v, safe='')}" for k, v in form),
    )


def variants(s: Settings, cookie: str = "") -> dict[str, tuple[Callable[[], Litestar], Probe]]:
    """name -> (app factory, path). "stock"/"before": the layer as Litestar ships it or as
    the portal had it before issue 18; "portal": the layer as app/web runs it now."""
    from app.asgi import create_app

    session = security.session_config(s)
    stock = {
        "session": DefineMiddleware(SessionMiddleware, backend=session._backend_class(session)),
        "rate limit": security.rate_limit_config(s).middleware,
        "compression": DefineMiddleware(
            CompressionMiddleware, config=security.compression_config()
        ),
        "csrf": DefineMiddleware(CSRFMiddleware, config=security.csrf_config(s)),
    }
    plain = Probe("/bench/plain")
    table: dict[str, tuple[Callable[[], Litestar], Probe]] = {
        "bare": (bare_app, plain),
        "+ headers (before)": (lambda: bare_app(before_send=[headers_before(s)]), plain),
        "+ headers (portal)": (
            lambda: bare_app(before_send=[security.security_headers(s)]),
            plain,
        ),
        "+ no-op middleware": (
            lambda: bare_app(middleware=[lambda app: app]),
            plain,
        ),
        "+ url check (before)": (lambda: bare_app(middleware=[url_check_before]), plain),
    }
    for layer, stocked in stock.items():
        table[f"+ {layer} (stock)"] = (
            lambda m=stocked: bare_app(middleware=[m]),  # type: ignore[misc]
            plain,
        )
    table["+ all layers in one (portal)"] = (
        lambda: bare_app(middleware=middleware.stack(s)),
        plain,
    )
    table["all layers (before)"] = (lambda: stack_before(s), plain)
    table["all layers (portal)"] = (lambda: stack_now(s), plain)
    table["portal /bench/plain"] = (lambda: create_app(s), plain)
    table["portal top page"] = (lambda: create_app(s), Probe("/"))
    table["portal step 1"] = (lambda: create_app(s), Probe("/register/step1"))
    table["portal step 1 (self)"] = (
        lambda: create_app(s),
        Probe("/register/step1", query="applicant_type=self"),
    )
    table["portal inline check"] = (lambda: create_app(s), inline_check(s, cookie))
    return table


def scope_for(probe: Probe, cookie: str) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"wrk"),
        (b"cookie", f"jcan_csrf={cookie}".encode()),
        (b"x-forwarded-for", b"198.51.100.7"),
        *((name.encode(), value.encode()) for name, value in probe.headers),
    ]
    if probe.body:
        headers.append((b"content-length", str(len(probe.body.encode())).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": probe.method,
        "scheme": "http",
        "path": probe.path,
        "raw_path": probe.path.encode(),
        "query_string": probe.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


@dataclass
class Driver:
    app: Litestar
    probe: Probe
    cookie: str

    async def one(self) -> int:
        status = 0
        body = self.probe.body.encode()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope_for(self.probe, self.cookie), receive, send)  # type: ignore[arg-type]
        return status

    async def run(self, requests: int) -> float:
        """CPU seconds for `requests` sequential requests."""
        started = time.process_time()
        for _ in range(requests):
            await self.one()
        return time.process_time() - started


async def measure(
    s: Settings, names: list[str], requests: int, rounds: int
) -> dict[str, list[float]]:
    cookie = generate_csrf_token(security.csrf_config(s).secret)
    table = variants(s, cookie)
    drivers: dict[str, Driver] = {}
    started: list[Any] = []
    if any(table[name][1].path.startswith("/register/") for name in names):
        await prepare_database(s)
    for name in names:
        factory, probe = table[name]
        app = factory()
        services = getattr(app.state, "services", None)
        if services is not None:
            await services.start()
            started.append(services)
            if probe.path.startswith("/register/"):
                from app.registration import companies

                if not await companies.company_exists(COMPANY):
                    await companies.add_company(COMPANY, "ベンチマーク株式会社")
        drivers[name] = driver = Driver(app, probe, cookie)
        status = await driver.one()
        assert status == 200, f"{name}: {probe} answered {status}"
        await driver.run(min(requests, 500))  # warm caches
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for _ in range(rounds):
            for name, driver in drivers.items():
                samples[name].append(await driver.run(requests) / requests)
    finally:
        for services in started:
            await services.stop()
    return samples


def report(samples: dict[str, list[float]]) -> str:
    """Each variant's median round, and the median of its differences to the bare app's
    round measured just before it (pairs taken close together in time)."""
    bare = samples.get("bare")
    lines = ["| variant | CPU µs / request | above bare |", "|---|---|---|"]
    for name, rounds in samples.items():
        extra = "–"
        if bare is not None:
            above = statistics.median(x - b for x, b in zip(rounds, bare, strict=True))
            extra = f"{1e6 * above:+.1f} µs"
        lines.append(f"| {name} | {1e6 * statistics.median(rounds):.1f} | {extra} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.middleware_cost")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", nargs="*", help="variants to measure (default: all)")
    args = parser.parse_args(argv)
    s = settings()
    names = args.only or list(variants(s))
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    try:
        samples = runner(measure(s, names, args.requests, args.rounds))
    finally:
        shutil.rmtree(s.app.var_dir, ignore_errors=True)
    print(report(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
