"""An unclaimed key: destroyed by the sweep once its pickup link has expired, the holder and the
LRA mailed, the link's page saying it expired; a claimed or live one left alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.db import utcnow
from app.issuance.tables import PickupToken, WrappedKey
from tasks.sweep import sweep_expired
from tests.helpers import wait_for_mail
from tests.integration.issuance.issuance_helpers import (
    HOLDER,
    approved,
    pickup_mails_to,
    wait_issued,
)


@pytest.fixture
def services(app: Any, ca_settings: Any) -> Any:  # ca_settings: the local CA exists
    return app.state.services


async def test_an_expired_link_destroys_the_key_and_tells_holder_and_lra(
    client: Any, smtp_sink: Any, services: Any
) -> None:
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    await pickup_mails_to(smtp_sink)
    settings = services.settings
    ctx = {"settings": settings, "queue": services.queue}

    live = await sweep_expired(ctx | {"now": utcnow()})
    assert live["unclaimed_keys"] == 0 and await WrappedKey.count() == 1

    later = utcnow() + timedelta(days=settings.issuance.pickup_link_days, seconds=1)
    counts = await sweep_expired(ctx | {"now": later})
    assert counts["unclaimed_keys"] == 1
    assert await WrappedKey.count() == 0
    assert await PickupToken.count() == 1  # the link stays, to say it expired
    holder = await wait_for_mail(smtp_sink, HOLDER, count=4)  # link, receipt, pickup, this
    assert "受け取り期限" in holder[-1]["Subject"], [m["Subject"] for m in holder]
    [lra] = await wait_for_mail(smtp_sink, settings.lra.email)
    assert "秘密鍵を消去" in lra["Subject"]
    assert (await sweep_expired(ctx | {"now": later}))["unclaimed_keys"] == 0
