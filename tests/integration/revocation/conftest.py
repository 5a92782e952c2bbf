"""Revocation tests: the suite's local CA (made once under VAR_DIR/ca) and an issued
certificate reached the way an applicant and an approver reach it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.db import utcnow
from app.issuance.ca import keystore
from app.issuance.tables import Certificate
from tests.helpers import wait_for_mail
from tests.integration.issuance.issuance_helpers import HOLDER, approved, wait_issued


@pytest.fixture(scope="session", autouse=True)
def local_ca(settings: Any) -> keystore.Paths:
    paths = keystore.Paths(settings.ca_dir)
    if not paths.existing():
        hierarchy, root_key = keystore.make_hierarchy(settings, utcnow())
        keystore.save(settings, hierarchy, root_key)
    return paths


@pytest.fixture
def services(app: Any) -> Any:
    return app.state.services


async def issued_certificate(client: Any, smtp_sink: Any, services: Any) -> dict[str, Any]:
    """An application approved in the console and issued by the job: its certificate row."""
    application = await approved(client, smtp_sink, services)
    await wait_issued(application["id"])
    row = await Certificate.select().where(Certificate.application == application["id"]).first()
    assert row is not None and row["status"] == "issued"
    # The registration link, the submission and the pickup mail have all arrived (counts of
    # the holder's mail in the tests start from here).
    await wait_for_mail(smtp_sink, HOLDER, count=3)
    return dict(row)


def openssl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, cwd=cwd, check=check, timeout=60
    )
