"""Routes of companies and tickets (/console/companies, admins): the list and the add form,
one company's tickets with the issue form, the numbers shown once with their CSV, voiding."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.console.companies import service
from app.console.guards import current_operator, requires
from app.console.permissions import Permission
from app.console.web import page
from app.i18n import _
from app.web.render import INVALID, see_other
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

LIST = "console/companies/list.html.jinja2"
ONE = "console/companies/company.html.jinja2"
MANAGE = [requires(Permission.MANAGE_COMPANIES)]


def _client(request: Req) -> str:
    return client_address(request, services(request).settings.security.trusted_proxy)


async def _list(request: Req, errors: dict[str, str], values: dict[str, str]) -> Response[Any]:
    context = {
        "page_title": _("会社とチケット"),
        "companies": await service.companies(),
        "errors": errors,
        "values": values,
    }
    status = INVALID if errors else 200
    return page(request, LIST, context, operator=current_operator(request), status=status)


async def _company(request: Req, code: str, **extra: Any) -> Response[Any]:
    found = await service.company(code)
    if found is None:
        raise NotFoundException()
    context = {
        "page_title": _("%(code)s のチケット") % {"code": found["code"]},
        "company": found,
        "tickets": await service.tickets(found["id"]),
        "errors": {},
        "values": {},
        "issued": [],
        "notice": request.query_params.get("notice", ""),
    } | extra
    status = INVALID if context["errors"] else 200
    return page(request, ONE, context, operator=current_operator(request), status=status)


class CompaniesController(Controller):
    path = "/companies"

    @get("", guards=MANAGE)
    async def list_companies(self, request: Req) -> Response[Any]:
        return await _list(request, {}, {})

    @post("", guards=MANAGE)
    async def add_company(self, request: Req) -> Response[Any]:
        values, errors = service.check_company(await form_values(request))
        actor = current_operator(request).actor
        if not errors and not await service.add(
            values["code"], values["name"], actor, _client(request)
        ):
            errors = {"code": _("この会社コードは既に登録されています。")}
        if errors:
            return await _list(request, errors, values)
        return see_other(f"/console/companies/{values['code']}")

    @get("/{code:str}", guards=MANAGE)
    async def show(self, request: Req, code: FromPath[str]) -> Response[Any]:
        return await _company(request, code)

    @post("/{code:str}/tickets", guards=MANAGE)
    async def issue(self, request: Req, code: FromPath[str]) -> Response[Any]:
        values = await form_values(request)
        count, error = service.check_count(values.get("count", ""))
        if error or await service.company(code) is None:
            return await _company(request, code, errors={"count": error}, values=values)
        actor = current_operator(request).actor
        numbers = await service.issue(code, count, actor, _client(request))
        # Shown once: this answer is the only place the new numbers appear as a batch.
        return await _company(request, code, issued=numbers)

    @post("/{code:str}/tickets/export", guards=MANAGE, status_code=200)
    async def export(self, request: Req, code: FromPath[str]) -> Response[Any]:
        values = await form_values(request)
        numbers = [n for n in values.get("numbers", "").split(",") if n][: service.ISSUE_MAX]
        actor = current_operator(request).actor
        text = await service.export_csv(code, actor, _client(request), numbers or None)
        if text is None:
            raise NotFoundException()
        name = f"tickets-{code.upper()}.csv"
        return Response(
            "\ufeff" + text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @post("/{code:str}/tickets/{number:str}/void", guards=MANAGE)
    async def void(self, request: Req, code: FromPath[str], number: FromPath[str]) -> Response[Any]:
        actor = current_operator(request).actor
        done = await service.void(code, number, actor, _client(request))
        notice = "voided" if done else "not_voided"
        return see_other(f"/console/companies/{code.upper()}?notice={notice}")
