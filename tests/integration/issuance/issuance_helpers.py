"""Shared steps of the issuance tests: an application approved in the console, the job's
context, the pickup mail's link."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from app.application.tables import Application
from app.console.guards import CurrentOperator
from app.console.review.form import Decision
from app.console.review.rules import Action
from app.console.review.service import act
from app.issuance.tables import Certificate
from tests.helpers import add_operator, submitted

CHECKS = ("name_matches", "employment_matches", "corporate_number", "document_valid")
HOLDER = "taro@example.com"  # the certificate's address in tests.helpers' answers


async def approved(client: Any, smtp_sink: Any, services: Any) -> dict[str, Any]:
    """An application submitted by its applicant and approved by an approver (which queues
    issue_certificate after the commit); the application row as approved."""
    return await approve(await submitted(client, smtp_sink), services)


class _Deaf:
    async def enqueue(self, *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.asynccontextmanager
async def no_queue(services: Any) -> AsyncIterator[None]:
    """Inside: nothing listens to the queue (an approval's issuing job is the test's to run)."""
    queue, services.queue = services.queue, _Deaf()
    try:
        yield
    finally:
        services.queue = queue


async def approved_without_job(client: Any, smtp_sink: Any, services: Any) -> dict[str, Any]:
    """Approved while no queue listens: the issuing job is the test's to run."""
    async with no_queue(services):
        return await approved(client, smtp_sink, services)


async def approve(reference: str, services: Any) -> dict[str, Any]:
    """Claim and approve the application with this reference, as an approver."""
    row = await Application.select().where(Application.reference == reference).first()
    assert row is not None
    email = f"approver-{reference}@example.jp"
    who = CurrentOperator(await add_operator("approver", email), email, "承認 太郎", "approver")
    await act(row["public_id"], Decision(Action.CLAIM), who, services)
    return await act(row["public_id"], Decision(Action.APPROVE, CHECKS), who, services)


async def pickup_mails_to(smtp_sink: Any, address: str = HOLDER, count: int = 1) -> list[Any]:
    """The pickup mails (「証明書を発行しました」) the sink received for `address`."""
    for _ in range(300):
        found = [m for m in smtp_sink.to(address) if "証明書を発行しました" in m["Subject"]]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"no pickup mail to {address}: {[m['Subject'] for m in smtp_sink.to(address)]}"
    )


def job_context(services: Any) -> dict[str, Any]:
    return {"settings": services.settings, "queue": services.queue, "job_try": 1}


async def wait_issued(application_id: int, timeout: float = 30.0) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        row = await Application.select().where(Application.id == application_id).first()
        if row and row["status"] == "issued":
            return dict(row)
        await asyncio.sleep(0.1)
    raise AssertionError(f"application {application_id} was not issued")


async def certificates(application_id: int) -> list[dict[str, Any]]:
    rows = await Certificate.select().where(Certificate.application == application_id)
    return [dict(r) for r in rows]
