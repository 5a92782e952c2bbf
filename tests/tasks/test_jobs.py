"""Jobs against the real database and the SMTP sink: delivery, failures, relay, sweep."""

from __future__ import annotations

from datetime import timedelta

from arq.worker import Retry

from app.captcha.tables import CaptchaChallenge
from app.db import utcnow
from app.mail.tables import FAILED, PENDING, SENT, OutboxMessage
from app.registration.tables import AccessToken
from tasks.relay import relay_outbox
from tasks.send_mail import send_mail
from tasks.sweep import sweep_expired
from tests.helpers import mail_context, register, wait_for_mail, wait_for_status


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple]] = []

    async def enqueue(self, function, *args, job_id=None):
        self.jobs.append((function, args))


async def test_a_lost_enqueue_is_repaired_by_the_relay(client, app, smtp_sink):
    """Redis away at registration time: the row waits, the relay enqueues it later."""
    from app.mail.service import queue_message

    s = app.state.services
    outbox_id = await queue_message(
        s.env, "registration_link", "late@example.com", mail_context(), "x"
    )
    assert smtp_sink.to("late@example.com") == []
    queue = RecordingQueue()
    assert await relay_outbox({"queue": queue, "settings": app.state.services.settings}) == 1
    assert queue.jobs == [("send_mail", (outbox_id,))]
    await send_mail({"settings": s.settings}, outbox_id)
    assert len(await wait_for_mail(smtp_sink, "late@example.com")) == 1
    # Sent rows are never relayed again, and a second delivery attempt sends nothing.
    assert (
        await relay_outbox({"queue": RecordingQueue(), "settings": app.state.services.settings})
        == 0
    )
    assert await send_mail({"settings": s.settings}, outbox_id) == "skipped"
    assert len(smtp_sink.to("late@example.com")) == 1


async def test_permanent_smtp_refusal_marks_the_row_failed_without_retry(client, app, smtp_sink):
    from app.mail.service import queue_message

    s = app.state.services
    outbox_id = await queue_message(
        s.env, "registration_link", "nobody@example.com", mail_context(), "x"
    )
    smtp_sink.reply = "550 5.1.1 no such user"
    assert await send_mail({"settings": s.settings}, outbox_id) == "failed"
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert row["status"] == FAILED and "550" in row["last_error"]
    assert (
        await relay_outbox({"queue": RecordingQueue(), "settings": app.state.services.settings})
        == 0
    )


async def test_unreachable_smtp_is_retried_later_with_backoff(client, app, variant):
    from app.mail.service import queue_message

    s = app.state.services
    outbox_id = await queue_message(
        s.env, "registration_link", "retry@example.com", mail_context(), "x"
    )
    from tests.support.services import free_port

    dead = variant(mail={"smtp_port": free_port(), "smtp_timeout": 1.0})
    try:
        await send_mail({"settings": dead}, outbox_id)
        raise AssertionError("expected Retry")
    except Retry as retry:
        assert retry.defer_score == 15_000
    row = await OutboxMessage.select().where(OutboxMessage.id == outbox_id).first()
    assert row["status"] == PENDING and row["attempts"] == 1
    assert row["next_attempt_at"] > utcnow() + timedelta(seconds=10)
    # Not due yet, so the relay leaves it alone.
    assert (
        await relay_outbox({"queue": RecordingQueue(), "settings": app.state.services.settings})
        == 0
    )


async def test_registration_mail_is_sent_exactly_once(client, smtp_sink):
    await register(client)
    await wait_for_mail(smtp_sink, "taro@example.com")
    row = await wait_for_status(SENT)
    assert len(smtp_sink.to("taro@example.com")) == 1
    assert smtp_sink.to("taro@example.com")[0]["Message-ID"].strip() == row["message_id"]


async def test_sweep_removes_only_what_is_expired(client, smtp_sink):
    now = utcnow()
    for i, delta in enumerate((-3600, -1, 600, 3600)):
        await CaptchaChallenge.insert(
            CaptchaChallenge(
                public_id=f"challenge-{i:02d}-xxxxxxxxxxxxxx",
                answer="ABCDE",
                created_at=now,
                expires_at=now + timedelta(seconds=delta),
            )
        )
    await register(client)
    await register(client, ticket_number=client.tickets[1])
    await register(client, ticket_number=client.tickets[2])
    tokens = await AccessToken.select(AccessToken.id).order_by(AccessToken.id)
    # One long dead, one just expired (kept a while to say "expired"), one live.
    await AccessToken.update({AccessToken.expires_at: now - timedelta(days=8)}).where(
        AccessToken.id == tokens[0]["id"]
    )
    await AccessToken.update({AccessToken.expires_at: now - timedelta(hours=1)}).where(
        AccessToken.id == tokens[1]["id"]
    )
    before_challenges = await CaptchaChallenge.count()
    swept_at = utcnow()  # what had expired by now must be gone
    counts = await sweep_expired({})
    assert counts["access_tokens"] == 1
    remaining = [r["id"] for r in await AccessToken.select(AccessToken.id).order_by(AccessToken.id)]
    assert remaining == [tokens[1]["id"], tokens[2]["id"]]
    assert counts["captcha_challenges"] >= 2
    assert await CaptchaChallenge.count().where(CaptchaChallenge.expires_at <= swept_at) == 0
    assert await CaptchaChallenge.count() == before_challenges - counts["captcha_challenges"]
    # Idempotent: a second sweep finds nothing.
    assert await sweep_expired({}) == {
        "captcha_challenges": 0,
        "access_tokens": 0,
        "operator_setup_links": 0,
    }


async def test_a_claim_lost_with_its_worker_is_relayed_under_a_fresh_job_id(client, app):
    """The dead worker's job id stays taken in Redis: the relay must not reuse it."""
    from app.mail.service import queue_message
    from app.mail.tables import SENDING

    s = app.state.services
    outbox_id = await queue_message(
        s.env, "registration_link", "lost@example.com", mail_context(), "x"
    )
    await OutboxMessage.update(
        {
            OutboxMessage.status: SENDING,
            OutboxMessage.attempts: 1,
            OutboxMessage.claimed_at: utcnow() - timedelta(hours=1),
        }
    ).where(OutboxMessage.id == outbox_id)
    queue = RecordingQueue()
    queue_ids: list[str | None] = []

    async def enqueue(function, *args, job_id=None):
        queue_ids.append(job_id)

    queue.enqueue = enqueue
    await relay_outbox({"queue": queue, "settings": s.settings})
    assert queue_ids == [f"send_mail:{outbox_id}:lost-claim-1"]
    assert await send_mail({"settings": s.settings}, outbox_id) == "sent"
