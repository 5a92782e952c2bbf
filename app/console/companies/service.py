"""Companies and tickets for admins: the list, adding a company, issuing tickets (shown once),
each ticket's state (available / registered / used / void), voiding one, and the CSV export.
Every issuance, export and void is an audit row in its transaction."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from app.console.audit.service import record
from app.db import is_unique_violation, utcnow, write_transaction
from app.i18n import _
from app.registration.companies import add_company, issue_tickets
from app.registration.tables import Company, Ticket
from app.templating import format_japan_time

CODE = re.compile(r"[A-Z0-9]{2,16}")
NAME_MAX = 200
ISSUE_MAX = 1000


def ticket_state(row: dict[str, Any]) -> str:
    if row.get("voided_at"):
        return "void"
    if row.get("used_at"):
        return "used"
    if row.get("last_registered_at"):
        return "registered"
    return "available"


def state_label(state: str) -> str:
    return {
        "available": _("未使用"),
        "registered": _("登録済み"),
        "used": _("申請に使用済み"),
        "void": _("無効"),
    }.get(state, state)


def check_company(values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    code = values.get("code", "").strip().upper()
    name = values.get("name", "").strip()
    errors: dict[str, str] = {}
    if not CODE.fullmatch(code):
        errors["code"] = _("会社コードは半角英数字2〜16文字で入力してください。")
    if not name:
        errors["name"] = _("会社名を入力してください。")
    elif len(name) > NAME_MAX:
        errors["name"] = _("%(max)s文字以内で入力してください。") % {"max": NAME_MAX}
    return {"code": code, "name": name}, errors


def check_count(raw: str) -> tuple[int, str]:
    if not raw.strip().isdigit() or not 1 <= int(raw) <= ISSUE_MAX:
        return 0, _("発行する枚数は1〜%(max)sの数字で入力してください。") % {"max": ISSUE_MAX}
    return int(raw), ""


async def companies() -> list[dict[str, Any]]:
    rows = await Company.raw(
        "SELECT c.code, c.name, count(t.id) AS tickets, "
        "sum(CASE WHEN t.used_at IS NULL AND t.voided_at IS NULL AND t.id IS NOT NULL "
        "THEN 1 ELSE 0 END) AS open "
        "FROM company c LEFT JOIN ticket t ON t.company = c.id "
        "GROUP BY c.code, c.name ORDER BY c.code"
    )
    return [dict(r) | {"open": int(r["open"] or 0)} for r in rows]


async def company(code: str) -> dict[str, Any] | None:
    row = await Company.select().where(Company.code == code.upper()).first()
    return dict(row) if row else None


async def add(code: str, name: str, actor: str, client: str) -> bool:
    """False when the code exists already."""
    try:
        async with write_transaction(Company._meta.db):
            await add_company(code, name)
            await record("company.add", actor=actor, target=f"company:{code}", client=client)
    except Exception as exc:
        if is_unique_violation(exc):
            return False
        raise
    return True


async def issue(code: str, count: int, actor: str, client: str) -> list[str]:
    """The new numbers (shown once)."""
    async with write_transaction(Company._meta.db):
        numbers = await issue_tickets(code, count)
        await record(
            "tickets.issue",
            actor=actor,
            target=f"company:{code}",
            client=client,
            details={"count": count},
        )
    return numbers


async def tickets(company_id: int, numbers: list[str] | None = None) -> list[dict[str, Any]]:
    query = Ticket.select().where(Ticket.company == company_id)
    if numbers:
        query = query.where(Ticket.number.is_in(numbers))
    rows = [dict(r) for r in await query.order_by(Ticket.id)]
    return [
        r | {"state": ticket_state(r), "state_label": state_label(ticket_state(r))} for r in rows
    ]


async def void(code: str, number: str, actor: str, client: str) -> bool:
    """Void a ticket no application has used: never usable again (its used_at is set too, so
    registration refuses it). False when it was used or void already."""
    now = utcnow()
    found = await company(code)
    if found is None:
        return False
    async with write_transaction(Ticket._meta.db):
        rows = (
            await Ticket.update({Ticket.voided_at: now, Ticket.used_at: now})
            .where(
                (Ticket.company == found["id"])
                & (Ticket.number == number)
                & Ticket.used_at.is_null()
                & Ticket.voided_at.is_null()
            )
            .returning(Ticket.id)
        )
        if not rows:
            return False
        await record(
            "tickets.void",
            actor=actor,
            target=f"ticket:{number}",
            client=client,
            details={"company": code},
        )
    return True


async def export_csv(
    code: str, actor: str, client: str, numbers: list[str] | None = None
) -> str | None:
    """The company's tickets (or those numbers: a batch just issued) as CSV text, the export
    recorded with it; None when there is no such company."""
    found = await company(code)
    if found is None:
        return None
    rows = await tickets(found["id"], numbers)
    await record(
        "tickets.export",
        actor=actor,
        target=f"company:{found['code']}",
        client=client,
        details={"rows": len(rows), "batch": bool(numbers)},
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["number", "state", "issued_at", "last_registered_at"])
    for row in rows:
        writer.writerow(
            [
                row["number"],
                row["state"],
                format_japan_time(row["issued_at"]),
                format_japan_time(row["last_registered_at"]),
            ]
        )
    return out.getvalue()
