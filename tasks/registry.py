"""The one registry of jobs and their schedule, for the arq worker and the in-process runner."""

from __future__ import annotations

from app.jobs import Cron, Jobs
from tasks.issue_certificate import issue_certificate, relay_issuance
from tasks.publish_crl import publish_crl
from tasks.relay import relay_outbox
from tasks.revoke_request import relay_revocations, revoke_request
from tasks.send_mail import send_mail
from tasks.sweep import sweep_expired
from tasks.webhooks import deliver_webhook, relay_webhooks

JOBS = Jobs(
    functions=(
        send_mail,
        relay_outbox,
        sweep_expired,
        deliver_webhook,
        relay_webhooks,
        publish_crl,
        issue_certificate,
        relay_issuance,
        revoke_request,
        relay_revocations,
    ),
    schedule=(
        # Every minute (and once when a worker starts): pending mail whose enqueue was lost.
        Cron(relay_outbox, every=60, run_at_startup=True),
        # Every minute, 30 s after the mail relay: webhook events due (a retry) or lost.
        Cron(relay_webhooks, every=60, offset=30, run_at_startup=True),
        # Every minute (and at start): approvals whose issue_certificate enqueue was lost.
        Cron(relay_issuance, every=60, offset=30, run_at_startup=True),
        # Every minute, 15 s after the mail relay: confirmed revocations whose enqueue was lost
        # (only with REVOCATION_IMMEDIATE).
        Cron(relay_revocations, every=60, offset=15, run_at_startup=True),
        # Hourly, at minute 7: expired tokens, challenges and abandoned drafts.
        Cron(sweep_expired, every=3600, offset=7 * 60),
        # Daily at 03:17 UTC: a fresh CRL from the local CA (revocations sign one at once).
        Cron(publish_crl, every=86400, offset=3 * 3600 + 17 * 60),
    ),
)
