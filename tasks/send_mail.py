"""Job: deliver one outbox row."""

from __future__ import annotations

from typing import Any

from arq.worker import Retry

from app.mail.backends import backend_for
from app.mail.service import deliver
from app.settings import Settings


async def send_mail(ctx: dict[str, Any], outbox_id: int) -> str:
    settings: Settings = ctx["settings"]
    backend = ctx.get("mail_backend") or backend_for(settings.mail)
    result = await deliver(int(outbox_id), settings.mail, backend)
    if result.outcome == "retry":
        raise Retry(defer=result.retry_in)
    return result.outcome
