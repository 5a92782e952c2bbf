"""The outbox: every outgoing message is a row written with the change that causes it."""

from __future__ import annotations

from piccolo.columns import Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
# Written but not sendable yet: released (-> pending) by the transaction that makes it true
# (the pickup mail, held until the certificate is stored).
HELD = "held"


class OutboxMessage(Table, tablename="outbox_message"):
    id: Serial
    message_id = Varchar(length=255, unique=True)
    template = Varchar(length=64)
    recipient = Varchar(length=254)
    subject = Varchar(length=255)
    body_text = Text()
    body_html = Text()
    status = Varchar(length=16, default=PENDING, index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
