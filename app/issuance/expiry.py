"""Unclaimed keys: when a pickup link expires, the wrapped key is destroyed and the holder and
the LRA are told (tasks/sweep.py runs it)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.application.tables import Application
from app.issuance.service import ca_subject
from app.issuance.tables import WrappedKey
from app.mail.outbox import Outbox
from app.settings import Settings

log = logging.getLogger("jcan.issuance")


async def _expired(now: datetime, limit: int) -> list[dict[str, Any]]:
    """Certificates whose key is still wrapped while their pickup link has expired unused."""
    return [
        dict(row)
        for row in await WrappedKey.raw(
            "SELECT w.id AS wrapped_id, c.id, c.application, c.serial, c.subject "
            "FROM certificate_wrapped_key w "
            "JOIN certificate c ON c.id = w.certificate "
            "JOIN certificate_pickup p ON p.certificate = c.id "
            "WHERE p.used_at IS NULL AND p.expires_at <= {} ORDER BY w.id LIMIT {}",
            now,
            limit,
        )
    ]


async def destroy_unclaimed(now: datetime, settings: Settings, outbox: Outbox, limit: int) -> int:
    """Destroy up to `limit` unclaimed keys, each with its two mails in one transaction."""
    destroyed = 0
    for row in await _expired(now, limit):
        application = await Application.select().where(Application.id == row["application"]).first()
        if application is None:
            continue
        subject, _profile = ca_subject(dict(application))
        async with outbox.transaction() as letters:  # the mails are due at once
            gone = (
                await WrappedKey.delete()
                .where(WrappedKey.id == row["wrapped_id"])
                .returning(WrappedKey.id)
            )
            if not gone:
                continue  # a pickup or another sweep got there first
            context = {
                "reference": application["reference"],
                "common_name": subject.common_name,
                "serial": (row["serial"] or "").upper(),
                "days": settings.issuance.pickup_link_days,
            }
            await letters.add("certificate_unclaimed", subject.email, context | {"to_lra": False})
            await letters.add(
                "certificate_unclaimed", settings.lra.email, context | {"to_lra": True}
            )
        destroyed += 1
    if destroyed:
        log.info("destroyed %d unclaimed key(s)", destroyed)
    return destroyed
