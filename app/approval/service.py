"""The principal's approval of an agent's application: the link, the decision, the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.application import states, workflow
from app.application.answers import answers_of
from app.application.form import check_application
from app.application.subject import subject_of
from app.application.tables import Application, ApprovalToken
from app.application.workflow import PRINCIPAL
from app.db import utcnow
from app.links import tokens
from app.links.kinds import LinkKind
from app.mail.outbox import Letters
from app.registration.links import mint_access_link
from app.registration.tables import Registration
from app.settings import Settings
from app.web.state import Services

APPROVE_LINK = LinkKind("approve", ApprovalToken, session_key="approve_token", landing="/approve")


class DecisionTaken(Exception):
    """The link was used, superseded or expired before this decision arrived."""


@dataclass(frozen=True)
class Decision:
    approved: bool
    outbox_id: int


async def create_approval_link(
    application_id: int, settings: Settings, now: datetime
) -> tuple[str, datetime]:
    """A fresh approval link (older live ones superseded); call inside the transaction."""
    minted = await tokens.mint(
        ApprovalToken,
        {"application": application_id},
        timedelta(hours=settings.registration.token_ttl_hours),
        now,
        supersede_by=ApprovalToken.application,
    )
    return APPROVE_LINK.url(settings.app.base_url, minted.token), minted.expires_at


async def request_approval(
    letters: Letters,
    application_id: int,
    reference: str,
    cleaned: dict[str, str],
    settings: Settings,
) -> tuple[int, datetime]:
    """A fresh approval link and its mail to the principal (the certificate's address), in
    the caller's transaction: (outbox id, the link's expiry)."""
    link, expires_at = await create_approval_link(application_id, settings, letters.now)
    outbox_id = await letters.add(
        "principal_approval_request",
        cleaned["cert_email"],
        {
            "reference": reference,
            "subject": subject_of(cleaned),
            "link": link,
            "expires_at": expires_at,
            "agent_name": cleaned.get("agent_name", ""),
        },
    )
    return outbox_id, expires_at


async def application_for(token_id: int) -> dict[str, Any] | None:
    row = (
        await ApprovalToken.select(ApprovalToken.application)
        .where(ApprovalToken.id == token_id)
        .first()
    )
    if row is None:
        return None
    application = await Application.select().where(Application.id == row["application"]).first()
    return dict(application) if application else None


async def decided_with(token_id: int) -> dict[str, Any] | None:
    """The application whose standing decision this used token made (a decision posted again:
    a double click or a replay), or None."""
    token = await ApprovalToken.select().where(ApprovalToken.id == token_id).first()
    if token is None or token["used_at"] is None:
        return None
    application = await application_for(token_id)
    decided = (states.PRINCIPAL_APPROVED, states.PRINCIPAL_DECLINED)
    if application is None or application["status"] not in decided:
        return None
    return application if application["decided_at"] == token["used_at"] else None


async def decide(
    token_id: int,
    approve: bool,
    reason: str,
    services: Services,
    now: datetime | None = None,
) -> Decision:
    """One transaction: consume the approval token, move the application, tell the agent
    (with a fresh link to correct and re-send when declined)."""
    now = now or utcnow()
    async with services.outbox.transaction(now) as letters:
        consumed = await tokens.consume(ApprovalToken, token_id, now, ApprovalToken.application)
        if consumed is None:
            raise DecisionTaken()
        application = (
            await Application.select().where(Application.id == consumed["application"]).first()
        )
        assert application is not None
        if application["status"] != states.AWAITING_PRINCIPAL:
            raise DecisionTaken()
        target = states.PRINCIPAL_APPROVED if approve else states.PRINCIPAL_DECLINED
        moved = await workflow.move(
            dict(application),
            target,
            PRINCIPAL,
            "" if approve else reason,
            decided_at=now,
            decline_reason="" if approve else reason,
        )
        if moved is None:
            raise DecisionTaken()
        registration = (
            await Registration.select()
            .where(Registration.id == application["registration"])
            .first()
        )
        assert registration is not None
        cleaned, _ = check_application(answers_of(application), application["applicant_type"])
        context: dict[str, Any] = {
            "reference": application["reference"],
            "approved": approve,
            "reason": reason,
            "principal_name": f"{cleaned.get('family_name', '')} {cleaned.get('given_name', '')}",
        }
        if not approve:
            context["link"], context["expires_at"] = await mint_access_link(
                registration, services.settings, now
            )
        outbox_id = await letters.add("principal_outcome", registration["email"], context)
    return Decision(approve, outbox_id)
