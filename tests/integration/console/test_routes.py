"""Every console route, every role (and nobody): allowed or refused exactly as the one
permission table says; every console POST refused without its CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from app.console.guards import PUBLIC
from app.console.permissions import PERMISSIONS, Permission, Role
from tests.integration.console.console_helpers import account, csrf, sign_in

SAMPLE_PARAMS = {
    "token": "x" * 43,
    "link_state": "expired",
    "public_id": "01JNOSUCHAPPLICATION00000",  # guards answer before the lookup
    "document_id": "nosuchdocument",
    "number": "1",
    "code": "ISC",
    "event_id": "01JNOSUCHEVENT000000000000",
    "request_number": "R-0000-0000",
}


def console_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path with sample parameters, handler) of every route under /console."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/console"):
            continue
        path = re.sub(
            r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), m.group(0)), route.path
        )
        assert "{" not in path, f"add a sample value for {route.path}"
        for method, handler in route.route_handler_map.items():
            if method in ("HEAD", "OPTIONS"):
                continue
            found.append((method, path, handler[0] if isinstance(handler, tuple) else handler))
    return sorted(found, key=lambda item: (item[1], item[0]))


def required_permission(handler: Any) -> Permission | None:
    """What the handler's guards demand; None for the public ones (sign-in, setup)."""
    if handler.opt.get(PUBLIC):
        return None
    permissions = [g.permission for g in handler.resolve_guards() if hasattr(g, "permission")]
    assert len(permissions) == 1, f"{handler} needs requires(permission) or opt={{PUBLIC: True}}"
    return permissions[0]


async def _call(client: Any, method: str, path: str) -> Any:
    if method == "GET":
        return await client.get(path, follow_redirects=False)
    token = await csrf(client)
    return await client.request(method, path, data={"_csrf_token": token}, follow_redirects=False)


def test_every_console_route_is_public_or_guarded(app: Any) -> None:
    routes = console_routes(app)
    assert len(routes) >= 10
    for _method, _path, handler in routes:
        required_permission(handler)


@pytest.mark.parametrize("role", [None, *Role])
async def test_every_route_with_every_role_follows_the_table(
    client: Any, app: Any, settings: Any, role: Role | None
) -> None:
    if role is not None:
        who = await account(client, settings, role)
        await sign_in(client, who)
    for method, path, handler in console_routes(app):
        if path == "/console/logout":
            continue  # signs out; checked on its own
        permission = required_permission(handler)
        response = await _call(client, method, path)
        where = f"{role} {method} {path}: {response.status_code}"
        assert response.status_code < 500, where
        if permission is None:
            assert response.status_code != 403, where
        elif role is None:
            assert response.status_code == 303, where
            assert response.headers["location"] == "/console/login", where
        elif permission in PERMISSIONS[role]:
            assert response.status_code != 403, where
            assert response.headers.get("location") != "/console/login", where
        else:
            assert response.status_code == 403, where
            assert "この画面を表示する権限がありません" in response.text, where
            assert "ログアウト" in response.text


async def test_the_nav_shows_what_the_role_may_open(client: Any, settings: Any) -> None:
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    assert 'href="/console/operators"' in (await client.get("/console")).text
    client.cookies.clear()
    reviewer = await account(client, settings, Role.REVIEWER)
    await sign_in(client, reviewer)
    assert 'href="/console/operators"' not in (await client.get("/console")).text


async def test_every_console_post_without_its_csrf_token_is_refused(
    client: Any, app: Any, settings: Any
) -> None:
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    posts = [(m, p) for m, p, _h in console_routes(app) if m == "POST"]
    assert ("POST", "/console/login") in posts and ("POST", "/console/logout") in posts
    for method, path in posts:
        response = await client.request(method, path, data={}, follow_redirects=False)
        assert response.status_code == 403, f"{path}: {response.status_code}"
        assert "この画面を表示する権限がありません" not in response.text  # the CSRF page
    # Still signed in: nothing was done.
    assert (await client.get("/console")).status_code == 200
