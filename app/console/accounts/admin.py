"""Routes of the operators page (管理者): the list, the invitation (setup link mailed and
shown once), disabling an operator, resetting an operator's MFA."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.response import Response

from app.console.accounts import operators
from app.console.accounts.controller import client_of
from app.console.accounts.form import check_invitation, parse_role, role_options
from app.console.guards import current_operator, requires
from app.console.permissions import Permission, role_label
from app.console.web import page
from app.db import utcnow
from app.i18n import _
from app.web.render import INVALID, see_other
from app.web.state import form_values, services
from app.web.types import Req

TEMPLATE = "console/operators.html.jinja2"
MANAGE = [requires(Permission.MANAGE_OPERATORS)]


async def _list_page(request: Req, *, status: int = 200, **context: Any) -> Response[Any]:
    rows = await operators.listing()
    full = {
        "operators": rows,
        "role_label": role_label,
        "roles": role_options(),
        "now": utcnow(),
        "issued": None,
        "values": {},
        "errors": {},
        **context,
    }
    return page(request, TEMPLATE, full, operator=current_operator(request), status=status)


async def _mail_link(request: Req, link: operators.SetupLink, email: str, name: str) -> None:
    async with services(request).outbox.transaction() as letters:
        await letters.add(
            "console_setup_link",
            email,
            {"name": name, "link": link.url, "expires_at": link.expires_at},
        )


async def _target(request: Req) -> dict[str, Any] | None:
    """The operator a disable / reset form names (by id), never the signed-in one."""
    raw = (await form_values(request)).get("operator", "")
    if not raw.isdigit() or int(raw) == current_operator(request).id:
        return None
    return await operators.by_id(int(raw))


class OperatorsController(Controller):
    path = "/operators"
    guards = MANAGE

    @get("")
    async def index(self, request: Req) -> Response[Any]:
        return await _list_page(request)

    @post("")
    async def invite(self, request: Req) -> Response[Any]:
        values = await form_values(request)
        invitation, errors = check_invitation(values)
        if invitation is None:
            return await _list_page(request, status=INVALID, values=values, errors=errors)
        me = current_operator(request)
        try:
            link = await operators.create(
                invitation.email,
                invitation.name,
                invitation.role,
                actor=me.actor,
                settings=services(request).settings,
                client=client_of(request),
            )
        except operators.OperatorExists:
            errors = {"email": _("このメールアドレスのオペレーターは既に登録されています")}
            return await _list_page(request, status=INVALID, values=values, errors=errors)
        await _mail_link(request, link, invitation.email, invitation.name)
        return await _list_page(request, issued={"email": invitation.email, "url": link.url})

    @post("/disable")
    async def disable(self, request: Req) -> Response[Any]:
        target = await _target(request)
        if target is not None:
            me = current_operator(request)
            await operators.disable(target["id"], actor=me.actor, client=client_of(request))
        return see_other("/console/operators")

    @post("/role")
    async def change_role(self, request: Req) -> Response[Any]:
        target = await _target(request)
        role = parse_role((await form_values(request)).get("role", ""))
        if target is not None and role is not None:
            me = current_operator(request)
            await operators.change_role(
                target["id"], role, actor=me.actor, client=client_of(request)
            )
        return see_other("/console/operators")

    @post("/reset-mfa")
    async def reset_mfa(self, request: Req) -> Response[Any]:
        target = await _target(request)
        if target is None:
            return see_other("/console/operators")
        me = current_operator(request)
        link = await operators.reset_mfa(
            target["id"],
            actor=me.actor,
            settings=services(request).settings,
            client=client_of(request),
        )
        if link is None:
            return see_other("/console/operators")
        await _mail_link(request, link, target["email"], target["name"])
        return await _list_page(request, issued={"email": target["email"], "url": link.url})
