"""The review's operations, each one write transaction through app.application.workflow.move
(a conditional UPDATE: of two operators deciding at once exactly one wins) with its decision
row, its audit row and its mail: claim, take over, recommend, approve, request a correction,
reject."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.application import states, workflow
from app.application.form import label_of
from app.application.tables import Application
from app.application.workflow import Actor
from app.console.audit.service import record
from app.console.guards import CurrentOperator
from app.console.review.form import DOCUMENTS, Decision
from app.console.review.rules import Action, actions, target_of
from app.console.review.tables import ReviewDecision
from app.db import utcnow
from app.i18n import _
from app.issuance.service import enqueue_issue
from app.mail.outbox import Letters
from app.registration.links import mint_access_link
from app.registration.tables import Registration, Ticket
from app.web.state import Services


class NotAllowed(Exception):
    """The action is not this operator's to take (role, holder, or the application's state
    as read: someone else acted since the page was drawn)."""


class Lost(Exception):
    """Another operator's decision or claim won the conditional update."""


async def application_row(public_id: str) -> dict[str, Any] | None:
    rows = await Application.raw("SELECT * FROM application WHERE public_id = {}", public_id)
    return dict(rows[0]) if rows else None


def _expect(row: dict[str, Any], action: Action, operator: CurrentOperator) -> dict[str, Any]:
    """What must still hold when the update lands, besides the status."""
    if action == Action.TAKE_OVER:
        return {"assigned_to": row.get("assigned_to")}
    if row["status"] == states.IN_REVIEW:
        return {"assigned_to": operator.id}
    if row["status"] == states.RECOMMENDED:
        return {"recommended_by": row.get("recommended_by")}
    return {}


def _changes(decision: Decision, operator: CurrentOperator, now: datetime) -> dict[str, Any]:
    action = decision.action
    if action in (Action.CLAIM, Action.TAKE_OVER):
        changes: dict[str, Any] = {"assigned_to": operator.id}
        if action == Action.CLAIM:
            changes["recommended_by"] = None
        return changes
    if action == Action.RECOMMEND:
        return {"recommended_by": operator.id}
    if action == Action.CORRECT:
        correction = {"fields": list(decision.fields), "message": decision.message}
        return {"correction": json.dumps(correction, ensure_ascii=False)}
    return {"decided_at": now}


def _reason(decision: Decision) -> str:
    """What the history row says about why."""
    if decision.action == Action.REJECT:
        return decision.reason_text
    if decision.action in (Action.TAKE_OVER, Action.CORRECT):
        return decision.message
    return ""


async def act(
    public_id: str,
    decision: Decision,
    operator: CurrentOperator,
    services: Services,
    client: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Carry out `decision` by `operator`: the application as it is afterwards. NotAllowed when
    the operator may not (as the application was read), Lost when another operator's move
    landed first."""
    now = now or utcnow()
    row = await application_row(public_id)
    if row is None:
        raise NotAllowed()
    approvals = services.settings.review.approvals
    if decision.action not in actions(row, operator.id, operator.role, approvals):
        raise NotAllowed()
    async with services.outbox.transaction(now) as letters:
        moved = await workflow.move(
            row,
            target_of(decision.action),
            Actor.operator(operator.id),
            _reason(decision),
            expect=_expect(row, decision.action, operator),
            **_changes(decision, operator, now),
        )
        if moved is None:
            raise Lost()
        details = _details(row, decision)
        await ReviewDecision.insert(
            ReviewDecision(
                application=row["id"],
                operator=operator.id,
                kind=decision.action.value,
                checklist=json.dumps(list(decision.checklist)),
                details=json.dumps(details, ensure_ascii=False),
                at=now,
            )
        )
        if decision.action in (Action.CORRECT, Action.REJECT):
            await _tell_applicant(row, decision, services, letters)
        await record(
            f"application.{decision.action.value}",
            actor=operator.actor,
            target=f"application:{row['reference']}",
            client=client,
            details={"from": row["status"], "to": moved["status"], **details},
            now=now,
        )
    if moved["status"] == states.APPROVED:
        await enqueue_issue(services.queue, row["id"])
    return moved


def _details(row: dict[str, Any], decision: Decision) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if decision.checklist:
        details["checklist"] = list(decision.checklist)
    if decision.action == Action.TAKE_OVER:
        details["previous"] = row.get("assigned_to")
        details["reason"] = decision.message
    if decision.action == Action.CORRECT:
        details["fields"] = list(decision.fields)
    if decision.action == Action.REJECT:
        details["reason"] = decision.reason
        details["ticket_reusable"] = decision.ticket_reusable
    return details


async def _tell_applicant(
    row: dict[str, Any], decision: Decision, services: Services, letters: Letters
) -> None:
    registration = await Registration.select().where(Registration.id == row["registration"]).first()
    assert registration is not None
    context: dict[str, Any] = {"reference": row["reference"]}
    if decision.action == Action.CORRECT:
        context["link"], context["expires_at"] = await mint_access_link(
            dict(registration), services.settings, letters.now
        )
        context["message"] = decision.message
        context["fields"] = correction_labels(decision.fields, row["applicant_type"])
        await letters.add("application_correction", registration["email"], context)
        return
    if decision.ticket_reusable:
        await Ticket.update({Ticket.used_at: None}).where(
            (Ticket.id == row["ticket"]) & Ticket.voided_at.is_null()
        )
    context["reason"] = decision.reason_text
    context["ticket_reusable"] = decision.ticket_reusable
    await letters.add("application_rejected", registration["email"], context)


def correction_labels(fields: Any, applicant_type: str) -> list[str]:
    return [
        _("本人確認書類などの書類") if name == DOCUMENTS else label_of(name, applicant_type)
        for name in fields
    ]
