"""The principal's approval of an agent's application: the link, the decision, the outcome."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jinja2
from piccolo.engine.base import Engine

from app.application import states, workflow
from app.application.answers import answers_of
from app.application.form import check_application
from app.application.subject import subject_of
from app.application.tables import Application, ApprovalToken
from app.application.workflow import PRINCIPAL
from app.db import utcnow, write_transaction
from app.jobs import JobQueue
from app.mail.service import queue_message
from app.registration.service import (
    LinkResolution,
    LinkState,
    hash_token,
    is_well_formed_token,
    link_state_of,
    link_url,
)
from app.registration.tables import AccessToken, Registration
from app.settings import Settings

APPROVAL_PATH = "/approve/t/"


class DecisionTaken(Exception):
    """The link was used, superseded or expired before this decision arrived."""


@dataclass(frozen=True)
class Decision:
    approved: bool
    outbox_id: int


async def create_approval_link(
    application_id: int, settings: Settings, now: datetime
) -> tuple[str, datetime]:
    """A fresh approval token (older live ones superseded); call inside the transaction."""
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.registration.token_ttl_hours)
    await ApprovalToken.update({ApprovalToken.superseded_at: now}).where(
        (ApprovalToken.application == application_id)
        & ApprovalToken.used_at.is_null()
        & ApprovalToken.superseded_at.is_null()
    )
    await ApprovalToken.insert(
        ApprovalToken(
            token_hash=hash_token(token),
            application=application_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return f"{settings.app.base_url}{APPROVAL_PATH}{token}", expires_at


async def request_approval(
    application_id: int,
    reference: str,
    cleaned: dict[str, str],
    settings: Settings,
    env: jinja2.Environment,
    now: datetime,
) -> tuple[int, datetime]:
    """A fresh approval link and its mail to the principal (the certificate's address), in
    the caller's transaction: (outbox id, the link's expiry)."""
    link, expires_at = await create_approval_link(application_id, settings, now)
    outbox_id = await queue_message(
        env,
        "principal_approval_request",
        cleaned["cert_email"],
        {
            "reference": reference,
            "subject": subject_of(cleaned),
            "link": link,
            "expires_at": expires_at,
            "agent_name": cleaned.get("agent_name", ""),
        },
        settings.app.mail_domain,
        now,
    )
    return outbox_id, expires_at


async def resolve(token: str, now: datetime | None = None) -> LinkResolution:
    if not is_well_formed_token(token):
        return LinkResolution(LinkState.INVALID)
    row = await ApprovalToken.select().where(ApprovalToken.token_hash == hash_token(token)).first()
    return link_state_of(row, now or utcnow())


async def state_of(token_id: int, now: datetime | None = None) -> LinkState:
    row = await ApprovalToken.select().where(ApprovalToken.id == token_id).first()
    return link_state_of(row, now or utcnow()).state


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
    settings: Settings,
    engine: Engine,
    env: jinja2.Environment,
    queue: JobQueue,
    now: datetime | None = None,
) -> Decision:
    """One transaction: consume the approval token, move the application, tell the agent
    (with a fresh link to correct and re-send when declined)."""
    now = now or utcnow()
    async with write_transaction(engine):
        consumed = (
            await ApprovalToken.update({ApprovalToken.used_at: now})
            .where(
                (ApprovalToken.id == token_id)
                & ApprovalToken.used_at.is_null()
                & ApprovalToken.superseded_at.is_null()
                & (ApprovalToken.expires_at > now)
            )
            .returning(ApprovalToken.application)
        )
        if not consumed:
            raise DecisionTaken()
        application = (
            await Application.select().where(Application.id == consumed[0]["application"]).first()
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
            context["link"], context["expires_at"] = await _fresh_access_link(
                registration, settings, now
            )
        outbox_id = await queue_message(
            env, "principal_outcome", registration["email"], context, settings.app.mail_domain, now
        )
    await queue.enqueue("send_mail", outbox_id, job_id=f"send_mail:{outbox_id}")
    return Decision(approve, outbox_id)


async def _fresh_access_link(
    registration: dict[str, Any], settings: Settings, now: datetime
) -> tuple[str, datetime]:
    """A new access token for the agent to correct and re-send (older live ones superseded)."""
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.registration.token_ttl_hours)
    await AccessToken.update({AccessToken.superseded_at: now}).where(
        (AccessToken.registration == registration["id"])
        & AccessToken.used_at.is_null()
        & AccessToken.superseded_at.is_null()
    )
    await AccessToken.insert(
        AccessToken(
            token_hash=hash_token(token),
            registration=registration["id"],
            ticket=registration["ticket"],
            created_at=now,
            expires_at=expires_at,
        )
    )
    return link_url(settings, token), expires_at
