"""Security headers, cookie settings and the rate limit, from settings."""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import SerializationException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.client_side import (
    ClientSideSessionBackend,
    CookieBackendConfig,
)
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.types import Message, Scope, ScopeSession
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("jcan.web")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Everything under these paths, and POSTs to these, count against RATE_LIMIT_PER_MINUTE (one
# counter per client address). The inline ticket check answers "exists / used" without a
# CAPTCHA, so it counts like the registration POST it precedes.
RATE_LIMITED_PREFIXES = ("/captcha",)
RATE_LIMITED_POSTS = (
    "/register/step1",
    "/register/step1/fields/ticket_number",
    "/register/confirm",
)

# Static files the browser may cache (everything else: Cache-Control: no-store).
CACHEABLE_TYPES = (b"text/css", b"text/javascript", b"application/javascript")

# The largest request body a form may send (the app's default; the documents upload sets its
# own). A whole application form is under 10 kB even in percent-encoded kanji; beyond this
# the 413 page answers before anything is parsed or stored.
FORM_BODY_LIMIT = 64 * 1024


def strict_transport_security(settings: Settings) -> str | None:
    """The HSTS header in production (the app is served through a TLS proxy there); None in
    dev and test, which run plain http on 127.0.0.1."""
    if not settings.app.is_production:
        return None
    return f"max-age={settings.security.hsts_max_age}; includeSubDomains"


def header_writer(settings: Settings) -> Callable[[Message], None]:
    """What the before_send hook does to a response's start message (other messages it leaves
    alone): the same headers on every response; no caching of dynamic pages.

    The headers are encoded once, here, and appended to the response's raw header list in one
    go; one pass over that list finds a header of ours the handler set (replaced, as before),
    Cache-Control and Content-Type. (Litestar's MutableScopeHeaders scanned and re-encoded
    the list once per header.)"""
    fixed = dict(HEADERS)
    hsts = strict_transport_security(settings)
    if hsts:
        fixed["Strict-Transport-Security"] = hsts
    raw = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in fixed.items()
    ]
    ours = frozenset(name for name, _ in raw)
    no_store = (b"cache-control", b"no-store")

    def add_security_headers(message: Message) -> None:
        if message["type"] != "http.response.start":
            return
        headers = message.get("headers")
        if not isinstance(headers, list):
            headers = message["headers"] = list(headers or ())  # type: ignore[typeddict-item]
        replace = cached = False
        content_type = b""
        for name, value in headers:
            name = name.lower()
            if name in ours:
                replace = True
            elif name == b"cache-control":
                cached = True
            elif name == b"content-type":
                content_type = value
        if replace:
            headers[:] = [h for h in headers if h[0].lower() not in ours]
        headers.extend(raw)
        if not cached and not content_type.startswith(CACHEABLE_TYPES):
            headers.append(no_store)

    return add_security_headers


def security_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The headers alone as a before_send hook (the app's own hook, middleware.before_send,
    writes the session its middleware left first)."""
    write = header_writer(settings)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        write(message)

    return add_security_headers


def compression_config() -> CompressionConfig:
    return CompressionConfig(backend="gzip", minimum_size=1024)


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.app.derived_key("csrf").hex(),
        cookie_name="jcan_csrf",
        cookie_secure=settings.cookies_secure,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrftoken",
        # The CA's public documents (CRL, certificates) and the OCSP responder hold no form
        # and are fetched by relying parties and caches: no CSRF cookie on their answers (a
        # Set-Cookie keeps a shared cache from storing the CRL), and no token work per fetch.
        exclude=[r"^/ca/", r"^/ocsp(/|$)", r"^/static/"],
    )


LOADED = "jcan.session_loaded"


class SessionCookies(ClientSideSessionBackend):
    """Litestar's encrypted cookie session, written back only when the handler changed it.

    Litestar encrypts and sets the cookie on every response that has a session; the pages
    that only read it (confirm, complete, step 1 with a draft) paid for that on each view
    (`make bench`). An unchanged session keeps the cookie the browser has, and with it the
    expiry set when it was last written.
    """

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        try:
            data = await super().load_from_connection(connection)
        except (SerializationException, LookupError, TypeError, ValueError):
            # A forged cookie (Litestar reads its clear-text expiry before the signature
            # check and ignores only some of the ways that can fail): no session.
            data = {}
        connection.scope[LOADED] = copy.deepcopy(data)  # type: ignore[literal-required]
        return data

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        loaded = connection.scope.get(LOADED)
        if loaded and scope_session == loaded:
            return
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionCookiesConfig(CookieBackendConfig):
    _backend_class = SessionCookies


def session_config(settings: Settings) -> CookieBackendConfig:
    return SessionCookiesConfig(
        secret=settings.app.derived_key("session"),
        key="jcan_session",
        max_age=60 * 60 * 24 * 3,
        secure=settings.cookies_secure,
        httponly=True,
        samesite="lax",
    )


def client_address(request: Request[Any, Any, Any], trusted_proxy: bool) -> str:
    """The client's address: from X-Forwarded-For only behind our own proxy (TRUSTED_PROXY)."""
    if trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def _client_address(trusted_proxy: bool) -> Any:
    def identify(request: Request[Any, Any, Any]) -> str:
        return client_address(request, trusted_proxy)

    return identify


def is_throttled(path: str, method: str) -> bool:
    """Whether a request counts against the rate limit."""
    if path.startswith(RATE_LIMITED_PREFIXES):
        return True
    return method == "POST" and path in RATE_LIMITED_POSTS


async def _should_throttle(request: Request[Any, Any, Any]) -> bool:
    # async on purpose: Litestar runs a sync check_throttle_handler in a worker thread, a
    # thread hop on every request (measured by `make bench`).
    return is_throttled(request.url.path, request.method)


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", settings.security.rate_limit_per_minute),
        check_throttle_handler=_should_throttle,
        identifier_for_request=_client_address(settings.security.trusted_proxy),
        exclude=["/static"],
    )


class RedisOrMemoryStore(RedisStore):
    """Rate-limit counters in Redis, shared by every replica; while Redis is unreachable, in
    this process's memory. A Redis outage must neither fail registrations (their mail waits
    in the outbox for the relay) nor lift the limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memory = MemoryStore()
        self._redis_down = False

    def _fall_back(self, exc: RedisError) -> None:
        if not self._redis_down:
            log.warning("Redis unavailable (%s); rate limits count in memory", exc)
        self._redis_down = True

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            value = await super().get(key, renew_for)
        except RedisError as exc:
            self._fall_back(exc)
            return await self._memory.get(key, renew_for)
        self._redis_down = False
        return value

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        try:
            await super().set(key, value, expires_in)
        except RedisError as exc:
            self._fall_back(exc)
            await self._memory.set(key, value, expires_in)
