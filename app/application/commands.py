"""`jcan applications ...`: list applications, send the principal a fresh approval link."""

from __future__ import annotations

import sys

from app.application import states
from app.application.form import check_application
from app.application.service import answers_of, list_applications
from app.application.tables import Application
from app.approval.service import request_approval
from app.jobs import ArqQueue
from app.mail.outbox import Outbox
from app.settings import Settings
from app.templating import format_japan_time, make_environment


async def applications_list(status: str | None) -> int:
    if status and status not in states.ALL:
        print(f"unknown status {status!r}; one of: {', '.join(states.ALL)}", file=sys.stderr)
        return 2
    rows = await list_applications(status)
    for row in rows:
        submitted = format_japan_time(row["submitted_at"]) if row["submitted_at"] else "-"
        print(
            f"{row['reference'] or '-'}\t{row['status']}\t{row['applicant_type']}\t"
            f"{row['company_code']}\tcreated={format_japan_time(row['created_at'])}\t"
            f"submitted={submitted}"
        )
    if not rows:
        print(f"no applications with status {status}" if status else "no applications")
    return 0


async def resend_approval(settings: Settings, reference: str) -> int:
    """A fresh approval link for an application still awaiting its principal (the old link
    expired or the mail was lost); the earlier link stops working."""
    row = await Application.select().where(Application.reference == reference.upper()).first()
    if row is None or row["status"] != states.AWAITING_PRINCIPAL:
        print(f"{reference}: no application awaiting the principal's approval", file=sys.stderr)
        return 1
    cleaned, _errors = check_application(answers_of(row), row["applicant_type"])
    # Without Redis the running app's relay enqueues the row within a minute.
    queue = ArqQueue(settings) if settings.jobs.redis_url else None
    env = make_environment(settings)
    outbox = Outbox(Application._meta.db, env, settings.app.mail_domain, queue)
    try:
        async with outbox.transaction() as letters:
            outbox_id, _expires_at = await request_approval(
                letters, row["id"], row["reference"], cleaned, settings
            )
    finally:
        if queue is not None:
            await queue.close()
    print(f"{reference}: approval request {outbox_id} queued")
    return 0
