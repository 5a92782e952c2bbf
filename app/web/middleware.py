"""The portal's middleware stack in one layer, with a fast path for the requests it leaves alone.

Litestar's session, rate-limit, compression and CSRF middleware each build a Request, parse
headers or cookies and wrap `send` on every request. `PortalMiddleware` reads the raw scope
once (one pass over the header list), checks the URL, and then runs only the layers that
have something to do, each as Litestar ships it, nested in Litestar's order (session, rate
limit, compression, CSRF): the session's when a session cookie came; the rate limiter on a
throttled route; compression for a client accepting gzip; Litestar's CSRF check for a
missing CSRF cookie, a form body without a header token, and an unsafe method whose header
token does not match the cookie. What it does itself is what those layers would have done
for the request they skip: an empty session (written by `before_send` only if the handler
put something in it), the page's token for a safe request with the cookie, and Litestar's own
token test for an unsafe one with a header token, whose verdict is kept for a genuine token
sent as both cookie and header (docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from hmac import compare_digest
from typing import Any

from litestar._parsers import parse_cookie_string
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.settings import Settings
from app.web import inputs, security

_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
# Which of Litestar's layers a request needs, as bits (the key of the chain built for it).
_SESSION, _THROTTLED, _GZIP, _CSRF = 1, 2, 4, 8
# Paths of one route handler whose CSRF exclusion is kept (a route with a path parameter has
# many; beyond this they are decided each time).
_PATHS_KEPT = 256
# CSRF tokens Litestar's test has found genuine (its HMAC), kept so that a browser's next
# htmx request with the same cookie and header is not hashed twice again; bounded, and
# emptied when full. Only a token that came as both cookie and header is kept or trusted.
_TOKENS_KEPT = 1024
# Set on a request whose session the middleware made (no session cookie came): before_send
# writes it if the handler put something in it.
_FAST_SESSION = "jcan.session_made"


class PortalMiddleware:
    """Session, rate limit, compression and CSRF, each only for the requests that need it,
    behind the URL check (the outermost: nothing asks for the URL of a malformed one)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        session = security.session_config(settings)
        self.backend = session._backend_class(session)
        self.session_key = self.backend.config.key.encode()
        self.rate_limit = security.rate_limit_config(settings)
        self.compression = security.compression_config()
        self.csrf = CSRFMiddleware(app, security.csrf_config(settings))
        self.csrf_cookie = self.csrf.config.cookie_name
        self.safe_methods = self.csrf.config.safe_methods
        self.csrf_header = self.csrf.config.header_name.lower().encode("latin-1")
        self._chains: dict[int, ASGIApp] = {0: app, _CSRF: self.csrf}
        self._csrf_paths: dict[str, bool] = {}
        self._genuine_tokens: set[str] = set()

    def _csrf_passes(
        self,
        scope: Scope,
        state: ScopeState,
        method: str,
        cookie: bytes | None,
        content_type: bytes | None,
        header_token: bytes | None,
    ) -> bool:
        """Whether Litestar's CSRF check would let this request through without reading the
        body, decided as it decides (its token test, its excluded paths): a safe method with
        the CSRF cookie and no form body (the page's token is the cookie), or an unsafe one
        whose header token matches the cookie (htmx sends it so). Everything else, every
        refusal above all, goes to Litestar's check."""
        safe = method in self.safe_methods
        form = content_type is not None and content_type.startswith(_FORM_TYPES)
        if form and (safe or not header_token):
            return False  # Litestar reads the form (its token, or strict decoding)
        # The cookies parsed and kept as ASGIConnection.cookies does (the first Cookie
        # header, Litestar's parser), without building the connection's Headers.
        state.cookies = parse_cookie_string(cookie.decode("latin-1")) if cookie else {}
        cookie_token = state.cookies.get(self.csrf_cookie)
        if cookie_token and not cookie_token.isascii():
            # Never a token of ours (they are hex), and Litestar's test would raise on it
            # (compare_digest refuses non-ASCII str): no cookie, as far as CSRF goes.
            del state.cookies[self.csrf_cookie]
            return False
        if not cookie_token:
            return False
        if not self._csrf_applies(scope):
            return True
        if safe:
            state.csrf_token = cookie_token  # what Litestar's check leaves for a safe method
            return True
        token = header_token.decode("latin-1") if header_token else ""
        if not token:
            return False
        if not token.isascii():  # as above; Litestar's test would raise on it
            raise PermissionDeniedException("CSRF token verification failed")
        # As bytes: compare_digest refuses str with non-ASCII characters, and a cookie may
        # hold any (the fuzz test sends one).
        same = compare_digest(
            token.encode("utf-8", "surrogatepass"), cookie_token.encode("utf-8", "surrogatepass")
        )
        if not (same and token in self._genuine_tokens):
            if not self.csrf._csrf_tokens_match(token, cookie_token):
                return False
            if same:
                if len(self._genuine_tokens) >= _TOKENS_KEPT:
                    self._genuine_tokens.clear()
                self._genuine_tokens.add(token)
        state.csrf_token = token
        return True

    def _csrf_applies(self, scope: Scope) -> bool:
        """Litestar's bypass test of the CSRF layer (its excluded paths, the handler's opt),
        kept per path: this instance serves one route handler, so the path decides."""
        path = scope["path"]
        applies = self._csrf_paths.get(path)
        if applies is None:
            applies = not should_bypass_middleware(
                scope=scope,
                scopes=self.csrf.scopes,
                exclude_opt_key=self.csrf.config.exclude_from_csrf_key,
                exclude_path_pattern=self.csrf.exclude,
            )
            if len(self._csrf_paths) < _PATHS_KEPT:
                self._csrf_paths[path] = applies
        return applies

    def chain(self, layers: int) -> ASGIApp:
        """Litestar's own middleware for `layers`, innermost first, built once per set."""
        built = self._chains.get(layers)
        if built is None:
            built = self.csrf if layers & _CSRF else self.app
            if layers & _GZIP:
                built = CompressionMiddleware(built, self.compression)
            if layers & _THROTTLED:
                built = RateLimitMiddleware(built, self.rate_limit)
            if layers & _SESSION:
                built = SessionMiddleware(built, self.backend)
            self._chains[layers] = built
        return built

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.chain(_SESSION)(scope, receive, send)
            return
        host = cookie = content_type = header_token = None  # the first header of each name
        layers = 0
        for name, value in scope["headers"]:
            if name == b"cookie":
                if cookie is None:
                    cookie = value
                if self.session_key in value:  # a substring test: never a false no
                    layers |= _SESSION
            elif name == b"host":
                if host is None:
                    host = value
            elif name == b"content-type":
                if content_type is None:
                    content_type = value
            elif name == b"accept-encoding" and b"gzip" in value:
                layers |= _GZIP
            elif name == self.csrf_header and header_token is None:
                header_token = value
        inputs.check_url(scope, host or b"")
        method = str(scope.get("method", ""))
        if security.is_throttled(scope["path"], method):
            layers |= _THROTTLED
        state = ScopeState.from_scope(scope)
        if not self._csrf_passes(scope, state, method, cookie, content_type, header_token):
            layers |= _CSRF
        inner = self.chain(layers)
        if layers & _SESSION:
            await inner(scope, receive, send)
            return
        # No session cookie: nothing to load or clear. An empty session, written by the app's
        # before_send hook only if the handler put something in it.
        scope["session"] = {}
        scope[security.LOADED] = {}  # type: ignore[literal-required]
        scope[_FAST_SESSION] = True  # type: ignore[literal-required]
        state.session_id = None
        await inner(scope, receive, send)


def before_send(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The app's before_send hook, on every response (error pages and unknown paths too): the
    session a request without a session cookie left, if the handler put something in it
    (PortalMiddleware), then the security headers (security.header_writer). One hook, no
    send wrapper per request."""
    write_headers = security.header_writer(settings)
    session = security.session_config(settings)
    backend = session._backend_class(session)

    async def portal_before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        if scope.get(_FAST_SESSION) and scope.get("session"):
            connection = ASGIConnection[Any, Any, Any, Any](scope)
            await backend.store_in_message(scope["session"], message, connection)
        write_headers(message)

    return portal_before_send


def stack(settings: Settings) -> list[DefineMiddleware]:
    """The app's middleware list (app/asgi.py)."""
    return [DefineMiddleware(PortalMiddleware, settings=settings)]
