"""`jcan webhooks list [--failed] | retry ID`: the deliveries of 証明書を自動登録 from the shell."""

from __future__ import annotations

import argparse
import sys

from app.jobs import ArqQueue
from app.settings import Settings
from app.templating import format_japan_time

from . import operations
from .service import enqueue_delivery


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser(
        "webhooks", help="certificate events for the e-contract service"
    ).add_subparsers(dest="action", required=True)
    listing = hooks.add_parser("list", help="events and their delivery state, newest first")
    listing.add_argument("--failed", action="store_true", help="only failed events")
    retry = hooks.add_parser("retry", help="send a failed event again (audited)")
    retry.add_argument("id", help="the event id (a ULID)")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "list":
        return await _list(settings, args.failed)
    return await _retry(settings, args.id)


async def _list(settings: Settings, failed_only: bool) -> int:
    if not settings.webhooks.enabled:
        print("delivery disabled: ECONTRACT_WEBHOOK_URL is not set (events are only recorded)")
    rows = await operations.list_events(failed_only)
    for row in rows:
        nxt = format_japan_time(row["next_attempt_at"]) if row["status"] == "pending" else "-"
        print(
            f"{row['event_id']}\t{row['event_type']}\t{row['status']}\t"
            f"attempts={row['attempts']}\tlast={row['last_status'] or '-'}\tnext={nxt}\t"
            f"{format_japan_time(row['created_at'])}\t{row['last_error'] or '-'}"
        )
    if not rows:
        print("no failed events" if failed_only else "no events")
    return 0


async def _retry(settings: Settings, event_id: str) -> int:
    row_id = await operations.requeue_failed(event_id.strip().upper(), actor="cli")
    if row_id is None:
        print(f"event {event_id} is not failed (or does not exist)", file=sys.stderr)
        return 1
    if settings.jobs.redis_url:
        queue = ArqQueue(settings)
        await enqueue_delivery(queue, row_id, ":retry-cli")
        await queue.close()
        print(f"event {event_id} queued for delivery")
    else:
        print(f"event {event_id} queued; the running app delivers it within a minute")
    return 0
