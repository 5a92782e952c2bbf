"""The applicant's emailed link (/apply/t/<token>, an access token of a registration): its
kind, minting a fresh one, what it belongs to, and the sweep of dead ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.db import Cursor, delete_expired_batch
from app.links import tokens
from app.links.kinds import LinkKind
from app.registration.tables import AccessToken
from app.settings import Settings

APPLY_LINK = LinkKind("apply", AccessToken, session_key="apply_token", landing="/apply")


def link_url(settings: Settings, token: str) -> str:
    return APPLY_LINK.url(settings.app.base_url, token)


async def mint_access_link(
    registration: dict[str, Any], settings: Settings, now: datetime
) -> tuple[str, datetime]:
    """A new link for this registration (its older live ones superseded), in the caller's
    transaction: (the address for the mail, its expiry)."""
    minted = await tokens.mint(
        AccessToken,
        {"registration": registration["id"], "ticket": registration["ticket"]},
        timedelta(hours=settings.registration.token_ttl_hours),
        now,
        supersede_by=AccessToken.registration,
    )
    return link_url(settings, minted.token), minted.expires_at


async def registration_for_token(token_id: int) -> dict[str, Any] | None:
    """The registration behind a live token, for the start of the application."""
    reg: Any = AccessToken.registration  # joins typed loosely by Piccolo
    row = (
        await AccessToken.select(
            AccessToken.expires_at,
            reg.id.as_alias("id"),
            reg.ticket.id.as_alias("ticket"),
            reg.public_id.as_alias("public_id"),
            reg.applicant_type.as_alias("applicant_type"),
            reg.email.as_alias("email"),
            reg.created_at.as_alias("registered_at"),
            reg.company.code.as_alias("company_code"),
            reg.company.name.as_alias("company_name"),
            reg.ticket.number.as_alias("ticket_number"),
        )
        .where(AccessToken.id == token_id)
        .first()
    )
    return dict(row) if row else None


EXPIRED_TOKEN_GRACE = tokens.DEAD_TOKEN_GRACE


async def delete_dead_tokens(
    now: datetime, batch_size: int, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """Delete the next batch of unused tokens expired for longer than the grace period."""
    return await delete_expired_batch(AccessToken, tokens.dead(AccessToken, now), batch_size, after)
