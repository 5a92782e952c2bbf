"""Cron job: sign a fresh CRL for the local CA daily (SBR 4.9.7: at least every 7 days)."""

from __future__ import annotations

import logging
from typing import Any

from app.issuance.ca.base import CAError
from app.issuance.ca.crl import number_of
from app.issuance.ca.local import LocalCA
from app.settings import Settings

log = logging.getLogger("jcan.jobs")


async def publish_crl(ctx: dict[str, Any]) -> int:
    """The new CRL Number, or 0 when the backend is not `local` or no local CA exists."""
    settings: Settings = ctx["settings"]
    if settings.ca.backend != "local":
        return 0  # another CA publishes its own CRL
    try:
        der = await LocalCA(settings).publish_crl()
    except CAError as exc:
        log.warning("CRL not published: %s", exc)
        return 0
    return number_of(der)
