"""The portal's middleware stack, each layer with a fast path for the requests it leaves alone.

Litestar's session, CSRF, rate-limit and compression middleware each build a Request, parse
headers or cookies and wrap `send` on every request. Here each first looks at the raw scope
(one pass over the header list) and hands the request to Litestar's own middleware only when
it has something to do: a session cookie or a session written by the handler; an unsafe
method, a missing CSRF cookie or a form body; a throttled route; a client accepting gzip.
What each does when it runs is Litestar's, unchanged (docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

from typing import Any

from litestar._parsers import parse_cookie_string
from litestar.config.compression import CompressionConfig
from litestar.connection import ASGIConnection
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.settings import Settings
from app.web import security

_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def _header(scope: Scope, name: bytes) -> bytes:
    """The first value of a request header (lower-case name; ASGI servers send them so)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _cookie_named(scope: Scope, name: bytes) -> bool:
    """Whether any Cookie header may carry `name` (a substring test: never a false no)."""
    return any(key == b"cookie" and name in value for key, value in scope["headers"])


def _cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed and kept as ASGIConnection.cookies does (the first
    Cookie header, Litestar's parser), without building the connection's Headers."""
    state = ScopeState.from_scope(scope)
    if state.cookies is Empty:
        raw = _header(scope, b"cookie")
        state.cookies = parse_cookie_string(raw.decode("latin-1")) if raw else {}
    return state.cookies


class SessionCookiesMiddleware(SessionMiddleware[security.SessionCookies]):
    """Without a session cookie there is nothing to load or clear: an empty session, and the
    backend writes a cookie only if the handler put something in it."""

    def __init__(self, app: ASGIApp, backend: security.SessionCookies) -> None:
        super().__init__(app, backend)
        self.key = backend.config.key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _cookie_named(scope, self.key):
            await super().__call__(scope, receive, send)
            return
        scope["session"] = {}
        scope[security.LOADED] = {}  # type: ignore[literal-required]
        ScopeState.from_scope(scope).session_id = None
        backend = self.backend

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("session"):
                connection = ASGIConnection[Any, Any, Any, Any](scope, receive=receive, send=send)
                await backend.store_in_message(scope["session"], message, connection)
            await send(message)

        await self.app(scope, receive, send_with_session)


class SafeMethodCSRFMiddleware(CSRFMiddleware):
    """A GET (HEAD, OPTIONS) that carries the CSRF cookie and no form body only needs the
    token for the page's forms: no Request, no send wrapper. Everything else (every unsafe
    method above all) goes through Litestar's check unchanged."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method")
        if scope["type"] == "http" and method in self.config.safe_methods:
            cookie = _cookies(scope).get(self.config.cookie_name)
            if cookie and not _header(scope, b"content-type").startswith(_FORM_TYPES):
                if not should_bypass_middleware(
                    scope=scope,
                    scopes=self.scopes,
                    exclude_opt_key=self.config.exclude_from_csrf_key,
                    exclude_path_pattern=self.exclude,
                ):
                    ScopeState.from_scope(scope).csrf_token = cookie
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class ThrottledRoutesMiddleware:
    """The rate limiter only on the routes it counts (security.is_throttled): the others
    never build the Request it needs."""

    def __init__(self, app: ASGIApp, config: Any) -> None:
        self.app = app
        self.limited = RateLimitMiddleware(app, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method", ""))
        if scope["type"] == "http" and security.is_throttled(scope["path"], method):
            await self.limited(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class AcceptedGzipMiddleware:
    """Compression only for a client that accepts gzip (wrk and most bots do not)."""

    def __init__(self, app: ASGIApp, config: CompressionConfig) -> None:
        self.app = app
        self.compressing = CompressionMiddleware(app, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"gzip" in _header(scope, b"accept-encoding"):
            await self.compressing(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def stack(settings: Settings) -> list[DefineMiddleware]:
    """Outermost first: session, rate limit, compression, CSRF (Litestar's own order)."""
    session = security.session_config(settings)
    return [
        DefineMiddleware(SessionCookiesMiddleware, backend=session._backend_class(session)),
        DefineMiddleware(ThrottledRoutesMiddleware, config=security.rate_limit_config(settings)),
        DefineMiddleware(AcceptedGzipMiddleware, config=security.compression_config()),
        DefineMiddleware(SafeMethodCSRFMiddleware, config=security.csrf_config(settings)),
    ]
