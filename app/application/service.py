"""Application operations: the draft, documents, submission (one transaction) and status."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ulid import ULID

from app.application import search_index, states, workflow
from app.application.answers import answers_of
from app.application.bounds import storage_errors
from app.application.form import (
    check_application,
    display_value,
    fields_for,
    label_of,
    shown_fields,
)
from app.application.requirements import missing_documents
from app.application.subject import subject_of
from app.application.tables import Application, ApprovalToken
from app.application.uploads import documents_of
from app.application.workflow import APPLICANT, Actor
from app.approval.service import request_approval
from app.db import is_unique_violation, utcnow, write_transaction
from app.links import tokens
from app.registration.form import TICKET_ALPHABET, applicant_type_label
from app.registration.tables import AccessToken, Registration, Ticket
from app.web.state import Services

# An agent's application goes on to the principal as part of its submission.
AGENT_ROUTING = Actor.system("submit")


class AlreadySubmitted(Exception):
    """The link's token was consumed meanwhile (another submit won, or it expired)."""


class NotReady(Exception):
    """The answers or documents are not complete; `errors` says what."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("application not ready")
        self.errors = errors


@dataclass(frozen=True)
class Submitted:
    reference: str
    status: str
    outbox_ids: tuple[int, ...]


def new_reference() -> str:
    """Human-readable, random, unambiguous: JC-7K3M-9QXP."""
    body = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(8))
    return f"JC-{body[:4]}-{body[4:]}"


async def for_registration(registration: dict[str, Any]) -> dict[str, Any]:
    """The registration's application, created as an empty draft on first visit. A draft left
    by an earlier registration of the same ticket, by the same email address and applicant
    type, moves over to this one: registering again after the link expired loses nothing."""
    registration_id = registration["id"]
    row = await Application.select().where(Application.registration == registration_id).first()
    if row is not None:
        return dict(row)
    if await _carry_over(registration):
        row = await Application.select().where(Application.registration == registration_id).first()
        if row is not None:
            return dict(row)
    now = utcnow()
    try:
        await Application.insert(
            Application(
                public_id=str(ULID()),
                registration=registration_id,
                ticket=registration["ticket"],
                applicant_type=registration["applicant_type"],
                status=states.DRAFT,
                answers="{}",
                created_at=now,
                updated_at=now,
            )
        )
    except Exception as exc:  # two first visits at once: the other one created it
        if not is_unique_violation(exc):
            raise
    row = await Application.select().where(Application.registration == registration_id).first()
    assert row is not None
    return dict(row)


async def _carry_over(registration: dict[str, Any]) -> bool:
    earlier: Any = Application.registration  # joins typed loosely by Piccolo
    rows = (
        await Application.select(Application.id, earlier.email.as_alias("email"))
        .where(
            (Application.ticket == registration["ticket"])
            & (Application.status == states.DRAFT)
            & (Application.applicant_type == registration["applicant_type"])
            & (Application.registration != registration["id"])
        )
        .order_by(Application.id, ascending=False)
    )
    for row in rows:
        if str(row["email"]).casefold() == str(registration["email"]).casefold():
            moved = (
                await Application.update(
                    {
                        Application.registration: registration["id"],
                        Application.updated_at: utcnow(),
                    }
                )
                .where((Application.id == row["id"]) & (Application.status == states.DRAFT))
                .returning(Application.id)
            )
            return bool(moved)
    return False


async def save_answers(
    application_id: int, values: dict[str, str], applicant_type: str
) -> dict[str, str]:
    """Keep what was entered (cleaned where it is valid), only while the application is a draft
    and only when every answer is within its maximum: otherwise nothing is stored and the
    errors say which answers are too long (form.storage_errors)."""
    errors = storage_errors(values, applicant_type)
    if errors:
        return errors
    allowed = set(fields_for(applicant_type))
    kept = {k: v for k, v in values.items() if k in allowed}
    async with write_transaction(Application._meta.db):
        saved = (
            await Application.update(
                {
                    Application.answers: json.dumps(kept, ensure_ascii=False),
                    Application.updated_at: utcnow(),
                }
            )
            .where((Application.id == application_id) & (Application.status == states.DRAFT))
            .returning(Application.id)
        )
        if saved:
            await search_index.refresh(application_id)
    return {}


async def reopen_if_declined(application: dict[str, Any]) -> dict[str, Any]:
    """A declined application (by the principal), or one the LRA asked to correct, goes back
    to draft when the applicant opens the fresh link."""
    if application["status"] not in (states.PRINCIPAL_DECLINED, states.CORRECTION_REQUESTED):
        return application
    async with write_transaction(Application._meta.db):
        await workflow.move(application, states.DRAFT, APPLICANT)
    return {**application, "status": states.DRAFT}


def check_ready(
    answers: dict[str, str],
    applicant_type: str,
    documents: list[dict[str, Any]],
    registration_email: str = "",
) -> dict[str, str]:
    """Everything that still stops a submission, field by field (empty = ready)."""
    cleaned, errors = check_application(answers, applicant_type, registration_email)
    missing = missing_documents(cleaned, documents)
    if missing:
        errors = {**errors, "documents": missing}
    return errors


def summary_rows(
    answers: dict[str, str], applicant_type: str, registration_email: str = ""
) -> list[tuple[str, str, str]]:
    """(field, label, display value) for the check-answers page and the principal's view."""
    cleaned, _errors = check_application(answers, applicant_type, registration_email)
    return summary_of(cleaned, applicant_type)


def summary_of(cleaned: dict[str, str], applicant_type: str) -> list[tuple[str, str, str]]:
    """summary_rows() of answers already cleaned by check_application."""
    return [
        (name, label_of(name, applicant_type), display_value(name, cleaned))
        for name in shown_fields(cleaned, applicant_type)
    ]


async def submit(
    application: dict[str, Any],
    token_id: int,
    services: Services,
    now: datetime | None = None,
) -> Submitted:
    """One transaction: consume the access token (once, whoever races), mark the ticket used,
    give the application its reference, move it on, and queue the mails."""
    now = now or utcnow()
    answers = answers_of(application)
    applicant_type = application["applicant_type"]
    documents = await documents_of(application["id"])
    registration_email = await _registration_email(application["registration"])
    errors = check_ready(answers, applicant_type, documents, registration_email)
    if errors:
        raise NotReady(errors)
    cleaned, _errors = check_application(answers, applicant_type, registration_email)
    async with services.outbox.transaction(now) as letters:
        if await tokens.consume(AccessToken, token_id, now) is None:
            raise AlreadySubmitted()
        ticket = (
            await Ticket.update({Ticket.used_at: now})
            .where((Ticket.id == application["ticket"]) & Ticket.used_at.is_null())
            .returning(Ticket.id)
        )
        # A ticket buys one certificate: already used means by this very application (sent
        # again after the principal declined), or the submit must not go through.
        if not ticket and not application.get("reference"):
            raise AlreadySubmitted()
        if application["status"] != states.DRAFT:  # read before another submit won
            raise AlreadySubmitted()
        reference = application.get("reference") or new_reference()
        moved = await workflow.move(
            application,
            states.SUBMITTED,
            APPLICANT,
            reference=reference,
            submitted_at=now,
            answers=json.dumps(cleaned, ensure_ascii=False),
            correction="",  # a correction the LRA asked for is answered by this submission
        )
        if moved is None:
            raise AlreadySubmitted()
        await search_index.refresh(application["id"])
        status = states.SUBMITTED
        context = {
            "reference": reference,
            "applicant_type_label": applicant_type_label(applicant_type),
            "subject": subject_of(cleaned),
            "documents": documents,
        }
        if applicant_type == "agent":
            await workflow.move(moved, states.AWAITING_PRINCIPAL, AGENT_ROUTING)
            status = states.AWAITING_PRINCIPAL
            _outbox_id, context["approval_expires"] = await request_approval(
                letters, application["id"], reference, cleaned, services.settings
            )
        await letters.add(
            "application_submitted", registration_email, {**context, "status": status}
        )
    return Submitted(reference, status, tuple(letters.ids))


async def _registration_email(registration_id: int) -> str:
    row = (
        await Registration.select(Registration.email)
        .where(Registration.id == registration_id)
        .first()
    )
    assert row is not None
    return str(row["email"])


async def list_applications(status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Applications for operators, newest first (no personal data beyond the reference)."""
    company: Any = Application.registration.company  # joins typed loosely by Piccolo
    query = Application.select(
        Application.reference,
        Application.public_id,
        Application.applicant_type,
        Application.status,
        Application.created_at,
        Application.submitted_at,
        company.code.as_alias("company_code"),
    )
    if status:
        query = query.where(Application.status == status)
    return [dict(r) for r in await query.order_by(Application.id, ascending=False).limit(limit)]


async def documents_missing(application: dict[str, Any]) -> dict[str, str]:
    """{"documents": message} while a required kind of document is missing."""
    cleaned, _errors = check_application(answers_of(application), application["applicant_type"])
    missing = missing_documents(cleaned, await documents_of(application["id"]))
    return {"documents": missing} if missing else {}


async def by_public_id(public_id: str) -> dict[str, Any] | None:
    row = await Application.select().where(Application.public_id == public_id).first()
    return dict(row) if row else None


async def is_submitted(public_id: str) -> bool:
    row = await by_public_id(public_id)
    return row is not None and row["status"] != states.DRAFT


async def approval_expires(application_id: int) -> datetime | None:
    """When the principal's live approval link expires (None when there is none)."""
    row = (
        await ApprovalToken.select(ApprovalToken.expires_at)
        .where(
            (ApprovalToken.application == application_id)
            & ApprovalToken.used_at.is_null()
            & ApprovalToken.superseded_at.is_null()
        )
        .order_by(ApprovalToken.id, ascending=False)
        .first()
    )
    return row["expires_at"] if row else None
