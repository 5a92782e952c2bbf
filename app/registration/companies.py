"""Companies and their tickets: the cached company list that every step-1 view reads, and
the administration of both (`jcan companies`, `jcan tickets`, the demo data)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from app.db import utcnow
from app.registration import form
from app.registration.tables import Company, Ticket

# Companies change a few times a year (`jcan companies add`), yet every step-1 page and every
# inline check reads them: each process keeps the list for a few seconds (`make bench`).
COMPANY_CACHE_SECONDS = 10.0
_companies: tuple[float, dict[str, dict[str, Any]]] | None = None


async def _cached_companies() -> dict[str, dict[str, Any]]:
    """code -> {"id", "code", "name"}, in code order, at most COMPANY_CACHE_SECONDS old."""
    global _companies
    now = time.monotonic()
    if _companies is None or now - _companies[0] > COMPANY_CACHE_SECONDS:
        rows = await Company.select(Company.id, Company.code, Company.name).order_by(Company.code)
        _companies = (now, {r["code"]: dict(r) for r in rows})
    return _companies[1]


def forget_companies() -> None:
    """Drop this process's cached list (after adding a company)."""
    global _companies
    _companies = None


async def company_choices() -> list[dict[str, str]]:
    return [{"code": c["code"], "name": c["name"]} for c in (await _cached_companies()).values()]


async def company_id(code: str) -> int | None:
    # A company missing from the cached list may be newer than the list: ask the database.
    cached = (await _cached_companies()).get(code)
    if cached is not None:
        return int(cached["id"])
    row = await Company.select(Company.id).where(Company.code == code).first()
    return int(row["id"]) if row else None


async def company_exists(code: str) -> bool:
    return await company_id(code) is not None


async def add_company(code: str, name: str) -> None:
    await Company.insert(Company(code=code.upper(), name=name, created_at=utcnow()))
    forget_companies()


def new_ticket_number() -> str:
    alphabet = form.TICKET_ALPHABET
    raw = "".join(
        secrets.choice(alphabet) for _ in range(form.TICKET_GROUPS * form.TICKET_GROUP_SIZE)
    )
    normalised = form.normalise_ticket(raw)
    assert normalised is not None
    return normalised


async def issue_tickets(company_code: str, count: int) -> list[str]:
    company = await Company.select(Company.id).where(Company.code == company_code.upper()).first()
    if company is None:
        raise LookupError(company_code)
    numbers = [new_ticket_number() for _ in range(count)]
    now = utcnow()
    await Ticket.insert(*[Ticket(number=n, company=company["id"], issued_at=now) for n in numbers])
    return numbers


async def list_tickets(company_code: str) -> list[dict[str, Any]]:
    company = await Company.select(Company.id).where(Company.code == company_code.upper()).first()
    if company is None:
        raise LookupError(company_code)
    rows = (
        await Ticket.select(
            Ticket.number, Ticket.issued_at, Ticket.used_at, Ticket.last_registered_at
        )
        .where(Ticket.company == company["id"])
        .order_by(Ticket.id)
    )
    return [dict(r) for r in rows]
