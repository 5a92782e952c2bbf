"""What the review's pages show: a queue row, and one application (answers, subject DN,
agent and principal, history with actors, documents, and what this operator may do)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from app.application import form as answers_form
from app.application import states, workflow
from app.application.answers import answers_of, correction_of
from app.application.requirements import kind_label
from app.application.service import summary_of
from app.application.storage import DocumentStore
from app.application.subject import subject_of
from app.application.tables import Application, ApplicationDocument
from app.console.accounts.tables import Operator
from app.console.guards import CurrentOperator
from app.console.review import documents
from app.console.review.form import DOCUMENTS, rejection_reasons
from app.console.review.rules import (
    JAPAN,
    actions,
    age_text_format,
    checklist,
    houjin_bangou_url,
    last_overdue_day,
)
from app.db import utcnow
from app.i18n import _
from app.issuance.console import certificates_of
from app.registration.form import applicant_type_label
from app.settings import Settings
from app.templating import japan_time_format

BASE = "/console/applications"


def name_of(answers: dict[str, str], suffix: str = "") -> str:
    family, given = answers.get(f"family_name{suffix}", ""), answers.get(f"given_name{suffix}", "")
    return f"{family} {given}".strip()


class _Names(msgspec.Struct):
    """The four answers a queue row shows (the rest of the answers are skipped unread)."""

    family_name: str = ""
    given_name: str = ""
    family_name_kana: str = ""
    given_name_kana: str = ""


_read_names = msgspec.json.Decoder(_Names).decode


def names_in(answers_json: str | None) -> tuple[str, str]:
    """(name, name in kana) of a queue row, read from its answers' JSON without making the
    whole answers: json.loads and answers_of took 14 µs a row, this 1.3 (50 rows a page).
    Answers that are not such an object show no name, never an error."""
    try:
        names = _read_names(answers_json or "{}")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return "", ""
    name = f"{names.family_name} {names.given_name}".strip()
    kana = f"{names.family_name_kana} {names.given_name_kana}".strip()
    return name, kana


class QueueRow(NamedTuple):
    """One row of the queue's table, every text worked out before rendering, in the order of
    its cells: the template unpacks it in its loop (`{% for id, reference, ... in rows %}`),
    so each cell is a local of the template's code, not a lookup through Jinja's getattr
    (ten of them a row were a third of the rows' rendering)."""

    id: int
    reference: str
    url: str
    company_code: str
    type_label: str
    name: str
    kana: str
    submitted_iso: str  # "" when not submitted
    submitted_text: str  # Japan time, as the japan_time filter writes it
    age: str
    overdue: bool
    status_label: str
    certificate: dict[str, Any] | None  # the 発行済み tab's newest certificate


def queue_rows(
    rows: list[Any], sla_days: int, certificates: Mapping[int, dict[str, Any]]
) -> list[QueueRow]:
    """The page's rows (dicts or asyncpg Records, read by column name); labels worked out
    once per state, the service level once a page."""
    now = utcnow()
    overdue_until = last_overdue_day(now.astimezone(JAPAN).date(), sla_days)
    japan_time = japan_time_format()
    age_text = age_text_format()
    status_labels: dict[str, str] = {}
    type_labels: dict[str, str] = {}
    waiting = states.WAITING
    make = QueueRow._make
    shown = []
    for row in rows:
        name, kana = names_in(row["answers"])
        status, kind, at = row["status"], row["applicant_type"], row["submitted_at"]
        status_label = status_labels.get(status)
        if status_label is None:
            status_label = status_labels[status] = states.state_label(status)
        type_label = type_labels.get(kind)
        if type_label is None:
            type_label = type_labels[kind] = applicant_type_label(kind)
        overdue, submitted_iso, submitted_text = False, "", ""
        if at is not None:
            local = at.astimezone(JAPAN)
            submitted_iso, submitted_text = at.isoformat(), japan_time(local)
            overdue = status in waiting and local.date() <= overdue_until
        id_ = int(row["id"])
        shown.append(
            make(
                (
                    id_,
                    row["reference"],
                    f"{BASE}/{row['public_id']}",
                    row["company_code"],
                    type_label,
                    name,
                    kana,
                    submitted_iso,
                    submitted_text,
                    age_text(at, now),
                    overdue,
                    status_label,
                    certificates.get(id_) if certificates else None,
                )
            )
        )
    return shown


async def operator_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    rows = await Operator.raw(f"SELECT id, name FROM operator WHERE id IN ({marks})", *ids)
    return {int(r["id"]): str(r["name"]) for r in rows}


def _actor_label(change: dict[str, Any], names: dict[int, str]) -> str:
    kind, actor_id = change["actor"], change["actor_id"]
    if kind == "operator":
        return _("オペレーター %(name)s") % {"name": names.get(int(actor_id), actor_id)}
    if kind == "system":
        return _("システム（%(name)s）") % {"name": actor_id}
    return {"applicant": _("申請者"), "principal": _("本人")}.get(kind, kind)


async def _documents(store: DocumentStore, row: dict[str, Any]) -> list[dict[str, Any]]:
    found = await ApplicationDocument.raw(
        "SELECT * FROM application_document WHERE application = {} ORDER BY id", row["id"]
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


# The application with what its page shows of its registration, company and ticket: one
# query (raw SQL: Piccolo's query building cost more than running the four it was).
_VIEW = (
    "SELECT a.*, r.email AS registration_email, c.code AS company_code, "
    "c.name AS company_name, t.number AS ticket_number "
    "FROM application a JOIN registration r ON r.id = a.registration "
    "JOIN company c ON c.id = r.company JOIN ticket t ON t.id = a.ticket "
    "WHERE a.public_id = {}"
)


async def application_view(public_id: str) -> dict[str, Any] | None:
    """The application's row (as application_row gives it) with `registration_email`,
    `company_code`, `company_name` and `ticket_number`."""
    rows = await Application.raw(_VIEW, public_id)
    return dict(rows[0]) if rows else None


def _registration(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "email": row["registration_email"],
        "company_code": row["company_code"],
        "company_name": row["company_name"],
        "ticket_number": row["ticket_number"],
    }


def decision_inputs(
    row: dict[str, Any], email: str, cleaned: dict[str, str] | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the checklist, the fields that may be sent back to correct) for this application
    (`cleaned`: its answers through check_application, when already at hand)."""
    kind = row["applicant_type"]
    if cleaned is None:
        cleaned, _errors = answers_form.check_application(answers_of(row), kind, email)
    correctable = [
        (name, answers_form.label_of(name, kind))
        for name in answers_form.shown_fields(cleaned, kind)
    ] + [(DOCUMENTS, _("本人確認書類などの書類"))]
    return checklist(cleaned), correctable


async def application_context(
    row: dict[str, Any], operator: CurrentOperator, settings: Settings, store: DocumentStore
) -> dict[str, Any]:
    """Everything the page shows; `row` as application_view gives it."""
    kind = row["applicant_type"]
    registration = _registration(row)
    cleaned, _errors = answers_form.check_application(answers_of(row), kind, registration["email"])
    history = await workflow.history(row["id"])
    ids = {int(c["actor_id"]) for c in history if c["actor"] == "operator"}
    ids |= {int(v) for v in (row.get("assigned_to"), row.get("recommended_by")) if v}
    names = await operator_names(ids)
    principal_approved = [c["at"] for c in history if c["to_status"] == states.PRINCIPAL_APPROVED]
    offered = actions(row, operator.id, operator.role, settings.review.approvals)
    checks, correctable = decision_inputs(row, registration["email"], cleaned)
    return {
        "application": row,
        "title_name": name_of(cleaned),
        "status_label": states.state_label(row["status"]),
        "type_label": applicant_type_label(kind),
        "registration": registration,
        "rows": summary_of(cleaned, kind),
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
