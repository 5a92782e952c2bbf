"""The `jcan` command, run as a real process against the test database."""

from __future__ import annotations

import subprocess
import time

import pytest

from app.registration.form import normalise_ticket
from tests.support.cli import jcan
from tests.support.services import RUN_ID, TEST_REDIS_URL


async def test_companies_add_and_tickets_issue_and_list(client):
    added = jcan("companies", "add", "acme", "アクメ株式会社")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "ACME"
    issued = jcan("tickets", "issue", "ACME", "--count", "4")
    assert issued.returncode == 0, issued.stderr
    numbers = issued.stdout.split()
    assert len(numbers) == 4 and len(set(numbers)) == 4
    assert all(normalise_ticket(n) == n for n in numbers)
    listed = jcan("tickets", "list", "acme")
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == numbers
    assert all("\tavailable\t" in line for line in listed.stdout.splitlines())


async def test_duplicate_company_and_unknown_company_fail_cleanly(client):
    duplicate = jcan("companies", "add", "ISC", "again")
    assert duplicate.returncode == 1
    assert "exists already" in duplicate.stderr and "Traceback" not in duplicate.stderr
    unknown = jcan("tickets", "issue", "NOPE")
    assert unknown.returncode == 1 and "no company" in unknown.stderr
    bad = jcan("companies", "add", "no spaces!", "x")
    assert bad.returncode == 2


async def test_bad_configuration_is_reported_not_raised():
    result = jcan("tickets", "list", "ISC", env={"SMTP_PORT": "lots"})
    assert result.returncode == 2
    assert "SMTP_PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["--help"], ["serve", "--help"], ["worker", "--help"]])
def test_help_lists_the_commands(command):
    result = jcan(*command)
    assert result.returncode == 0
    assert "usage: jcan" in result.stdout


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs a Redis for `jcan worker` to wait on")
def test_a_command_that_hangs_fails_alone_and_shows_where_it_hung(tmp_path):
    # `jcan worker` waits for jobs until it is stopped: as a command given 3 s, it hangs. Its
    # own queue and a database of its own, so it takes no other test's jobs.
    env = {
        "REDIS_URL": TEST_REDIS_URL,
        "JOB_QUEUE_NAME": f"jcan:test:hang:{RUN_ID}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hang.sqlite'}",
    }
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as hung:
        jcan("worker", env=env, timeout=3)
    assert time.monotonic() - started < 20
    assert "most recent call first" in hung.value.stderr  # faulthandler's dump of its stack
    # The next command gets a zygote in step (before, it read the hung one's answers).
    for _ in range(3):
        result = jcan("--help")
        assert result.returncode == 0 and "usage: jcan" in result.stdout


def test_worker_without_redis_says_how_jobs_run():
    result = jcan("worker", env={"REDIS_URL": ""})
    assert result.returncode == 2 and "in-process" in result.stderr


async def test_migrate_is_idempotent():
    result = jcan("migrate")
    assert result.returncode == 0, result.stderr


async def test_outbox_list_failed_and_retry(client, app, smtp_sink):
    from app.mail.service import queue_message
    from app.mail.tables import PENDING, OutboxMessage
    from tasks.send_mail import send_mail
    from tests.helpers import mail_context

    s = app.state.services
    outbox_id = await queue_message(
        s.env, "registration_link", "gone@example.com", mail_context(), "x"
    )
    smtp_sink.reply = "550 5.1.1 no such user"
    assert await send_mail({"settings": s.settings}, outbox_id) == "failed"
    listed = jcan("outbox", "list", "--failed")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert line.startswith(f"{outbox_id}\tfailed\tregistration_link\t*@example.com\t")
    assert "gone@" not in listed.stdout  # no personal data on operators' terminals
    retried = jcan("outbox", "retry", str(outbox_id), env={"REDIS_URL": ""})
    assert retried.returncode == 0, retried.stderr
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert row["status"] == PENDING and row["attempts"] == 0
    again = jcan("outbox", "retry", str(outbox_id))
    assert again.returncode == 1
    assert jcan("outbox", "list", "--failed").stdout.strip() == "no failed messages"


async def test_applications_list_shows_status_and_filters(client, smtp_sink):
    from tests.helpers import ready_application, submit_application

    csrf = await ready_application(client, smtp_sink)
    await submit_application(client, csrf)
    listed = jcan("applications", "list")
    assert listed.returncode == 0, listed.stderr
    line = listed.stdout.splitlines()[0]
    assert line.startswith("JC-") and "\tsubmitted\tself\tISC\t" in line
    assert "taro@example.com" not in listed.stdout
    only = jcan("applications", "list", "--status", "awaiting_principal")
    assert only.returncode == 0 and "no applications with status" in only.stdout
    wrong = jcan("applications", "list", "--status", "bogus")
    assert wrong.returncode == 2 and "unknown status" in wrong.stderr


async def test_resend_approval_sends_a_fresh_link_and_retires_the_old(client, smtp_sink):
    from app.application.tables import Application, ApprovalToken
    from tests.helpers import (
        AGENT_ANSWERS,
        approval_link_in,
        ready_application,
        submit_application,
        wait_for_mail,
    )

    csrf = await ready_application(client, smtp_sink, "agent", "agent@example.net")
    await submit_application(client, csrf)
    principal = AGENT_ANSWERS["cert_email"]
    first = approval_link_in((await wait_for_mail(smtp_sink, principal))[-1])
    reference = (await Application.select(Application.reference).first())["reference"]
    resent = jcan("applications", "resend-approval", reference.lower())
    assert resent.returncode == 0, resent.stderr
    assert await ApprovalToken.count().where(ApprovalToken.superseded_at.is_not_null()) == 1
    old = await client.get(first, follow_redirects=False)
    assert old.headers["location"] == "/approve/link/superseded"
    self_application = jcan("applications", "resend-approval", "JC-0000-0000")
    assert self_application.returncode == 1 and "Traceback" not in self_application.stderr
