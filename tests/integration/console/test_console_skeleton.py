"""The console's front door: its own router, its own cookie, the guards."""

from __future__ import annotations

from typing import Any


async def test_console_without_a_session_sends_to_sign_in(client: Any) -> None:
    response = await client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


async def test_an_unknown_console_cookie_is_no_session(client: Any) -> None:
    client.cookies.set("jcan_console", "made-up", path="/console")
    response = await client.get("/console", follow_redirects=False)
    assert response.status_code == 303
