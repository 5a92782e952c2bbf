"""Companies and tickets in the console (admins): adding a company, issuing tickets shown once
with their CSV, each ticket's state, voiding one (registration then refuses it), the CSV
export, `jcan tickets export CODE --csv`, who may open them, and the audit rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.console.audit.tables import AuditEvent
from app.registration.tables import Ticket
from tests.helpers import CSRF, error_of, operator_client, post_step1, register
from tests.support.cli import jcan


async def csrf(browser: Any, path: str) -> str:
    return CSRF.search((await browser.get(path)).text).group(1)  # type: ignore[union-attr]


async def actions() -> list[str]:
    return [
        r["action"] for r in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.seq)
    ]


async def test_only_admins_manage_companies(client: Any, app: Any) -> None:
    for role in ("reviewer", "approver", "auditor"):
        async with operator_client(app, role, f"{role}@x.jp") as browser:
            assert (await browser.get("/console/companies")).status_code == 403
            token = CSRF.search((await browser.get("/console")).text).group(1)  # type: ignore[union-attr]
            refused = await browser.post(
                "/console/companies/ISC/tickets", data={"_csrf_token": token, "count": "5"}
            )
            assert refused.status_code == 403
    assert await Ticket.count() == 4  # the demo data's only


async def test_an_admin_adds_a_company_and_issues_tickets_shown_once_with_csv(
    client: Any, app: Any
) -> None:
    async with operator_client(app, "admin") as admin:
        token = await csrf(admin, "/console/companies")
        bad = await admin.post(
            "/console/companies", data={"_csrf_token": token, "code": "a", "name": ""}
        )
        assert bad.status_code == 422
        assert error_of(bad.text, "code").startswith("会社コードは半角英数字")
        assert error_of(bad.text, "name") == "会社名を入力してください。"
        taken = await admin.post(
            "/console/companies", data={"_csrf_token": token, "code": "isc", "name": "x"}
        )
        assert error_of(taken.text, "code") == "この会社コードは既に登録されています。"
        added = await admin.post(
            "/console/companies",
            data={"_csrf_token": token, "code": "acme", "name": "アクメ株式会社"},
        )
        assert added.status_code == 303 and added.headers["location"] == "/console/companies/ACME"

        refused = await admin.post(
            "/console/companies/ACME/tickets", data={"_csrf_token": token, "count": "0"}
        )
        assert refused.status_code == 422 and error_of(refused.text, "count").startswith(
            "発行する枚数は"
        )
        issued = await admin.post(
            "/console/companies/ACME/tickets", data={"_csrf_token": token, "count": "3"}
        )
        assert issued.status_code == 200 and "3枚のチケットを発行しました" in issued.text
        numbers = [r["number"] for r in await Ticket.select(Ticket.number).order_by(Ticket.id)][-3:]
        assert all(n in issued.text for n in numbers)
        again = await admin.get("/console/companies/ACME")
        assert "発行しました" not in again.text and again.text.count("未使用") >= 3
        batch = await admin.post(
            "/console/companies/ACME/tickets/export",
            data={"_csrf_token": token, "numbers": ",".join(numbers)},
        )
        assert batch.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(batch.content.decode("utf-8-sig"))))
        assert rows[0][:2] == ["number", "state"] and [r[0] for r in rows[1:]] == numbers
    assert await actions() == ["company.add", "tickets.issue", "tickets.export"]


async def test_states_and_voiding_a_ticket(client: Any, app: Any) -> None:
    registered = await register(client, ticket_number=client.tickets[1])
    assert registered.status_code == 303
    client.cookies.clear()
    async with operator_client(app, "admin") as admin:
        page = await admin.get("/console/companies/ISC")
        assert "登録済み" in page.text and "未使用" in page.text
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        voided = await admin.post(
            f"/console/companies/ISC/tickets/{client.tickets[0]}/void", data={"_csrf_token": token}
        )
        assert voided.headers["location"] == "/console/companies/ISC?notice=voided"
        twice = await admin.post(
            f"/console/companies/ISC/tickets/{client.tickets[0]}/void", data={"_csrf_token": token}
        )
        assert twice.headers["location"].endswith("notice=not_voided")
        assert "無効" in (await admin.get("/console/companies/ISC")).text
    refused = await post_step1(client, ticket_number=client.tickets[0])
    assert refused.status_code == 422  # a void ticket registers no more
    event = await AuditEvent.select().where(AuditEvent.action == "tickets.void").first()
    assert event is not None and event["target"] == f"ticket:{client.tickets[0]}"
    assert await AuditEvent.count().where(AuditEvent.action == "tickets.void") == 1


async def test_jcan_tickets_export_writes_csv_and_an_audit_row(client: Any) -> None:
    done = jcan("tickets", "export", "isc", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["number", "state", "issued_at", "last_registered_at"]
    assert sorted(r[0] for r in rows[1:]) == sorted(client.tickets)
    assert all(r[1] == "available" for r in rows[1:])
    event = await AuditEvent.select().where(AuditEvent.action == "tickets.export").first()
    assert event is not None and event["actor"] == "cli" and event["target"] == "company:ISC"
    assert jcan("tickets", "export", "NOPE", "--csv").returncode == 1
