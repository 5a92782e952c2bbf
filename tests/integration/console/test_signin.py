"""Signing in to the console: password then code, generic refusals, the lockout and its
mail, TOTP codes taken once, recovery codes used once, the per-address limit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.console.accounts import totp
from app.console.accounts.tables import Operator
from app.console.permissions import Role
from app.db import utcnow
from tests.helpers import clear_of_minute_boundary, error_summary_text, text_body, wait_for_mail
from tests.integration.console.console_helpers import (
    account,
    events,
    post_code,
    post_password,
    sign_in,
    time_passes,
)

GENERIC = "メールアドレスまたはパスワードが正しくありません。"


async def test_password_then_code_opens_the_console(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await sign_in(client, who)
    home = await client.get("/console")
    assert home.status_code == 200
    assert "reviewer 太郎" in home.text and "審査担当" in home.text and "ログアウト" in home.text
    [ok] = await events("signin.ok")
    assert ok["actor"] == f"operator:{who.id}" and '"method":"totp"' in ok["details"]
    assert len(await events("signin.password_ok")) == 1


async def test_the_password_alone_grants_nothing(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.ADMIN)
    response = await post_password(client, who.email, who.password)
    assert response.headers["location"] == "/console/mfa"
    for path in ("/console", "/console/operators"):
        page = await client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/console/login"


async def test_wrong_password_and_unknown_address_read_the_same(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    wrong = await post_password(client, who.email, "not the password at all")
    unknown = await post_password(client, "nobody@example.org", who.password)
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert error_summary_text(response.text) == GENERIC
        assert who.password not in response.text
    [first, second] = await events("signin.failed")
    assert first["target"] == f"operator:{who.id}" and first["actor"] == "anonymous"
    assert second["target"] == "email-domain:*@example.org"
    assert who.password not in first["details"] + second["details"]


async def test_five_failures_lock_for_fifteen_minutes_with_a_mail_then_unlock(
    client: Any, settings: Any, smtp_sink: Any
) -> None:
    who = await account(client, settings, Role.APPROVER)
    for _ in range(5):
        response = await post_password(client, who.email, "wrong password number")
        assert response.status_code == 422
    row = await Operator.select().where(Operator.id == who.id).first()
    assert row["locked_until"] is not None
    remaining = row["locked_until"] - utcnow()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    # Locked: even the right password reads as the generic refusal.
    locked = await post_password(client, who.email, who.password)
    assert locked.status_code == 422 and error_summary_text(locked.text) == GENERIC
    [mail] = await wait_for_mail(smtp_sink, who.email)
    assert "ロック" in mail["Subject"] and "15分間" in text_body(mail)
    [lock] = await events("operator.locked")
    assert lock["target"] == f"operator:{who.id}"
    assert '"reason":"locked"' in (await events("signin.failed"))[-1]["details"]
    # Fifteen minutes later (the lock's end moved into the past) the operator signs in.
    await Operator.update({Operator.locked_until: utcnow() - timedelta(seconds=1)}).where(
        Operator.id == who.id
    )
    await sign_in(client, who)


async def test_wrong_codes_count_towards_the_lock(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.AUDITOR)
    assert (await post_password(client, who.email, who.password)).status_code == 303
    for _ in range(5):
        response = await post_code(client, "000000")
        assert response.status_code in (422, 303)
    row = await Operator.select().where(Operator.id == who.id).first()
    assert row["locked_until"] is not None
    # The half-signed-in session ended with the lock.
    assert (await client.get("/console/mfa", follow_redirects=False)).headers[
        "location"
    ] == "/console/login"


async def test_a_totp_code_is_accepted_once(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    code = totp.code_at(who.secret, utcnow(), offset=1)
    await sign_in(client, who, code)
    await client.post("/console/logout", data={"_csrf_token": client.cookies.get("jcan_csrf")})
    client.cookies.delete("jcan_console")
    assert (await post_password(client, who.email, who.password)).status_code == 303
    replay = await post_code(client, code)
    assert replay.status_code == 422
    assert "確認コードが正しくありません" in error_summary_text(replay.text)
    # An older step than the one taken is refused as well (±1 step, never backwards).
    earlier = await post_code(client, totp.code_at(who.secret, utcnow(), offset=-1))
    assert earlier.status_code == 422
    assert '"reason":"replayed_code"' in (await events("signin.failed"))[0]["details"]


async def test_codes_outside_one_step_are_refused(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    await time_passes(who.id)
    assert (await post_password(client, who.email, who.password)).status_code == 303
    for offset in (-3, 3):
        far = await post_code(client, totp.code_at(who.secret, utcnow(), offset=offset))
        assert far.status_code == 422


async def test_a_recovery_code_works_once(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    code = who.codes[3]
    await sign_in(client, who, code.lower().replace("-", " "))
    [used] = await events("operator.recovery_code_used")
    assert used["target"] == f"operator:{who.id}" and '"remaining":9' in used["details"]
    assert code not in used["details"]
    client.cookies.delete("jcan_console")
    assert (await post_password(client, who.email, who.password)).status_code == 303
    again = await post_code(client, code)
    assert again.status_code == 422
    await sign_in(client, who, who.codes[4])


async def test_sign_in_attempts_are_limited_per_address(
    client: Any, settings: Any, variant: Any
) -> None:
    """Per client address and per email address (counters shared through Redis when it is
    configured: this test's address and client are its own)."""
    import httpx

    from app.asgi import create_app

    run = uuid.uuid4().hex[:8]
    who = await account(client, settings, Role.REVIEWER, email=f"limited-{run}@example.jp")
    limited = create_app(variant(console={"login_per_minute": 3, "lockout_attempts": 50}))

    def from_address(host: str) -> Any:
        transport = httpx.ASGITransport(app=limited, client=(host, 50001))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

    first, second = (
        f"10.{int(run[:2], 16)}.{int(run[2:4], 16)}.1",
        f"10.{int(run[:2], 16)}.{int(run[2:4], 16)}.2",
    )
    await clear_of_minute_boundary()  # the counters live in fixed one-minute windows
    async with from_address(first) as c:
        statuses = [
            (await post_password(c, f"x{n}-{run}@example.jp", "wrong pass")).status_code
            for n in range(4)
        ]
        assert statuses == [422, 422, 422, 429]  # one client address, four addresses
    async with from_address(second) as c:
        for _ in range(3):
            assert (await post_password(c, who.email, "wrong pass")).status_code == 422
        # One email address from another client: the 4th attempt, even with the right password.
        response = await post_password(c, who.email, who.password)
        assert response.status_code == 429
        assert "1分ほど待って" in error_summary_text(response.text)


async def test_the_totp_secret_is_stored_sealed(client: Any, settings: Any) -> None:
    who = await account(client, settings, Role.REVIEWER)
    row = await Operator.select(Operator.totp_secret).where(Operator.id == who.id).first()
    assert row is not None and row["totp_secret"]
    assert who.secret not in row["totp_secret"]
    assert (
        totp.unseal(row["totp_secret"], settings.app.derived_key("totp-secrets"), who.id)
        == who.secret
    )
