"""Every status change goes through app.application.workflow.move, with its actor on record."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.application import workflow
from app.application.tables import Application
from app.application.workflow import Actor, ActorKind
from tests.helpers import (
    AGENT,
    CSRF,
    PRINCIPAL,
    approval_link_in,
    link_in,
    open_approval,
    ready_application,
    submit_application,
    submitted_by_agent,
    wait_for_mail,
)

APP = Path(__file__).resolve().parents[3] / "app"
REASON = "住所の番地が違います"


async def _history() -> list[tuple[str, str, str, str, str]]:
    application = await Application.select(Application.id).first()
    return [
        (m["from_status"], m["to_status"], m["actor"], m["actor_id"], m["reason"])
        for m in await workflow.history(application["id"])
    ]


async def test_the_applicants_own_submit_is_recorded_as_the_applicant(client, smtp_sink):
    csrf = await ready_application(client, smtp_sink, "self", "self@example.com")
    response = await submit_application(client, csrf)
    assert response.headers["location"] == "/apply/complete"
    assert await _history() == [("draft", "submitted", "applicant", "", "")]


async def test_decline_correction_and_approval_record_who_moved_the_application(client, smtp_sink):
    link = await submitted_by_agent(client, smtp_sink)
    csrf = CSRF.search(await open_approval(client, link)).group(1)
    await client.post(
        "/approve", data={"_csrf_token": csrf, "decision": "decline", "reason": REASON}
    )
    outcome = (await wait_for_mail(smtp_sink, AGENT, count=3))[-1]
    client.cookies.clear()
    await client.get(link_in(outcome))  # the agent opens the fresh link: back to draft
    form = await client.get("/apply")
    resent = await submit_application(client, CSRF.search(form.text).group(1))
    assert resent.headers["location"] == "/apply/complete"
    request = (await wait_for_mail(smtp_sink, PRINCIPAL, count=2))[-1]
    csrf = CSRF.search(await open_approval(client, approval_link_in(request))).group(1)
    await client.post("/approve", data={"_csrf_token": csrf, "decision": "approve", "agree": "yes"})
    assert await _history() == [
        ("draft", "submitted", "applicant", "", ""),
        ("submitted", "awaiting_principal", "system", "submit", ""),
        ("awaiting_principal", "principal_declined", "principal", "", REASON),
        ("principal_declined", "draft", "applicant", "", ""),
        ("draft", "submitted", "applicant", "", ""),
        ("submitted", "awaiting_principal", "system", "submit", ""),
        ("awaiting_principal", "principal_approved", "principal", "", ""),
    ]


async def test_a_move_from_a_stale_status_writes_nothing(client, smtp_sink):
    await submitted_by_agent(client, smtp_sink)
    row = dict(await Application.select().first())
    before = await _history()
    stale = {**row, "status": "submitted"}  # read before the application moved on
    assert await workflow.move(stale, "in_review", Actor.operator(7)) is None
    assert await _history() == before


def test_actors_are_typed():
    assert Actor.operator(42) == Actor(ActorKind.OPERATOR, "42")
    assert Actor.system("sweep_expired").id == "sweep_expired"
    with pytest.raises(ValueError):
        Actor(ActorKind.OPERATOR)  # an operator is always someone
    with pytest.raises(ValueError):
        Actor(ActorKind.APPLICANT, "x")


def _direct_status_writes(tree: ast.AST) -> list[int]:
    """Lines that set Application.status or write StatusChange rows themselves."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(
            key is not None and ast.unparse(key) == "Application.status" for key in node.keys
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if called in ("StatusChange.insert", "StatusChange", "StatusChange.update"):
                lines.append(node.lineno)
            if called.endswith(".update") and any(k.arg == "status" for k in node.keywords):
                lines.append(node.lineno)
    return lines


def test_no_status_is_written_outside_the_workflow():
    offenders = {
        str(path.relative_to(APP.parent)): lines
        for path in sorted(APP.rglob("*.py"))
        if path.name != "workflow.py"
        and (lines := _direct_status_writes(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert offenders == {}
    # The check sees what it looks for.
    assert _direct_status_writes(ast.parse((APP / "application" / "workflow.py").read_text()))
