"""`jcan applications ...`: list applications, send the principal a fresh approval link."""

from __future__ import annotations

import sys

from app import db
from app.application import states
from app.application.form import check_application
from app.application.service import answers_of, list_applications
from app.application.tables import Application
from app.approval.service import request_approval
from app.jobs import ArqQueue
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
    env = make_environment(settings)
    now = db.utcnow()
    engine = Application._meta.db
    async with db.write_transaction(engine):
        outbox_id, _expires_at = await request_approval(
            row["id"], row["reference"], cleaned, settings, env, now
        )
    if settings.jobs.redis_url:
        queue = ArqQueue(settings)
        await queue.enqueue("send_mail", outbox_id, job_id=f"send_mail:{outbox_id}")
        await queue.close()
    print(f"{reference}: approval request {outbox_id} queued")
    return 0
