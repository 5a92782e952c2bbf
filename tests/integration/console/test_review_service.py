"""The review's operations on both engines: every transition and who may make it (claim,
take over, recommend, approve, four-eyes, correction, rejection with the ticket's reuse), the
history, decision and audit rows each one writes, and the decide race."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from app.application import workflow
from app.application.tables import Application
from app.console.audit.tables import AuditEvent
from app.console.guards import CurrentOperator
from app.console.review.form import Decision
from app.console.review.rules import Action
from app.console.review.service import Lost, NotAllowed, act
from app.console.review.tables import ReviewDecision
from app.registration.tables import Ticket
from tests.helpers import add_operator, link_in, submitted, text_body, wait_for_mail

CHECKS = ("name_matches", "employment_matches", "corporate_number", "document_valid")


async def operator(role: str, email: str = "", name: str = "審査 花子") -> CurrentOperator:
    email = email or f"{role}-{name}@example.jp"
    return CurrentOperator(await add_operator(role, email, name), email, name, role)


async def row_of(reference: str) -> dict[str, Any]:
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    return dict(row)


@pytest.fixture
async def waiting(client: Any, smtp_sink: Any) -> str:
    return await submitted(client, smtp_sink)


@pytest.fixture
def services(app: Any) -> Any:
    return app.state.services


def four_eyes(services: Any) -> None:
    settings = services.settings
    services.settings = replace(settings, review=replace(settings.review, approvals=2))


async def test_a_claim_puts_it_in_review_with_its_holder_history_and_audit(
    waiting: str, services: Any
) -> None:
    reviewer = await operator("reviewer")
    row = await act(
        (await row_of(waiting))["public_id"],
        Decision(Action.CLAIM),
        reviewer,
        services,
        "192.0.2.9",
    )
    assert row["status"] == "in_review" and row["assigned_to"] == reviewer.id
    last = (await workflow.history(row["id"]))[-1]
    assert (last["from_status"], last["to_status"]) == ("submitted", "in_review")
    assert (last["actor"], last["actor_id"]) == ("operator", str(reviewer.id))
    event = await AuditEvent.select().where(AuditEvent.action == "application.claim").first()
    assert event is not None and event["actor"] == reviewer.actor
    assert event["target"] == f"application:{waiting}" and event["client"] == "192.0.2.9"
    assert await ReviewDecision.count().where(ReviewDecision.kind == "claim") == 1


async def test_an_auditor_or_admin_may_not_claim(waiting: str, services: Any) -> None:
    public_id = (await row_of(waiting))["public_id"]
    for role in ("auditor", "admin"):
        with pytest.raises(NotAllowed):
            await act(public_id, Decision(Action.CLAIM), await operator(role), services)
    assert (await row_of(waiting))["status"] == "submitted"


async def test_only_the_holder_decides_and_another_takes_over_with_a_reason(
    waiting: str, services: Any
) -> None:
    public_id = (await row_of(waiting))["public_id"]
    first, second = await operator("reviewer", name="一郎"), await operator("reviewer", name="二郎")
    await act(public_id, Decision(Action.CLAIM), first, services)
    with pytest.raises(NotAllowed):  # held by the first
        await act(public_id, Decision(Action.RECOMMEND, CHECKS), second, services)
    with pytest.raises(NotAllowed):  # a claim is only for what waits
        await act(public_id, Decision(Action.CLAIM), second, services)
    taken = await act(
        public_id, Decision(Action.TAKE_OVER, message="一郎は休暇中"), second, services
    )
    assert taken["assigned_to"] == second.id and taken["status"] == "in_review"
    assert (await workflow.history(taken["id"]))[-1]["reason"] == "一郎は休暇中"
    event = await AuditEvent.select().where(AuditEvent.action == "application.take_over").first()
    assert json.loads(event["details"])["previous"] == first.id  # type: ignore[index]
    with pytest.raises(NotAllowed):  # the first no longer holds it
        await act(public_id, Decision(Action.REJECT, reason="other", message="x"), first, services)


async def test_a_reviewer_recommends_and_an_approver_approves(waiting: str, services: Any) -> None:
    public_id = (await row_of(waiting))["public_id"]
    reviewer, approver = await operator("reviewer"), await operator("approver")
    await act(public_id, Decision(Action.CLAIM), reviewer, services)
    with pytest.raises(NotAllowed):  # a reviewer has no final approval
        await act(public_id, Decision(Action.APPROVE, CHECKS), reviewer, services)
    recommended = await act(public_id, Decision(Action.RECOMMEND, CHECKS), reviewer, services)
    assert recommended["status"] == "recommended" and recommended["recommended_by"] == reviewer.id
    approved = await act(public_id, Decision(Action.APPROVE, CHECKS), approver, services)
    assert approved["status"] == "approved" and approved["decided_at"] is not None
    kinds = [r["kind"] for r in await ReviewDecision.select().order_by(ReviewDecision.id)]
    assert kinds == ["claim", "recommend", "approve"]
    assert json.loads(
        (await ReviewDecision.select().where(ReviewDecision.kind == "approve").first())["checklist"]
    ) == list(CHECKS)  # type: ignore[index]


async def test_with_one_approval_an_approver_holding_it_approves_directly(
    waiting: str, services: Any
) -> None:
    public_id = (await row_of(waiting))["public_id"]
    approver = await operator("approver")
    await act(public_id, Decision(Action.CLAIM), approver, services)
    approved = await act(public_id, Decision(Action.APPROVE, CHECKS), approver, services)
    assert approved["status"] == "approved"


async def test_four_eyes_nobody_approves_their_own_recommendation(
    waiting: str, services: Any
) -> None:
    four_eyes(services)
    public_id = (await row_of(waiting))["public_id"]
    first, second = await operator("approver", name="一郎"), await operator("approver", name="二郎")
    await act(public_id, Decision(Action.CLAIM), first, services)
    with pytest.raises(NotAllowed):  # with two approvals the holder only recommends
        await act(public_id, Decision(Action.APPROVE, CHECKS), first, services)
    await act(public_id, Decision(Action.RECOMMEND, CHECKS), first, services)
    with pytest.raises(NotAllowed):
        await act(public_id, Decision(Action.APPROVE, CHECKS), first, services)
    assert (await row_of(waiting))["status"] == "recommended"
    approved = await act(public_id, Decision(Action.APPROVE, CHECKS), second, services)
    assert approved["status"] == "approved"


async def test_rejection_mails_the_reason_and_keeps_the_ticket_used_unless_chosen(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    reviewer = await operator("reviewer")
    # The first rejection frees the ticket: the second application registers it again.
    for reusable, email in ((True, "again@example.com"), (False, "kept@example.com")):
        reference = await submitted(client, smtp_sink, email=email)
        row = await row_of(reference)
        await act(row["public_id"], Decision(Action.CLAIM), reviewer, services)
        decision = Decision(
            Action.REJECT,
            reason="identity_mismatch",
            message="氏名の漢字が違います。",
            ticket_reusable=reusable,
        )
        rejected = await act(row["public_id"], decision, reviewer, services)
        assert rejected["status"] == "rejected"
        ticket = await Ticket.select().where(Ticket.id == row["ticket"]).first()
        assert (ticket["used_at"] is None) is reusable  # type: ignore[index]
        # Registration, submission and rejection: the last two are sent by jobs that may
        # finish in either order (the arq worker runs them at once).
        bodies = [text_body(m) for m in await wait_for_mail(smtp_sink, email, 3)]
        [mail] = [body for body in bodies if "氏名の漢字が違います。" in body]
        assert "本人確認書類の内容と申請内容が一致しませんでした。" in mail
        assert ("もう一度申請登録に使うことができます" in mail) is reusable
        event = (
            await AuditEvent.select()
            .where(AuditEvent.action == "application.reject")
            .order_by(AuditEvent.seq, ascending=False)
            .first()
        )
        assert json.loads(event["details"])["ticket_reusable"] is reusable  # type: ignore[index]


async def test_a_correction_mails_a_fresh_link_and_keeps_what_to_fix(
    waiting: str, smtp_sink: Any, services: Any
) -> None:
    row = await row_of(waiting)
    reviewer = await operator("reviewer")
    await act(row["public_id"], Decision(Action.CLAIM), reviewer, services)
    decision = Decision(
        Action.CORRECT, fields=("family_name", "documents"), message="書類の氏名と違います。"
    )
    moved = await act(row["public_id"], decision, reviewer, services)
    assert moved["status"] == "correction_requested"
    assert json.loads((await row_of(waiting))["correction"]) == {
        "fields": ["family_name", "documents"],
        "message": "書類の氏名と違います。",
    }
    mail = (await wait_for_mail(smtp_sink, "taro@example.com", 3))[-1]
    body = text_body(mail)
    assert "姓" in body and "本人確認書類などの書類" in body and "書類の氏名と違います。" in body
    assert link_in(mail).startswith("/apply/t/")


@pytest.mark.parametrize("setup", ["in_review", "recommended"])
async def test_of_concurrent_decisions_exactly_one_wins(
    waiting: str, services: Any, setup: str
) -> None:
    public_id = (await row_of(waiting))["public_id"]
    holder = await operator("approver", name="一郎")
    await act(public_id, Decision(Action.CLAIM), holder, services)
    deciders = [holder] * 6
    if setup == "recommended":
        four_eyes(services)
        await act(public_id, Decision(Action.RECOMMEND, CHECKS), holder, services)
        deciders = [await operator("approver", name=f"承認{n}") for n in range(6)]
    decisions = [
        Decision(Action.APPROVE, CHECKS)
        if n % 2
        else Decision(Action.REJECT, reason="other", message="重複", ticket_reusable=False)
        for n in range(6)
    ]
    results = await asyncio.gather(
        *(act(public_id, d, who, services) for d, who in zip(decisions, deciders, strict=True)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1, results
    assert all(isinstance(r, Lost | NotAllowed) for r in results if not isinstance(r, dict))
    final = await row_of(waiting)
    assert final["status"] == won[0]["status"]
    decided = await ReviewDecision.count().where(ReviewDecision.kind.is_in(["approve", "reject"]))
    assert decided == 1
    events = await AuditEvent.count().where(
        AuditEvent.action.is_in(["application.approve", "application.reject"])
    )
    assert events == 1
