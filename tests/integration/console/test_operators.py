"""Operators: `jcan operators …`, the setup link and its rules, the admin's operators page
(invite by mail, disable, reset MFA), and the audit rows each change leaves."""

from __future__ import annotations

import re
from typing import Any

from app.console.accounts.tables import ConsoleSession, Operator, RecoveryCode
from app.console.permissions import Role
from tests.helpers import CSRF, error_of, text_body, wait_for_mail
from tests.integration.console.console_helpers import (
    account,
    csrf,
    events,
    path_of,
    post_password,
    setup_over_http,
    sign_in,
)
from tests.support.cli import jcan

SETUP_URL = re.compile(r"https?://[^/\s]+(/console/setup/t/[A-Za-z0-9_-]+)")


async def test_cli_adds_lists_resets_and_disables_operators(client: Any, settings: Any) -> None:
    added = jcan("operators", "add", "First.Admin@Example.jp", "最初 の管理者", "--role", "admin")
    assert added.returncode == 0, added.stderr
    path = SETUP_URL.search(added.stdout).group(1)
    assert "first.admin@example.jp: admin created" in added.stdout
    listed = jcan("operators", "list")
    assert "first.admin@example.jp\tadmin\tpending-setup" in listed.stdout
    again = jcan("operators", "add", "first.admin@example.jp", "x", "--role", "admin")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad_role = jcan("operators", "add", "x@example.jp", "x", "--role", "root")
    assert bad_role.returncode == 2
    secret, _codes = await setup_over_http(client, "http://testserver.local" + path)
    assert "\tactive\t" in jcan("operators", "list").stdout
    reset = jcan("operators", "reset-mfa", "first.admin@example.jp")
    assert reset.returncode == 0, reset.stderr
    row = await Operator.select().where(Operator.email == "first.admin@example.jp").first()
    assert row["enrolled_at"] is None and row["totp_secret"] == "" and row["password_hash"] == ""
    assert await RecoveryCode.count() == 0
    # The earlier link is used; the new one sets the operator up again.
    assert (await client.get(path, follow_redirects=False)).headers["location"].endswith("/used")
    await setup_over_http(
        client, "http://testserver.local" + SETUP_URL.search(reset.stdout).group(1)
    )
    disabled = jcan("operators", "disable", "first.admin@example.jp")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    assert "\tdisabled\t" in jcan("operators", "list").stdout
    assert jcan("operators", "disable", "nobody@example.jp").returncode == 1
    actions = [e["action"] for e in await events_all()]
    assert actions.count("operator.created") == 1
    assert actions.count("operator.setup_link_issued") == 2
    assert actions.count("operator.mfa_enrolled") == 2
    assert "operator.mfa_reset" in actions and "operator.disabled" in actions
    assert all(e["actor"] == "cli" for e in await events("operator.created"))
    assert secret not in "".join(e["details"] for e in await events_all())


async def events_all() -> list[dict[str, Any]]:
    from app.console.audit.tables import AuditEvent

    return [dict(r) for r in await AuditEvent.select().order_by(AuditEvent.seq)]


async def test_the_setup_password_rules(client: Any, settings: Any) -> None:
    from app.console.accounts import operators

    link = await operators.create(
        "rules@example.jp", "規則", Role.REVIEWER, actor="cli", settings=settings
    )
    await client.get(path_of(link.url))
    token = CSRF.search((await client.get("/console/setup")).text).group(1)
    cases = {
        "short-pass1": "12文字以上",
        "rules@example.jp": "メールアドレスとは異なる",
        "qwerty123456": "よく使われている",
        "password2024!": "よく使われている",
    }
    for password, message in cases.items():
        data = {"_csrf_token": token, "password": password, "password_confirm": password}
        response = await client.post("/console/setup/password", data=data)
        assert response.status_code == 422, password
        assert message in error_of(response.text, "password"), password
        assert password not in response.text.split("<main", 1)[1] or password == "rules@example.jp"
    data = {"_csrf_token": token, "password": "a long enough one", "password_confirm": "other"}
    response = await client.post("/console/setup/password", data=data)
    assert "同じパスワード" in error_of(response.text, "password-confirm")
    row = await Operator.select().where(Operator.id == link.operator_id).first()
    assert row["password_hash"] == ""


async def test_setup_page_shows_a_qr_code_and_the_secret_and_refuses_a_wrong_code(
    client: Any, settings: Any
) -> None:
    from app.console.accounts import operators

    link = await operators.create(
        "qr@example.jp", "QR", Role.REVIEWER, actor="cli", settings=settings
    )
    await client.get(path_of(link.url))
    token = CSRF.search((await client.get("/console/setup")).text).group(1)
    password = "a long enough one"
    data = {"_csrf_token": token, "password": password, "password_confirm": password}
    await client.post("/console/setup/password", data=data)
    page = await client.get("/console/setup")
    # The QR code is drawn on the server (an SVG data: URI); the secret is there as text.
    assert 'src="data:image/svg+xml' in page.text and 'id="totp-secret"' in page.text
    wrong = await client.post("/console/setup/totp", data={"_csrf_token": token, "code": "12"})
    assert wrong.status_code == 422 and error_of(wrong.text, "code")
    row = await Operator.select().where(Operator.id == link.operator_id).first()
    assert row["enrolled_at"] is None
    assert row["password_hash"].startswith("$argon2id$")


async def test_setup_link_states(client: Any, settings: Any) -> None:
    bad = await client.get("/console/setup/t/" + "x" * 43, follow_redirects=False)
    assert bad.headers["location"] == "/console/setup/link/invalid"
    page = await client.get("/console/setup/link/invalid")
    assert "設定用URLが正しくありません" in page.text
    without = await client.get("/console/setup", follow_redirects=False)
    assert without.headers["location"] == "/console/setup/link/invalid"


async def test_admin_invites_by_mail_and_the_link_is_shown_once(
    client: Any, settings: Any, smtp_sink: Any
) -> None:
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf(client, "/console/operators")
    data = {
        "_csrf_token": token,
        "email": "New.Reviewer@example.jp",
        "name": "新人 審査",
        "role": "reviewer",
    }
    response = await client.post("/console/operators", data=data)
    assert response.status_code == 200
    shown = re.search(r'<p class="setup-link">([^<]+)</p>', response.text).group(1)
    [mail] = await wait_for_mail(smtp_sink, "new.reviewer@example.jp")
    assert shown in text_body(mail)
    listing = await client.get("/console/operators")
    assert "new.reviewer@example.jp" in listing.text and shown not in listing.text
    duplicate = await client.post("/console/operators", data=data)
    assert duplicate.status_code == 422 and "既に登録" in error_of(duplicate.text, "email")
    invalid = await client.post(
        "/console/operators", data={"_csrf_token": token, "email": "nope", "name": "", "role": "x"}
    )
    assert invalid.status_code == 422
    assert (
        error_of(invalid.text, "email")
        and error_of(invalid.text, "name")
        and error_of(invalid.text, "role")
    )
    [created] = [e for e in await events("operator.created") if e["actor"] == admin.actor]
    assert '"role":"reviewer"' in created["details"]


async def test_admin_disables_an_operator_whose_sessions_end_at_once(
    client: Any, settings: Any
) -> None:
    reviewer = await account(client, settings, Role.REVIEWER)
    await sign_in(client, reviewer)
    reviewer_cookie = client.cookies.get("jcan_console")
    client.cookies.clear()
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf(client, "/console/operators")
    response = await client.post(
        "/console/operators/disable",
        data={"_csrf_token": token, "operator": str(reviewer.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await ConsoleSession.count().where(ConsoleSession.operator == reviewer.id) == 0
    # The admin cannot disable itself.
    await client.post(
        "/console/operators/disable", data={"_csrf_token": token, "operator": str(admin.id)}
    )
    assert (await client.get("/console")).status_code == 200
    [disabled] = await events("operator.disabled")
    assert (
        disabled["target"] == f"operator:{reviewer.id}"
        and disabled["actor"] == f"operator:{admin.id}"
    )
    client.cookies.set("jcan_console", reviewer_cookie, path="/console", domain="testserver.local")
    assert (await client.get("/console", follow_redirects=False)).status_code == 303
    refused = await post_password(client, reviewer.email, reviewer.password)
    assert refused.status_code == 422


async def test_admin_resets_an_operators_mfa(client: Any, settings: Any, smtp_sink: Any) -> None:
    reviewer = await account(client, settings, Role.REVIEWER)
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf(client, "/console/operators")
    response = await client.post(
        "/console/operators/reset-mfa", data={"_csrf_token": token, "operator": str(reviewer.id)}
    )
    assert response.status_code == 200 and "設定用URLを発行しました" in response.text
    [mail] = await wait_for_mail(smtp_sink, reviewer.email)
    assert "/console/setup/t/" in text_body(mail)
    row = await Operator.select().where(Operator.id == reviewer.id).first()
    assert row["enrolled_at"] is None
    [reset] = await events("operator.mfa_reset")
    assert reset["actor"] == f"operator:{admin.id}"


async def test_admin_changes_a_role_and_the_operators_sessions_end(
    client: Any, settings: Any
) -> None:
    reviewer = await account(client, settings, Role.REVIEWER)
    await sign_in(client, reviewer)
    client.cookies.clear()
    admin = await account(client, settings, Role.ADMIN)
    await sign_in(client, admin)
    token = await csrf(client, "/console/operators")
    data = {"_csrf_token": token, "operator": str(reviewer.id), "role": "approver"}
    response = await client.post("/console/operators/role", data=data, follow_redirects=False)
    assert response.status_code == 303
    row = await Operator.select().where(Operator.id == reviewer.id).first()
    assert row["role"] == "approver"
    assert await ConsoleSession.count().where(ConsoleSession.operator == reviewer.id) == 0
    [changed] = await events("operator.changed")
    assert changed["actor"] == admin.actor and '"to":"approver"' in changed["details"]
    bad = {"_csrf_token": token, "operator": str(reviewer.id), "role": "root"}
    assert (await client.post("/console/operators/role", data=bad)).status_code == 303
    assert len(await events("operator.changed")) == 1
