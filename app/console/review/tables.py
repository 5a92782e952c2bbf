"""The review's own record: each decision an operator made, with the checklist ticked and
what was decided (the fields to correct, the rejection reason, the ticket's reuse)."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.application.tables import Application


class ReviewDecision(Table, tablename="review_decision"):
    id: Serial
    application = ForeignKey(references=Application, null=False, index=True)
    operator = Integer()
    kind = Varchar(length=16)  # claim, take_over, recommend, approve, correct, reject
    checklist = Text(default="[]")  # JSON: the checklist items ticked
    details = Text(default="{}")  # JSON: fields, message, reason, ticket_reusable
    at = Timestamptz(default=TimestamptzNow())
