"""Who is signed in to the console, and what they may open: the router's guard and
`requires(permission)` for each handler, answered by a 303 to the sign-in page or a 403 page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.console.permissions import Permission, allowed
from app.console.sessions import COOKIE, SessionRow, load
from app.web.state import services

LOGIN = "/console/login"
_OPERATOR = "console_operator"
_SESSION = "console_session"
_LOADED = "console_loaded"
# A handler marked opt={PUBLIC: True} is open without a console session (sign-in, setup).
PUBLIC = "console_public"

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


class NotSignedIn(Exception):
    """No live, MFA-complete console session: answered with a 303 to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but the role lacks the permission: answered with the 403 page."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


@dataclass(frozen=True)
class CurrentOperator:
    id: int
    email: str
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this operator."""
        return f"operator:{self.id}"

    def may(self, permission: Permission) -> bool:
        return allowed(self.role, permission)


async def _load(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentOperator | None:
    """The signed-in operator of this request, looked up once per request."""
    state = connection.state
    if state.get(_LOADED):
        operator: CurrentOperator | None = state.get(_OPERATOR)
        return operator
    state[_LOADED] = True
    settings = services(connection).settings  # type: ignore[arg-type]
    session = await load(connection.cookies.get(COOKIE), settings)
    state[_SESSION] = session
    if session is None or not session.mfa_done:
        return None
    current = CurrentOperator(session.operator_id, session.email, session.name, session.role)
    state[_OPERATOR] = current
    return current


async def signed_in(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The console router's guard: every route but the public ones needs a session that
    passed both the password and the code."""
    if handler.opt.get(PUBLIC):
        return
    if await _load(connection) is None:
        raise NotSignedIn()


def requires(permission: Permission) -> Guard:
    """A handler guard: signed in (else 303 to sign-in) and the role has `permission` (else
    403). The permission is kept on the guard (`guard.permission`) for the route-table test."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        operator = await _load(connection)
        if operator is None:
            raise NotSignedIn()
        if not operator.may(permission):
            raise Forbidden(permission)

    guard.permission = permission  # type: ignore[attr-defined]
    guard.__name__ = f"requires_{permission.name.lower()}"
    return guard


def current_operator(request: Request[Any, Any, Any]) -> CurrentOperator:
    """The operator the guards let through (only inside guarded handlers)."""
    operator: CurrentOperator | None = request.state.get(_OPERATOR)
    if operator is None:
        raise NotSignedIn()
    return operator


async def session_of(request: Request[Any, Any, Any]) -> SessionRow | None:
    """This request's console session row, MFA done or not (the code step, sign-out)."""
    await _load(request)
    session: SessionRow | None = request.state.get(_SESSION)
    return session
