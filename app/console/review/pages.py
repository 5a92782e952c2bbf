"""What the review's pages show: a queue row, and one application (answers, subject DN,
agent and principal, history with actors, documents, and what this operator may do)."""

from __future__ import annotations

from typing import Any

from app.application import form as answers_form
from app.application import states, workflow
from app.application.answers import answers_of, correction_of
from app.application.requirements import kind_label
from app.application.service import summary_rows
from app.application.storage import DocumentStore
from app.application.subject import subject_of
from app.application.tables import ApplicationDocument
from app.console.accounts.tables import Operator
from app.console.guards import CurrentOperator
from app.console.review import documents
from app.console.review.form import DOCUMENTS, rejection_reasons
from app.console.review.rules import actions, age_text, checklist, houjin_bangou_url, overdue
from app.db import utcnow
from app.i18n import _
from app.issuance.console import certificates_of
from app.registration.form import applicant_type_label
from app.registration.tables import Company, Registration, Ticket
from app.settings import Settings

BASE = "/console/applications"


def name_of(answers: dict[str, str], suffix: str = "") -> str:
    family, given = answers.get(f"family_name{suffix}", ""), answers.get(f"given_name{suffix}", "")
    return f"{family} {given}".strip()


def queue_row(row: dict[str, Any], sla_days: int) -> dict[str, Any]:
    answers = answers_of(row)
    now = utcnow()
    waiting = row["status"] in states.WAITING
    return row | {
        "url": f"{BASE}/{row['public_id']}",
        "name": name_of(answers),
        "kana": name_of(answers, "_kana"),
        "type_label": applicant_type_label(row["applicant_type"]),
        "status_label": states.state_label(row["status"]),
        "age": age_text(row["submitted_at"], now),
        "overdue": waiting and overdue(row["submitted_at"], now, sla_days),
    }


async def operator_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Operator.select(Operator.id, Operator.name).where(Operator.id.is_in(list(ids)))
    return {int(r["id"]): str(r["name"]) for r in rows}


def _actor_label(change: dict[str, Any], names: dict[int, str]) -> str:
    kind, actor_id = change["actor"], change["actor_id"]
    if kind == "operator":
        return _("オペレーター %(name)s") % {"name": names.get(int(actor_id), actor_id)}
    if kind == "system":
        return _("システム（%(name)s）") % {"name": actor_id}
    return {"applicant": _("申請者"), "principal": _("本人")}.get(kind, kind)


async def _documents(store: DocumentStore, row: dict[str, Any]) -> list[dict[str, Any]]:
    found = (
        await ApplicationDocument.select()
        .where(ApplicationDocument.application == row["id"])
        .order_by(ApplicationDocument.id)
    )
    shown = []
    for document in found:
        document = dict(document)
        count = await documents.pages_of(store, document)
        base = f"{BASE}/{row['public_id']}/documents/{document['public_id']}/pages"
        shown.append(
            document
            | {
                "label": kind_label(document["kind"]),
                "pdf": document["content_type"] == documents.PDF,
                "pages": [(n, f"{base}/{n}") for n in range(1, count + 1)],
            }
        )
    return shown


async def _registration(row: dict[str, Any]) -> dict[str, Any]:
    registration = await Registration.select().where(Registration.id == row["registration"]).first()
    assert registration is not None
    company = await Company.select().where(Company.id == registration["company"]).first()
    ticket = await Ticket.select().where(Ticket.id == row["ticket"]).first()
    assert company is not None and ticket is not None
    return {
        "email": registration["email"],
        "company_code": company["code"],
        "company_name": company["name"],
        "ticket_number": ticket["number"],
    }


def decision_inputs(
    row: dict[str, Any], email: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the checklist, the fields that may be sent back to correct) for this application."""
    kind = row["applicant_type"]
    cleaned, _errors = answers_form.check_application(answers_of(row), kind, email)
    correctable = [
        (name, answers_form.label_of(name, kind))
        for name in answers_form.shown_fields(cleaned, kind)
    ] + [(DOCUMENTS, _("本人確認書類などの書類"))]
    return checklist(cleaned), correctable


async def registration_email(row: dict[str, Any]) -> str:
    found = (
        await Registration.select(Registration.email)
        .where(Registration.id == row["registration"])
        .first()
    )
    return str(found["email"]) if found else ""


async def application_context(
    row: dict[str, Any], operator: CurrentOperator, settings: Settings, store: DocumentStore
) -> dict[str, Any]:
    kind = row["applicant_type"]
    registration = await _registration(row)
    cleaned, _errors = answers_form.check_application(answers_of(row), kind, registration["email"])
    history = await workflow.history(row["id"])
    ids = {int(c["actor_id"]) for c in history if c["actor"] == "operator"}
    ids |= {int(v) for v in (row.get("assigned_to"), row.get("recommended_by")) if v}
    names = await operator_names(ids)
    principal_approved = [c["at"] for c in history if c["to_status"] == states.PRINCIPAL_APPROVED]
    offered = actions(row, operator.id, operator.role, settings.review.approvals)
    checks, correctable = decision_inputs(row, registration["email"])
    return {
        "application": row,
        "title_name": name_of(cleaned),
        "status_label": states.state_label(row["status"]),
        "type_label": applicant_type_label(kind),
        "registration": registration,
        "rows": summary_rows(answers_of(row), kind, registration["email"]),
        "subject": subject_of(cleaned),
        "agent": {
            "name": cleaned.get("agent_name", ""),
            "org": cleaned.get("agent_org", ""),
            "phone": cleaned.get("agent_phone", ""),
            "email": registration["email"],
        }
        if kind == "agent"
        else None,
        "principal": {"name": name_of(cleaned), "email": cleaned.get("cert_email", "")},
        "principal_approved_at": principal_approved[-1] if principal_approved else None,
        "history": [
            c
            | {
                "actor_label": _actor_label(c, names),
                "from_label": states.state_label(c["from_status"]),
                "to_label": states.state_label(c["to_status"]),
            }
            for c in history
        ],
        "holder": names.get(row["assigned_to"]) if row.get("assigned_to") else None,
        "recommender": names.get(row["recommended_by"]) if row.get("recommended_by") else None,
        "documents": await _documents(store, row),
        "actions": {action.value for action in offered},
        # four-eyes: say why the one who recommended it is offered no approval
        "own_recommendation": row["status"] == states.RECOMMENDED
        and row.get("recommended_by") == operator.id,
        "checklist": checks,
        "corporate_number": cleaned.get("corporate_number", "")
        if cleaned.get("include_org") == "yes"
        else "",
        "houjin_url": houjin_bangou_url(cleaned.get("corporate_number", "")),
        "correctable": correctable,
        "reasons": rejection_reasons(),
        "correction": correction_of(row),
        "base": f"{BASE}/{row['public_id']}",
        "options": options,
        "certificates": await certificates_of(int(row["id"])),
    }


def options(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """(value, label) pairs as the form macros' options."""
    return [{"value": value, "label": label} for value, label in pairs]
