"""Routes of the review (/console/applications): the queue, one application, its document
pages, and the decisions. Every view of personal data or a document is an audit row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.application.storage import store_for
from app.console.audit.service import record
from app.console.guards import current_operator, requires
from app.console.permissions import Permission
from app.console.review import documents, form, queue
from app.console.review.pages import (
    BASE,
    application_context,
    application_view,
    decision_inputs,
    queue_rows,
)
from app.console.review.rules import Action
from app.console.review.service import Lost, NotAllowed, act
from app.console.web import page
from app.i18n import _
from app.issuance.console import latest_certificates
from app.web.render import INVALID, see_other
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

QUEUE = "console/review/queue.html.jinja2"
APPLICATION = "console/review/application.html.jinja2"
SEARCH_MAX = 100


def _client(request: Req) -> str:
    return client_address(request, services(request).settings.security.trusted_proxy)


def _cursor(request: Req, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPException(status_code=400)
    return int(raw)


async def queue_page(request: Req) -> Response[Any]:
    """The queue: a tab of states, an optional search, one keyset page (also the console's
    home for those who may view applications)."""
    operator = current_operator(request)
    chosen = queue.tab_named(request.query_params.get("tab", "waiting"))
    search = (request.query_params.get("q") or "").strip()
    if chosen is None or len(search) > SEARCH_MAX:
        raise HTTPException(status_code=400)
    shown = await queue.page(
        chosen, search, after=_cursor(request, "after"), before=_cursor(request, "before")
    )
    counts = await queue.recent_counts()

    def url(**cursor: int | None) -> str:
        query = {"tab": chosen.name} | ({"q": search} if search else {})
        query |= {k: str(v) for k, v in cursor.items() if v is not None}
        return f"{BASE}?{urlencode(query)}"

    sla = services(request).settings.review.sla_business_days
    issued = (
        await latest_certificates([int(r["id"]) for r in shown.rows])
        if chosen.name == "issued"
        else {}
    )
    context = {
        "page_title": _("審査待ち") if chosen.name == "waiting" else chosen.label,
        "tabs": [
            {
                "name": t.name,
                "label": t.label,
                "count": _("%(n)s件以上") % {"n": f"{queue.COUNT_CAP:,}"}
                if counts[t.name] > queue.COUNT_CAP
                else _("%(n)s件") % {"n": counts[t.name]},
                "current": t == chosen,
            }
            for t in queue.tabs()
        ],
        "tab": chosen,
        "search": search,
        "rows": queue_rows(shown.rows, sla, issued),
        "certificate_column": chosen.name == "issued",
        "earlier_url": url(before=shown.earlier) if shown.earlier else None,
        "later_url": url(after=shown.later) if shown.later else None,
        "sla_days": sla,
    }
    if shown.rows:  # a page of names is personal data shown
        await record(
            "application.list",
            actor=operator.actor,
            target=f"queue:{chosen.name}",
            client=_client(request),
            details={"search": bool(search), "shown": [r["reference"] for r in shown.rows]},
        )
    block = "queue_results" if request.headers.get("hx-target") == "queue-results" else None
    return page(request, QUEUE, context, operator=operator, block=block)


async def _application(public_id: FromPath[str]) -> dict[str, Any]:
    row = await application_view(public_id)
    if row is None or row.get("reference") is None:
        raise NotFoundException()
    return row


async def _show(
    request: Req,
    row: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    form_name: str = "",
    notice: str = "",
) -> Response[Any]:
    operator = current_operator(request)
    settings = services(request).settings
    context = await application_context(row, operator, settings, store_for(settings))
    await record(
        "application.view",
        actor=operator.actor,
        target=f"application:{row['reference']}",
        client=_client(request),
    )
    context |= {
        "page_title": _("申請 %(reference)s") % {"reference": row["reference"]},
        "errors": errors or {},
        "values": values or {},
        "form_name": form_name,
        "notice": notice or request.query_params.get("notice", ""),
    }
    status = INVALID if errors else 200
    return page(request, APPLICATION, context, operator=operator, status=status)


async def _decide(request: Req, public_id: str, action: Action) -> Response[Any]:
    operator = current_operator(request)
    row = await _application(public_id)
    values = await form_values(request)
    checklist, fields = decision_inputs(row, row["registration_email"])
    checks = [name for name, _label in checklist]
    correctable = [name for name, _label in fields if name != form.DOCUMENTS]
    decision, errors = form.parse(action, values, checks, correctable)
    if errors:
        return await _show(request, row, errors=errors, values=values, form_name=action.value)
    try:
        await act(public_id, decision, operator, services(request), _client(request))
    except (Lost, NotAllowed):
        return see_other(f"{BASE}/{public_id}?notice=taken")
    return see_other(f"{BASE}/{public_id}?notice={action.value}")


class ReviewController(Controller):
    path = "/applications"

    @get("", guards=[requires(Permission.VIEW_APPLICATIONS)])
    async def queue(self, request: Req) -> Response[Any]:
        return await queue_page(request)

    @get("/{public_id:str}", guards=[requires(Permission.VIEW_APPLICATIONS)])
    async def show(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _show(request, await _application(public_id))

    @get(
        "/{public_id:str}/documents/{document_id:str}/pages/{number:int}",
        guards=[requires(Permission.VIEW_APPLICATIONS)],
    )
    async def document_page(
        self,
        request: Req,
        public_id: FromPath[str],
        document_id: FromPath[str],
        number: FromPath[int],
    ) -> Response[bytes]:
        operator = current_operator(request)
        row = await _application(public_id)
        document = await documents.document_of(row["id"], document_id)
        if document is None or number < 1:
            raise NotFoundException()
        try:
            content, media_type = await documents.page_image(
                store_for(services(request).settings), document, number
            )
        except documents.NoSuchPage:
            raise NotFoundException() from None
        await record(
            "document.view",
            actor=operator.actor,
            target=f"application:{row['reference']}",
            client=_client(request),
            details={"document": document_id, "page": number},
        )
        return Response(
            content,
            media_type=media_type,
            headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
        )

    @post("/{public_id:str}/claim", guards=[requires(Permission.REVIEW)])
    async def claim(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.CLAIM)

    @post("/{public_id:str}/take-over", guards=[requires(Permission.REVIEW)])
    async def take_over(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.TAKE_OVER)

    @post("/{public_id:str}/recommend", guards=[requires(Permission.REVIEW)])
    async def recommend(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.RECOMMEND)

    @post("/{public_id:str}/approve", guards=[requires(Permission.APPROVE)])
    async def approve(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.APPROVE)

    @post("/{public_id:str}/correct", guards=[requires(Permission.REVIEW)])
    async def correct(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.CORRECT)

    @post("/{public_id:str}/reject", guards=[requires(Permission.REVIEW)])
    async def reject(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        return await _decide(request, public_id, Action.REJECT)
