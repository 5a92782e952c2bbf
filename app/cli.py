"""The `jcan` management command: migrate, companies, tickets, applications, outbox, audit,
webhooks, the local CA and its CRL, certificates, serve, worker, demo data."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from arq.worker import Worker, async_check_health
from granian import Granian
from granian.constants import Interfaces
from piccolo.apps.migrations.commands.forwards import run_forwards

from app import db
from app.application import commands
from app.console.accounts import commands as operator_commands
from app.console.audit import commands as audit_commands
from app.console.companies import service as companies_service
from app.issuance import commands as certificate_commands
from app.issuance.ca import commands as ca_commands
from app.issuance.webhooks import commands as webhook_commands
from app.jobs import ArqQueue
from app.logs import configure_logging
from app.mail.outbox import enqueue_delivery
from app.mail.service import list_messages, requeue_failed
from app.registration.companies import (
    add_company,
    company_exists,
    issue_tickets,
    list_tickets,
)
from app.schema import TABLES
from app.settings import Settings, SettingsError
from app.templating import format_japan_time
from tasks.worker import worker_settings

COMPANY_CODE = re.compile(r"^[A-Z0-9]{2,16}$")
DEMO_COMPANY = ("ISC", "インタセクト・コミュニケーションズ株式会社")


async def _with_db(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        return await work()
    finally:
        await db.stop(engine)


async def migrate(settings: Settings) -> int:
    os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
    response = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not response.success:
        print(response.message, file=sys.stderr)
        return 1
    return 0


async def companies_add(settings: Settings, code: str, name: str) -> int:
    code = code.upper()
    if not COMPANY_CODE.match(code):
        print("company code must be 2-16 letters A-Z or digits", file=sys.stderr)
        return 2

    async def work() -> int:
        try:
            await add_company(code, name)
        except Exception as exc:
            if db.is_unique_violation(exc):
                print(f"company {code} exists already", file=sys.stderr)
                return 1
            raise
        print(code)
        return 0

    return await _with_db(settings, work)


async def tickets_issue(settings: Settings, code: str, count: int) -> int:
    if not 1 <= count <= 1000:
        print("--count must be between 1 and 1000", file=sys.stderr)
        return 2

    async def work() -> int:
        try:
            numbers = await issue_tickets(code, count)
        except LookupError:
            print(f"no company with code {code.upper()}", file=sys.stderr)
            return 1
        print("\n".join(numbers))
        return 0

    return await _with_db(settings, work)


async def tickets_export(settings: Settings, code: str) -> int:
    """A company's tickets as CSV on stdout (number, state, issued, last registered), the
    export recorded in the audit log (actor `cli`)."""

    async def work() -> int:
        text = await companies_service.export_csv(code, actor="cli", client="")
        if text is None:
            print(f"no company with code {code.upper()}", file=sys.stderr)
            return 1
        sys.stdout.write(text)
        return 0

    return await _with_db(settings, work)


async def tickets_list(settings: Settings, code: str) -> int:
    async def work() -> int:
        try:
            rows = await list_tickets(code)
        except LookupError:
            print(f"no company with code {code.upper()}", file=sys.stderr)
            return 1
        for row in rows:
            status = "used" if row["used_at"] else "available"
            registered = format_japan_time(row["last_registered_at"]) or "-"
            print(f"{row['number']}\t{status}\tlast registered: {registered}")
        return 0

    return await _with_db(settings, work)


async def demo(settings: Settings, count: int) -> int:
    """Seed the demo company ISC with fresh tickets and print them (used by `make run`)."""

    async def work() -> int:
        if not await company_exists(DEMO_COMPANY[0]):
            await add_company(*DEMO_COMPANY)
        numbers = await issue_tickets(DEMO_COMPANY[0], count)
        print(f"Demo company {DEMO_COMPANY[0]}: tickets ready for registration:")
        print("\n".join(f"  {n}" for n in numbers))
        await operator_commands.demo_admin(settings)
        return 0

    return await _with_db(settings, work)


async def outbox_list(settings: Settings, failed_only: bool) -> int:
    async def work() -> int:
        rows = await list_messages("failed" if failed_only else None)
        for row in rows:
            # Recipients are personal data: show the domain only.
            domain = row["recipient"].rsplit("@", 1)[-1]
            print(
                f"{row['id']}\t{row['status']}\t{row['template']}\t*@{domain}\t"
                f"attempts={row['attempts']}\t{format_japan_time(row['created_at'])}\t"
                f"{row['last_error'] or '-'}"
            )
        if not rows:
            print("no failed messages" if failed_only else "the outbox is empty")
        return 0

    return await _with_db(settings, work)


async def outbox_retry(settings: Settings, outbox_id: int) -> int:
    async def work() -> int:
        if not await requeue_failed(outbox_id):
            print(f"message {outbox_id} is not failed (or does not exist)", file=sys.stderr)
            return 1
        if settings.jobs.redis_url:
            queue = ArqQueue(settings)
            await enqueue_delivery(queue, outbox_id, ":retry")
            await queue.close()
            print(f"message {outbox_id} queued for sending")
        else:
            print(f"message {outbox_id} queued; the running app sends it within a minute")
        return 0

    return await _with_db(settings, work)


async def applications(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        if args.action == "list":
            return await commands.applications_list(args.status)
        return await commands.resend_approval(settings, args.reference)

    return await _with_db(settings, work)


def serve(host: str, port: int, workers: int) -> int:
    Granian(
        "app.asgi:app_from_env",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
    ).serve()
    return 0


def worker(settings: Settings, check: bool) -> int:
    if not settings.jobs.redis_url:
        print("REDIS_URL is not set: jobs run in-process inside `jcan serve`", file=sys.stderr)
        return 2
    configure_logging(settings.app.log_level)
    options = worker_settings(settings)
    if check:
        return asyncio.run(
            async_check_health(options["redis_settings"], None, options["queue_name"])
        )
    if settings.jobs.worker_niceness:
        # Background work: where the worker shares cores with the web tier, pages come first.
        os.nice(settings.jobs.worker_niceness)
    # uvloop, as under granian: the worker spends its time on Redis, database and SMTP
    # sockets, where uvloop's transports are cheaper than asyncio's (`make bench`).
    asyncio.set_event_loop(uvloop.new_event_loop())
    Worker(**options).run()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jcan", description="JCAN certificate portal management")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    companies = sub.add_parser("companies", help="manage companies").add_subparsers(
        dest="action", required=True
    )
    add = companies.add_parser("add", help="add a company")
    add.add_argument("code")
    add.add_argument("name")
    tickets = sub.add_parser("tickets", help="manage tickets").add_subparsers(
        dest="action", required=True
    )
    issue = tickets.add_parser("issue", help="issue new tickets and print their numbers")
    issue.add_argument("code")
    issue.add_argument("--count", type=int, default=1)
    listing = tickets.add_parser("list", help="list a company's tickets")
    listing.add_argument("code")
    export = tickets.add_parser("export", help="a company's tickets as CSV (audited)")
    export.add_argument("code")
    export.add_argument("--csv", action="store_true", required=True, help="CSV on stdout")
    serve_p = sub.add_parser("serve", help="serve the web app with granian")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=8000)
    serve_p.add_argument("--workers", type=int, default=1)
    worker_p = sub.add_parser("worker", help="run the arq worker (needs REDIS_URL)")
    worker_p.add_argument("--check", action="store_true", help="health check, then exit")
    outbox = sub.add_parser("outbox", help="inspect and retry outgoing mail").add_subparsers(
        dest="action", required=True
    )
    outbox_list_p = outbox.add_parser("list", help="list outbox messages, newest first")
    outbox_list_p.add_argument("--failed", action="store_true", help="only failed messages")
    outbox_retry_p = outbox.add_parser("retry", help="send a failed message again")
    outbox_retry_p.add_argument("id", type=int)
    applications = sub.add_parser("applications", help="issuance applications").add_subparsers(
        dest="action", required=True
    )
    applications_list_p = applications.add_parser("list", help="list applications, newest first")
    applications_list_p.add_argument("--status", help="only this status (e.g. submitted)")
    resend = applications.add_parser(
        "resend-approval", help="send the principal a fresh approval link"
    )
    resend.add_argument("reference")
    operator_commands.add_parser(sub)
    audit_commands.add_parser(sub)
    webhook_commands.add_parser(sub)
    certificate_commands.add_parser(sub)
    ca_commands.add_parser(sub)
    demo_p = sub.add_parser("demo", help="seed the demo company ISC with tickets")
    demo_p.add_argument("--count", type=int, default=3)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    command: Any = args.command
    if command == "migrate":
        return asyncio.run(migrate(settings))
    if command == "companies":
        return asyncio.run(companies_add(settings, args.code, args.name))
    if command == "tickets" and args.action == "issue":
        return asyncio.run(tickets_issue(settings, args.code, args.count))
    if command == "tickets" and args.action == "export":
        return asyncio.run(tickets_export(settings, args.code))
    if command == "tickets":
        return asyncio.run(tickets_list(settings, args.code))
    if command == "serve":
        return serve(args.host, args.port, args.workers)
    if command == "worker":
        return worker(settings, args.check)
    if command == "outbox" and args.action == "list":
        return asyncio.run(outbox_list(settings, args.failed))
    if command == "outbox":
        return asyncio.run(outbox_retry(settings, args.id))
    if command == "demo":
        return asyncio.run(demo(settings, args.count))
    if command == "applications":
        return asyncio.run(applications(settings, args))
    if command == "operators":
        return asyncio.run(_with_db(settings, lambda: operator_commands.run(settings, args)))
    if command == "audit":
        return asyncio.run(_with_db(settings, lambda: audit_commands.run(args)))
    if command == "webhooks":
        return asyncio.run(_with_db(settings, lambda: webhook_commands.run(settings, args)))
    if command == "certificates":
        return asyncio.run(_with_db(settings, lambda: certificate_commands.run(args)))
    if command == "ca" and args.action == "init":
        return ca_commands.init(settings, args.if_missing)
    if command == "ca":
        return ca_commands.show(settings)
    if command == "crl":
        return asyncio.run(
            _with_db(settings, lambda: ca_commands.crl(settings, args.output, args.pem))
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
