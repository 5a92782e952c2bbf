"""Routes of the principal's approval (申請情報承認): the emailed link, review, decision, 完了."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response

from app.application import form, service, states
from app.application.requirements import kind_label
from app.application.subject import subject_of
from app.application.uploads import documents_of
from app.approval import service as approval
from app.approval.form import check_decision
from app.links import web as links
from app.links.tokens import LinkState
from app.links.web import LinkNotLive
from app.registration.flow import lanes
from app.web.render import INVALID, page, see_other
from app.web.state import form_values, services
from app.web.types import Req

REVIEW = "approval/review.html.jinja2"


async def _application(request: Req) -> tuple[int, dict[str, Any]]:
    """The live approval link of this session and its application waiting for the principal;
    LinkNotLive otherwise (answered with the page that says why)."""
    token_id = await links.live_token(request, approval.APPROVE_LINK)
    application = await approval.application_for(token_id)
    if application is None or application["status"] != states.AWAITING_PRINCIPAL:
        raise LinkNotLive(approval.APPROVE_LINK, LinkState.USED)
    return token_id, application


async def _review(
    request: Req,
    application: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Response[Any]:
    answers = service.answers_of(application)
    cleaned, _errors = form.check_application(answers, application["applicant_type"])
    return page(
        request,
        REVIEW,
        {
            "values": values,
            "errors": errors,
            "reference": application["reference"],
            "agent": {k: cleaned.get(k, "") for k in form.AGENT_FIELDS},
            "rows": [
                (label, value)
                for _name, label, value in service.summary_rows(answers, "agent")
                if _name not in form.AGENT_FIELDS
            ],
            "subject": subject_of(cleaned),
            "documents": await documents_of(application["id"]),
            "kind_label": kind_label,
            "lanes": lanes("agent"),
            "current_step": "approve",
        },
        status=status,
    )


class ApprovalController(Controller):
    path = "/approve"

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        return await links.exchange(request, approval.APPROVE_LINK, token)

    @get("")
    async def review(self, request: Req) -> Response[Any]:
        _token_id, application = await _application(request)
        return await _review(request, application, {}, {})

    @post("")
    async def decide(self, request: Req) -> Response[Any]:
        sent_with = request.session.get("approve_token")
        try:
            token_id, application = await _application(request)
        except LinkNotLive:
            # A second click or a replay of a decision this link made: its 完了.
            done = await _after_decision(request, sent_with)
            if done is None:
                raise
            return done
        decision, errors, kept = check_decision(await form_values(request))
        if decision is None:
            return await _review(request, application, kept, errors, status=INVALID)
        try:
            await approval.decide(token_id, decision.approve, decision.reason, services(request))
        except approval.DecisionTaken:
            return await _after_decision(request, token_id) or see_other("/approve/link/used")
        return _done(request, decision.approve, application["reference"])

    @get("/complete")
    async def complete(self, request: Req) -> Response[Any]:
        done = request.session.get("approve_done")
        if not isinstance(done, dict):
            return see_other("/approve/link/invalid")
        return page(
            request,
            "approval/complete.html.jinja2",
            {
                "approved": bool(done.get("approved")),
                "reference": done.get("reference", ""),
                "lanes": lanes("agent"),
                "current_step": "approve_complete",
            },
        )

    @get("/link/{link_state:str}")
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        return links.state_page(request, approval.APPROVE_LINK, link_state)


def _done(request: Req, approved: bool, reference: str) -> Response[Any]:
    request.session.pop("approve_token", None)
    request.session["approve_done"] = {"approved": approved, "reference": reference}
    return see_other("/approve/complete")


async def _after_decision(request: Req, token_id: Any) -> Response[Any] | None:
    """When this browser's link made the standing decision (a second click, a replay), its 完了."""
    if not isinstance(token_id, int):
        return None
    decided = await approval.decided_with(token_id)
    if decided is None:
        return None
    return _done(request, decided["status"] == states.PRINCIPAL_APPROVED, decided["reference"])
