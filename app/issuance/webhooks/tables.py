"""The webhook outbox: one row per event, written in the transaction of the change it announces."""

from __future__ import annotations

from piccolo.columns import Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, SENDING, DELIVERED, FAILED)


class WebhookEvent(Table, tablename="webhook_event"):
    id: Serial
    event_id = Varchar(length=26, unique=True)  # a ULID: the receiver's deduplication key
    event_type = Varchar(length=32)
    serial = Varchar(length=64, index=True)  # the certificate's, for its page's deliveries
    body = Text()  # the JSON exactly as it is sent (and signed)
    status = Varchar(length=16, default=PENDING, index=True)
    attempts = Integer(default=0)
    last_status = Integer(null=True, default=None)  # the receiver's last HTTP status
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
