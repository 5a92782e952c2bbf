"""Helpers of the console tests: operators made through the real services, the setup page
and the sign-in walked over HTTP, TOTP codes computed from the secret like an authenticator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.console.accounts import operators, totp
from app.console.accounts.tables import Operator
from app.console.audit.tables import AuditEvent
from app.console.permissions import Role
from app.db import utcnow
from tests.helpers import CSRF

PASSWORD = "correct horse battery staple 7"
SECRET = re.compile(r'<p class="totp-secret" id="totp-secret">([A-Z2-7 ]+)</p>')
CODES = re.compile(r"<li>([0-9A-Z]{5}-[0-9A-Z]{5})</li>")


@dataclass
class Account:
    id: int
    email: str
    password: str
    secret: str
    codes: list[str]

    @property
    def actor(self) -> str:
        return f"operator:{self.id}"


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver.local")


async def csrf(client: Any, path: str = "/console/login") -> str:
    """The CSRF token from a page (any page carrying a form will do)."""
    for where in (path, "/console", "/"):
        match = CSRF.search((await client.get(where)).text)
        if match:
            return str(match.group(1))
    raise AssertionError("no page with a CSRF token")


async def setup_over_http(client: Any, url: str, password: str = PASSWORD) -> tuple[str, list[str]]:
    """Walk the setup link: password, authenticator, code; (secret, recovery codes)."""
    opened = await client.get(path_of(url), follow_redirects=False)
    assert opened.headers["location"] == "/console/setup", opened.headers["location"]
    page = await client.get("/console/setup")
    token = CSRF.search(page.text).group(1)
    data = {"_csrf_token": token, "password": password, "password_confirm": password}
    response = await client.post("/console/setup/password", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    page = await client.get("/console/setup")
    secret = SECRET.search(page.text).group(1).replace(" ", "")
    code = totp.code_at(secret, utcnow())
    data = {"_csrf_token": token, "code": code}
    response = await client.post("/console/setup/totp", data=data, follow_redirects=False)
    assert response.status_code == 200, response.text[:2000]
    codes = CODES.findall(response.text)
    assert len(codes) == 10
    return secret, codes


async def account(client: Any, settings: Any, role: Role, email: str | None = None) -> Account:
    """A new operator of `role`, set up through its setup link."""
    email = email or f"{role.value}@example.jp"
    link = await operators.create(email, f"{role.value} 太郎", role, actor="cli", settings=settings)
    secret, codes = await setup_over_http(client, link.url)
    return Account(link.operator_id, email, PASSWORD, secret, codes)


async def time_passes(operator_id: int) -> None:
    """As if the authenticator's last accepted step were long ago (a later sign-in's code)."""
    await Operator.update({Operator.totp_last_step: 0}).where(Operator.id == operator_id)


async def post_password(client: Any, email: str, password: str) -> Any:
    data = {"_csrf_token": await csrf(client), "email": email, "password": password}
    return await client.post("/console/login", data=data, follow_redirects=False)


async def post_code(client: Any, code: str) -> Any:
    data = {"_csrf_token": await csrf(client, "/console/mfa"), "code": code}
    return await client.post("/console/mfa", data=data, follow_redirects=False)


async def sign_in(client: Any, who: Account, code: str | None = None) -> Any:
    """Password then code (the next step's TOTP by default: setup used the current one)."""
    response = await post_password(client, who.email, who.password)
    assert response.status_code == 303 and response.headers["location"] == "/console/mfa"
    code = code or totp.code_at(who.secret, utcnow(), offset=1)
    response = await post_code(client, code)
    assert response.status_code == 303 and response.headers["location"] == "/console", (
        response.text[:1000]
    )
    return response


async def events(action: str) -> list[dict[str, Any]]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return [dict(r) for r in rows]
