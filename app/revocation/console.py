"""The console's 失効申請 tab (/console/revocations): the queue by deadline, one request with
「失効する」 and 「却下」 (approvers), and 「管理者による失効」 (a paper request, admins and
approvers)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.application.workflow import Actor
from app.console.guards import current_operator, requires
from app.console.permissions import Permission
from app.console.web import page
from app.db import utcnow
from app.i18n import _
from app.issuance.ca.base import CAError
from app.issuance.tables import Certificate
from app.revocation import form, requests, rules, service
from app.revocation.tables import PENDING, RevocationRequest
from app.web.render import INVALID, see_other
from app.web.security import client_address
from app.web.state import form_values, services
from app.web.types import Req

LIST = "console/revocation/list.html.jinja2"
ONE = "console/revocation/request.html.jinja2"
PAPER = "console/revocation/paper.html.jinja2"
log = logging.getLogger("jcan.revocation")
REVOKE = [requires(Permission.REVOKE)]
RECORD = [requires(Permission.RECORD_REVOCATION)]


def _shown(row: dict[str, Any], now: Any) -> dict[str, Any]:
    state = rules.urgency(row["due_at"], now) if row["status"] == PENDING else "ok"
    return {
        **row,
        "reason_label": rules.reason_label(row["reason"]),
        "received": rules.jst(row["received_at"]),
        "due": rules.jst(row["due_at"]),
        "urgency": state,
        "urgency_label": rules.urgency_label(state),
    }


async def queue() -> list[dict[str, Any]]:
    """Pending requests: key compromise first, then subscriber-confirmed, then by deadline."""
    rows = await RevocationRequest.select(
        *RevocationRequest.all_columns(), RevocationRequest.certificate.serial.as_alias("serial")
    ).where(RevocationRequest.status == PENDING)
    rows.sort(key=lambda r: rules.queue_key(r["reason"], r["confirmed"], r["due_at"]))
    now = utcnow()
    return [_shown(dict(r), now) for r in rows]


async def _request(number: str) -> dict[str, Any]:
    row = (
        await RevocationRequest.select(
            *RevocationRequest.all_columns(),
            RevocationRequest.certificate.serial.as_alias("serial"),
        )
        .where(RevocationRequest.number == number)
        .first()
    )
    if row is None:
        raise NotFoundException()
    return _shown(dict(row), utcnow())


def _reasons() -> list[dict[str, str]]:
    return [{"value": v, "label": label} for v, label in rules.reason_options(operator=True)]


async def _one(
    request: Req,
    row: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response[Any]:
    certificate = await Certificate.select().where(Certificate.id == row["certificate"]).first()
    context = {
        "page_title": _("失効申請 %(number)s") % {"number": row["number"]},
        "item": row,
        "certificate": certificate,
        "reasons": _reasons(),
        "values": values
        or {"reason": row["reason"], "invalidity_date": rules.local_input(row["invalidity_date"])},
        "errors": errors,
        "notice": request.query_params.get("notice", ""),
    }
    return page(request, ONE, context, operator=current_operator(request), status=status)


async def _revoke(
    request: Req, certificate_id: int, choice: rules.Choice, request_id: int
) -> service.Outcome:
    """The signed-in operator revokes for this request (either route of the console)."""
    s = services(request)
    return await service.revoke(
        certificate_id,
        choice.reason.value,
        Actor.operator(current_operator(request).id),
        choice.invalidity_date,
        settings=s.settings,
        outbox=s.outbox,
        ca=request.app.state.ca,
        request_id=request_id,
        client=client_address(request, s.settings.security.trusted_proxy),
    )


class RevocationConsoleController(Controller):
    path = "/revocations"

    @get("", guards=REVOKE)
    async def list_requests(self, request: Req) -> Response[Any]:
        context = {"page_title": _("失効申請"), "requests": await queue()}
        return page(request, LIST, context, operator=current_operator(request))

    @get("/{request_number:str}", guards=REVOKE)
    async def show(self, request: Req, request_number: FromPath[str]) -> Response[Any]:
        return await _one(request, await _request(request_number), {}, {})

    @post("/{request_number:str}/revoke", guards=REVOKE)
    async def revoke(self, request: Req, request_number: FromPath[str]) -> Response[Any]:
        row = await _request(request_number)
        values = await form_values(request)
        choice, errors = rules.check_choice(values, utcnow(), operator=True)
        if choice is None:
            return await _one(request, row, values, errors, status=INVALID)
        if row["status"] == PENDING:
            try:
                await _revoke(request, row["certificate"], choice, row["id"])
            except (CAError, service.NotRevocable):
                log.exception("revocation %s: the CA did not revoke", request_number)
                return see_other(f"/console/revocations/{request_number}?notice=ca_failed")
        return see_other(f"/console/revocations/{request_number}?notice=revoked")

    @post("/{request_number:str}/reject", guards=REVOKE)
    async def reject(self, request: Req, request_number: FromPath[str]) -> Response[Any]:
        s = services(request)
        row = await _request(request_number)
        values = await form_values(request)
        note, message = form.check_note(values, "note", _("却下の理由を入力してください。"))
        if message:
            return await _one(request, row, values, {"note": message}, status=INVALID)
        operator = current_operator(request)
        client = client_address(request, s.settings.security.trusted_proxy)
        await requests.reject(request_number, note, operator.id, operator.actor, client, s.outbox)
        return see_other(f"/console/revocations/{request_number}?notice=rejected")


class PaperRevocationController(Controller):
    path = "/revocations-paper"

    @get("", guards=RECORD)
    async def form_page(self, request: Req) -> Response[Any]:
        return _paper(request, {}, {})

    @post("", guards=RECORD)
    async def record(self, request: Req) -> Response[Any]:
        s = services(request)
        values = await form_values(request)
        lookup, errors = form.check_lookup(values)
        choice, reason_errors = rules.check_choice(values, utcnow(), operator=True)
        errors |= reason_errors
        requester, message = form.check_note(values, "requester", _("申請者を入力してください。"))
        if message:
            errors["requester"] = message
        verification, message = form.check_note(
            values, "verification", _("本人確認の方法を入力してください。")
        )
        if message:
            errors["verification"] = message
        certificate = await requests.find_certificate(lookup) if lookup else None
        if lookup and certificate is None:
            errors["identifier"] = _(
                "この番号とメールアドレスに一致する、発行済みの証明書はありません。"
            )
        if errors or certificate is None or choice is None:
            return _paper(request, values, errors, status=INVALID)
        operator = current_operator(request)
        received = await requests.record_paper(
            certificate, choice, requester, verification, operator.id, s.settings
        )
        try:
            await _revoke(request, certificate["id"], choice, received.id)
        except (CAError, service.NotRevocable):
            log.exception("paper revocation %s: the CA did not revoke", received.number)
            return see_other(f"/console/revocations-paper?failed={received.number}")
        if operator.may(Permission.REVOKE):
            return see_other(f"/console/revocations/{received.number}?notice=revoked")
        return see_other(f"/console/revocations-paper?done={received.number}")


def _paper(
    request: Req, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response[Any]:
    context = {
        "page_title": _("管理者による失効"),
        "reasons": _reasons(),
        "values": values,
        "errors": errors,
        "done": request.query_params.get("done", ""),
        "failed": request.query_params.get("failed", ""),
    }
    return page(request, PAPER, context, operator=current_operator(request), status=status)
