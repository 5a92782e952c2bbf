"""Console pages: the console's base context (operator, role, the nav the role may use) and
the answers to NotSignedIn (303 to sign-in) and Forbidden (the 403 page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.response import Redirect, Response, Template

from app.console.guards import LOGIN, CurrentOperator, Forbidden, NotSignedIn
from app.console.permissions import Permission, role_label
from app.i18n import _
from app.web import render
from app.web.types import Req

FORBIDDEN_TEMPLATE = "console/forbidden.html.jinja2"


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    permission: Permission


def nav_items() -> tuple[NavItem, ...]:
    """Everything the console's navigation can show; each operator sees what the role may
    open. (A feature adds its line here.)"""
    return (
        NavItem("/console", _("ホーム"), Permission.CONSOLE),
        NavItem("/console/applications", _("申請の審査"), Permission.VIEW_APPLICATIONS),
        NavItem("/console/revocations", _("失効申請"), Permission.REVOKE),
        NavItem("/console/revocations-paper", _("管理者による失効"), Permission.RECORD_REVOCATION),
        NavItem("/console/companies", _("会社とチケット"), Permission.MANAGE_COMPANIES),
        NavItem("/console/operators", _("オペレーター管理"), Permission.MANAGE_OPERATORS),
        NavItem("/console/webhooks", _("自動登録の配信"), Permission.MANAGE_WEBHOOKS),
        NavItem("/console/audit", _("監査ログ"), Permission.READ_AUDIT),
    )


def chrome(request: Req, operator: CurrentOperator | None) -> dict[str, Any]:
    """What templates/console/base.html.jinja2 needs: who is signed in and their nav."""
    if operator is None:
        return {"operator": None, "role_label": "", "nav": []}
    path = request.url.path
    nav = [
        {"path": item.path, "label": item.label, "current": path == item.path}
        for item in nav_items()
        if operator.may(item.permission)
    ]
    return {"operator": operator, "role_label": role_label(operator.role), "nav": nav}


def page(
    request: Req,
    template: str,
    context: dict[str, Any],
    *,
    operator: CurrentOperator | None = None,
    status: int = 200,
    block: str | None = None,
) -> Response[Any]:
    """A console page (htmx fragments as app.web.render.page)."""
    return render.page(
        request,
        template,
        {**context, "console": chrome(request, operator)},
        status=status,
        block=block,
    )


def not_signed_in(request: Req, exc: NotSignedIn) -> Response[Any]:
    response = Redirect(LOGIN, status_code=303)
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = LOGIN
    return response


def forbidden(request: Req, exc: Forbidden) -> Response[Any]:
    operator: CurrentOperator | None = request.state.get("console_operator")
    return Template(
        template_name=FORBIDDEN_TEMPLATE,
        context={
            "errors": {},
            "values": {},
            "request_path": request.url.path,
            "console": chrome(request, operator),
        },
        status_code=403,
    )
