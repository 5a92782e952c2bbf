"""The auditor's view of the audit log (/console/audit): filters, newest first, keyset pages
(htmx swaps only the results; without JavaScript every link and the form are whole pages),
and the CSV export, which is itself audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.exceptions import HTTPException
from litestar.response import Response, Stream

from app.console.audit import export, queries
from app.console.audit.form import FIELDS, Filter, cursor, parse_filter
from app.console.guards import CurrentOperator, current_operator, requires
from app.console.permissions import Permission
from app.console.web import page
from app.i18n import _
from app.web.render import INVALID, see_other, wants_fragment
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

PATH = "/console/audit"
TEMPLATE = "console/audit/log.html.jinja2"


def _url(chosen: Filter, **cursor_: int | None) -> str:
    query = {name: value for name, value in chosen.typed.items() if value}
    query |= {name: str(value) for name, value in cursor_.items() if value is not None}
    return PATH + ("?" + urlencode(query) if query else "")


def _cursors(request: Req) -> tuple[int | None, int | None]:
    try:
        return cursor(request.query_params.get("before")), cursor(request.query_params.get("after"))
    except ValueError:
        raise HTTPException(status_code=400) from None


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"japan_time": export.japan_time(row["at"])}


async def _context(
    chosen: Filter, errors: dict[str, str], operator: CurrentOperator, cursors: tuple[Any, Any]
) -> dict[str, Any]:
    shown = queries.Page([], None, None)
    if not errors:
        shown = await queries.page(chosen, before=cursors[0], after=cursors[1])
    return {
        "page_title": _("監査ログ"),
        "errors": errors,
        "values": chosen.typed,
        "rows": [_row(row) for row in shown.rows],
        "newer_url": _url(chosen, after=shown.newer) if shown.newer else None,
        "older_url": _url(chosen, before=shown.older) if shown.older else None,
        "newest_url": _url(chosen) if shown.newer else None,
        "filtered": any(chosen.typed.values()),
        "can_export": operator.may(Permission.EXPORT_AUDIT) and not errors,
        "fields": FIELDS,
    }


def _status_text(context: dict[str, Any]) -> str:
    """What the live region announces after an htmx swap."""
    if context["errors"]:
        return _("絞り込みの条件を直してください。")
    rows = context["rows"]
    if not rows:
        return _("条件に合う記録はありません。")
    return _("{count}件の記録を表示しています。").format(count=len(rows))


class AuditController(Controller):
    path = "/audit"

    @get("", guards=[requires(Permission.READ_AUDIT)])
    async def log(self, request: Req) -> Response[Any]:
        operator = current_operator(request)
        chosen, errors = parse_filter(request.query_params)
        context = await _context(chosen, errors, operator, _cursors(request))
        context["fragment_status"] = _status_text(context) if wants_fragment(request) else ""
        # A paging link swaps only the results; the filter form swaps its own block too, so
        # that its messages come and go with what it shows.
        block = "results" if request.headers.get("hx-target") == "audit-results" else "audit"
        status = INVALID if errors else 200
        return page(request, TEMPLATE, context, operator=operator, status=status, block=block)

    @post("/export", guards=[requires(Permission.EXPORT_AUDIT)], status_code=200)
    async def export_csv(self, request: Req) -> Response[Any]:
        operator = current_operator(request)
        chosen, errors = parse_filter(await form_values(request))
        if errors:  # the form carries a filter the page accepted: show what is wrong there
            return see_other(_url(chosen))
        trusted = services(request).settings.security.trusted_proxy
        through, name = await export.start(
            chosen, actor=operator.actor, client=client_address(request, trusted)
        )
        return Stream(
            export.chunks(chosen, through),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
