"""Registration operations: check step 1 against the database, register (one transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from ulid import ULID

from app.captcha import service as captcha
from app.db import is_unique_violation, utcnow
from app.links.tokens import hash_token, new_token
from app.registration import form
from app.registration.companies import company_exists, company_id
from app.registration.form import Step1Data, TicketState
from app.registration.links import link_url
from app.registration.tables import AccessToken, DraftUse, Registration, Ticket
from app.web.state import Services


class TicketUnavailable(Exception):
    """The ticket was used or vanished between validation and registration."""


class AlreadyRegistered(Exception):
    """This draft (its nonce) made a registration already: a replay or a double submit."""

    def __init__(self, email: str, expires_at: datetime) -> None:
        super().__init__("draft already registered")
        self.email = email
        self.expires_at = expires_at


@dataclass(frozen=True)
class Registered:
    public_id: str
    email: str
    expires_at: datetime
    outbox_id: int
    token: str  # the raw token: only ever put into the mail (and tests)


async def ticket_state(company_code: str, ticket_number: str) -> TicketState:
    company = await company_id(company_code)
    rows = await Ticket.raw(TICKET_USED_AT, ticket_number, company) if company is not None else []
    row = rows[0] if rows else None
    if row is None:
        return TicketState.NOT_FOUND
    return TicketState.USED if row["used_at"] is not None else TicketState.AVAILABLE


async def check_fields(
    cleaned: Mapping[str, str], errors: dict[str, str], only: str | None = None
) -> dict[str, str]:
    """Add the errors that need the database (company, ticket) to the syntax errors; with
    `only`, just what that field's message depends on (an inline check of one field)."""
    errors = dict(errors)
    if only is not None and only not in ("company_code", "ticket_number"):
        return errors
    code = cleaned.get("company_code", "")
    if code and "company_code" not in errors:
        message = form.company_error(await company_exists(code))
        if message:
            errors["company_code"] = message
    ticket = cleaned.get("ticket_number", "") if only != "company_code" else ""
    if ticket and not {"company_code", "ticket_number"} & errors.keys():
        message = form.ticket_error(await ticket_state(code, ticket))
        if message:
            errors["ticket_number"] = message
    return errors


async def validate_step1(
    values: Mapping[str, str],
    captcha_key: bytes,
    captcha_ttl_seconds: int = 600,
    now: datetime | None = None,
) -> tuple[dict[str, str], dict[str, str], Step1Data | None]:
    """Every rule of step 1, the CAPTCHA last (it is consumed by the check, right or wrong)."""
    cleaned, errors = form.check_step1_syntax(values)
    errors = await check_fields(cleaned, errors)
    if "captcha_answer" not in errors:
        verdict = await captcha.verify(
            values.get("captcha_id", ""), values.get("captcha_answer", ""), captcha_key, now
        )
        message = form.captcha_error(verdict.value, captcha_ttl_seconds // 60)
        if message:
            errors["captcha_answer"] = message
    if errors:
        return cleaned, form.ordered(errors), None
    sealed = captcha.unseal(values.get("captcha_id", ""), captcha_key)
    assert sealed is not None  # verified just now
    data = Step1Data(
        applicant_type=cleaned["applicant_type"],
        company_code=cleaned["company_code"],
        ticket_number=cleaned["ticket_number"],
        email=cleaned["email"],
        nonce=sealed.use_id,
    )
    return cleaned, {}, data


# The statements of a registration, written as SQL (Piccolo raw queries, `{}` placeholders,
# run on either engine): building each with the query builder cost 55-75 µs of CPU, more
# than PostgreSQL took to run it (`make bench`).
LOCK_TICKET = (
    "UPDATE ticket SET last_registered_at = {} "
    "WHERE number = {} AND company = {} AND used_at IS NULL RETURNING id"
)
SUPERSEDE_TOKENS = (
    "UPDATE access_token SET superseded_at = {} "
    "WHERE ticket = {} AND used_at IS NULL AND superseded_at IS NULL"
)
INSERT_REGISTRATION = (
    "INSERT INTO registration (public_id, applicant_type, company, ticket, email, created_at) "
    "VALUES ({}, {}, {}, {}, {}, {}) RETURNING id"
)
_INTO_ACCESS_TOKEN = (
    "INSERT INTO access_token (token_hash, registration, ticket, created_at, expires_at) "
)
INSERT_TOKEN = _INTO_ACCESS_TOKEN + "VALUES ({}, {}, {}, {}, {})"
# The draft's nonce is unique: a second registration of one draft fails here and rolls back.
_INTO_DRAFT_USE = "INSERT INTO registration_draft_use (nonce, registration, created_at) "
INSERT_DRAFT_USE = _INTO_DRAFT_USE + "VALUES ({}, {}, {})"
# PostgreSQL: the four together (data-modifying WITH; SQLite has none). The UPDATE does not
# see the token the same statement inserts.
REGISTER_PG = (
    f"WITH superseded AS ({SUPERSEDE_TOKENS}), "
    f"registered AS ({INSERT_REGISTRATION}), "
    f"used AS ({_INTO_DRAFT_USE}SELECT {{}}, id, {{}} FROM registered) "
    f"{_INTO_ACCESS_TOKEN}"
    "SELECT {}, id, {}, {}, {} FROM registered"
)
TICKET_USED_AT = "SELECT used_at FROM ticket WHERE number = {} AND company = {}"


async def register(data: Step1Data, services: Services, now: datetime | None = None) -> Registered:
    """One transaction: registration, a fresh token superseding live ones, the guidance mail,
    and the draft's nonce taken, so a draft registers once (AlreadyRegistered after that).

    The ticket row is touched first (UPDATE ... WHERE used_at IS NULL), which locks it on
    PostgreSQL and takes the write lock on SQLite, so racing registrations of one ticket
    run one after another and exactly one token stays live.
    """
    try:
        return await _register(data, services, now or utcnow())
    except TicketUnavailable:
        earlier = await _registered_with(data.nonce)
        if earlier is not None:  # a replay after the application used the ticket
            raise earlier from None
        raise
    except Exception as exc:
        earlier = await _registered_with(data.nonce) if is_unique_violation(exc) else None
        if earlier is not None:
            raise earlier from None
        raise


async def _registered_with(nonce: str) -> AlreadyRegistered | None:
    """The registration this draft made, if it made one (replays only: not the hot path)."""
    reg: Any = DraftUse.registration  # joins typed loosely by Piccolo
    row = (
        await DraftUse.select(reg.id.as_alias("id"), reg.email.as_alias("email"))
        .where(DraftUse.nonce == nonce)
        .first()
    )
    if row is None:
        return None
    token = (
        await AccessToken.select(AccessToken.expires_at)
        .where(AccessToken.registration == row["id"])
        .order_by(AccessToken.id)
        .first()
    )
    assert token is not None  # written with the registration
    return AlreadyRegistered(str(row["email"]), token["expires_at"])


async def _register(data: Step1Data, services: Services, now: datetime) -> Registered:
    settings = services.settings
    token = new_token()
    expires_at = now + timedelta(hours=settings.registration.token_ttl_hours)
    public_id = str(ULID())
    async with services.outbox.transaction(now) as letters:
        company = await company_id(data.company_code)  # companies are never deleted
        locked = await Ticket.raw(LOCK_TICKET, now, data.ticket_number, company or -1)
        if company is None or not locked:
            raise TicketUnavailable(data.ticket_number)
        ticket_id = locked[0]["id"]
        row = (public_id, data.applicant_type, company, ticket_id, data.email, now)
        if isinstance(services.engine, PostgresEngine):
            # One round trip for four statements; the ticket is locked already, so this
            # statement's snapshot sees every token committed before the lock was granted.
            await Registration.raw(
                REGISTER_PG,
                *(now, ticket_id),
                *row,
                *(data.nonce, now),
                *(hash_token(token), ticket_id, now, expires_at),
            )
        else:
            await AccessToken.raw(SUPERSEDE_TOKENS, now, ticket_id)
            inserted = await Registration.raw(INSERT_REGISTRATION, *row)
            await DraftUse.raw(INSERT_DRAFT_USE, data.nonce, inserted[0]["id"], now)
            await AccessToken.raw(
                INSERT_TOKEN, hash_token(token), inserted[0]["id"], ticket_id, now, expires_at
            )
        outbox_id = await letters.add(
            "registration_link",
            data.email,
            {
                "applicant_type": data.applicant_type,
                "applicant_type_label": form.applicant_type_label(data.applicant_type),
                "company_code": data.company_code,
                "ticket_number": data.ticket_number,
                "link": link_url(settings, token),
                "expires_at": expires_at,
                "ttl_hours": settings.registration.token_ttl_hours,
            },
        )
    return Registered(public_id, data.email, expires_at, outbox_id, token)
