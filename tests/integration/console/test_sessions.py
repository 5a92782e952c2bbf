"""Console sessions: their own cookie, ids rotated at each step, idle and absolute timeouts,
sign-out, and no crossing between the applicant's session and the console's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.console.accounts.tables import ConsoleSession, Operator
from app.console.permissions import Role
from app.console.sessions import hash_id
from app.db import utcnow
from tests.helpers import open_application
from tests.integration.console.console_helpers import (
    account,
    csrf,
    events,
    post_code,
    post_password,
    sign_in,
)


def _cookie(response: Any) -> str:
    header = response.headers["set-cookie"]
    assert "jcan_console=" in header
    return header.split("jcan_console=", 1)[1].split(";", 1)[0]


async def test_the_cookie_is_its_own_strict_httponly_and_scoped_to_the_console(
    client: Any, settings: Any
) -> None:
    who = await account(client, settings, Role.REVIEWER)
    response = await post_password(client, who.email, who.password)
    header = response.headers["set-cookie"].lower()
    assert "jcan_console=" in header and "path=/console" in header
    assert "samesite=strict" in header and "httponly" in header
    assert "secure" not in header  # APP_ENV=test serves plain http; Secure elsewhere


async def test_the_id_changes_at_the_password_and_again_at_the_code(
    client: Any, settings: Any
) -> None:
    who = await account(client, settings, Role.REVIEWER)
    client.cookies.set(
        "jcan_console", "chosen-by-an-attacker", path="/console", domain="testserver.local"
    )
    after_password = _cookie(await post_password(client, who.email, who.password))
    assert after_password != "chosen-by-an-attacker"
    from app.console.accounts import totp

    response = await post_code(client, totp.code_at(who.secret, utcnow(), offset=1))
    after_code = _cookie(response)
    assert after_code != after_password
    ids = {r["id_hash"] for r in await ConsoleSession.select(ConsoleSession.id_hash)}
    assert ids == {hash_id(after_code)}  # the half-signed-in id is gone
    client.cookies.set("jcan_console", after_password, path="/console", domain="testserver.local")
    stale = await client.get("/console", follow_redirects=False)
    assert stale.headers["location"] == "/console/login"


async def test_idle_for_fifteen_minutes_ends_the_session(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)
    await ConsoleSession.update(
        {ConsoleSession.last_seen_at: utcnow() - timedelta(minutes=14)}
    ).where(ConsoleSession.operator == who.id)
    assert (await client.get("/console")).status_code == 200  # 14 minutes: still live
    await ConsoleSession.update(
        {ConsoleSession.last_seen_at: utcnow() - timedelta(minutes=15, seconds=1)}
    ).where(ConsoleSession.operator == who.id)
    response = await client.get("/console", follow_redirects=False)
    assert response.headers["location"] == "/console/login"
    assert await ConsoleSession.count() == 0
    [expired] = await events("session.expired")
    assert '"reason":"idle"' in expired["details"]


async def test_last_seen_is_written_at_most_every_thirty_seconds(
    client: Any, settings: Any
) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)

    async def seen_at(ago: timedelta) -> Any:
        await ConsoleSession.update({ConsoleSession.last_seen_at: utcnow() - ago}).where(
            ConsoleSession.operator == who.id
        )
        before = await ConsoleSession.select(ConsoleSession.last_seen_at).first()
        assert (await client.get("/console")).status_code == 200
        after = await ConsoleSession.select(ConsoleSession.last_seen_at).first()
        assert before is not None and after is not None
        return before["last_seen_at"], after["last_seen_at"]

    before, after = await seen_at(timedelta(seconds=20))
    assert after == before  # a view 20 s after the last write writes nothing
    before, after = await seen_at(timedelta(seconds=31))
    assert after > before and utcnow() - after < timedelta(seconds=5)


async def test_a_disabled_operators_surviving_session_opens_nothing(
    client: Any, settings: Any
) -> None:
    """Disabling ends the sessions; were one left (written back, restored), the operator's
    disabled_at, read with the session, still refuses it."""
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)
    assert (await client.get("/console")).status_code == 200
    await Operator.update({Operator.disabled_at: utcnow()}).where(Operator.id == who.id)
    response = await client.get("/console/applications", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


async def test_the_operators_name_and_role_are_read_with_the_session_on_each_request(
    client: Any, settings: Any
) -> None:
    who = await account(client, settings, Role.ADMIN)
    await sign_in(client, who)
    assert (await client.get("/console/operators")).status_code == 200
    await Operator.update({Operator.name: "改名 花子", Operator.role: Role.REVIEWER.value}).where(
        Operator.id == who.id
    )
    page = await client.get("/console/applications")
    assert page.status_code == 200 and "改名 花子" in page.text
    assert (await client.get("/console/operators")).status_code == 403


async def test_eight_hours_after_sign_in_the_session_ends_however_busy(
    client: Any, settings: Any
) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)
    await ConsoleSession.update(
        {ConsoleSession.created_at: utcnow() - timedelta(hours=8, seconds=1)}
    ).where(ConsoleSession.operator == who.id)
    response = await client.get("/console", follow_redirects=False)
    assert response.headers["location"] == "/console/login"
    [expired] = await events("session.expired")
    assert '"reason":"absolute"' in expired["details"]


async def test_timeouts_follow_the_settings(client: Any, settings: Any, variant: Any) -> None:
    from app.console.sessions import expired

    now = utcnow()
    short = variant(console={"idle_minutes": 1, "absolute_hours": 1}).console
    row = {"created_at": now - timedelta(minutes=30), "last_seen_at": now - timedelta(seconds=61)}
    assert expired(row, short, now) == "idle"
    assert expired(row, settings.console, now) is None


async def test_sign_out_ends_the_session(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)
    raw = client.cookies.get("jcan_console")
    response = await client.post(
        "/console/logout", data={"_csrf_token": await csrf(client)}, follow_redirects=False
    )
    assert response.headers["location"] == "/console/login"
    assert 'jcan_console="";' in response.headers["set-cookie"] or "max-age=0" in (
        response.headers["set-cookie"].lower()
    )
    assert await ConsoleSession.count() == 0
    client.cookies.set("jcan_console", raw, path="/console", domain="testserver.local")
    assert (await client.get("/console", follow_redirects=False)).status_code == 303
    [out] = await events("signout")
    assert out["actor"] == f"operator:{who.id}"


async def test_the_applicant_session_never_opens_the_console(
    client: Any, settings: Any, smtp_sink: Any
) -> None:
    await open_application(client, smtp_sink)
    applicant = client.cookies.get("jcan_session")
    assert applicant
    # The applicant's cookie, planted under the console's name and path, is no session.
    client.cookies.set("jcan_console", applicant, path="/console", domain="testserver.local")
    response = await client.get("/console", follow_redirects=False)
    assert response.headers["location"] == "/console/login"


async def test_a_console_session_never_opens_an_application(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.ADMIN)
    await sign_in(client, who)
    raw = client.cookies.get("jcan_console")
    client.cookies.clear()
    # Planted as the applicant's session cookie, on every path: still no application.
    client.cookies.set("jcan_session", raw, domain="testserver.local")
    client.cookies.set("jcan_console", raw, domain="testserver.local")
    response = await client.get("/apply", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/apply/link/")
