"""Revocation tests: the suite's local CA (made once under VAR_DIR/ca) and an issued
certificate reached the way an applicant and an approver reach it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.db import utcnow
from app.issuance.ca import keystore
from app.issuance.tables import Certificate
from tests.helpers import wait_for_mail
from tests.integration.issuance.issuance_helpers import HOLDER, approved, wait_issued
from tests.support.services import free_port

JCAN = Path(sys.executable).with_name("jcan")


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


@contextlib.contextmanager
def jcan_serve(settings: Any, tmp_path: Path, **extra_env: str) -> Iterator[str]:
    """`jcan serve` on a free port, on the suite's database and CA directory, with `extra_env`
    on top (CA_BACKEND=django-ca, ...): yields its base URL, stops it at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "REDIS"))}
    env.update(
        APP_ENV="test",
        VAR_DIR=str(settings.app.var_dir),
        SQLITE_PATH=str(settings.database.sqlite_path),
        DATABASE_URL=settings.database.url,
        REDIS_URL="",
        BASE_URL=f"http://127.0.0.1:{port}",
        MAIL_BACKEND="file",
        MAIL_DIR=str(tmp_path / "mail"),
        DOCUMENT_KEY="dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE",
        PICCOLO_CONF="app.piccolo_conf",
    )
    env.update(extra_env)
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [str(JCAN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        log.close()
