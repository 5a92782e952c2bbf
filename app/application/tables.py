"""Tables of the issuance application: the application, its documents, the principal's
approval links and the audit trail of status changes."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.links.tables import TokenColumns
from app.registration.tables import Registration, Ticket


class Application(Table, tablename="application"):
    """One issuance application per registration; answers kept as JSON while drafting."""

    id: Serial
    public_id = Varchar(length=26, unique=True, index=True)
    reference = Varchar(length=16, unique=True, null=True, default=None)
    registration = ForeignKey(references=Registration, null=False, unique=True)
    ticket = ForeignKey(references=Ticket, null=False, index=True)
    applicant_type = Varchar(length=8)
    status = Varchar(length=24, default="draft", index=True)
    answers = Text(default="{}")
    decline_reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    # The console's review (app/console/review): who holds it (operator id), who recommended
    # it (four-eyes), and the open correction request the applicant's form shows (JSON).
    assigned_to = Integer(null=True, default=None)
    recommended_by = Integer(null=True, default=None)
    correction = Text(default="")


class ApplicationSearchTerm(Table, tablename="application_search"):
    """One word an application is found by in the review queue (app.application.search): kept
    with its answers, searched by prefix through the index the migration makes on `term`
    (byte order, "C" collation on PostgreSQL)."""

    id: Serial
    application = ForeignKey(references=Application, null=False, index=True)
    term = Varchar(length=200)


class ApplicationDocument(Table, tablename="application_document"):
    """An identity document: stored encrypted under a random name, never served publicly."""

    id: Serial
    public_id = Varchar(length=32, unique=True, index=True)
    application = ForeignKey(references=Application, null=False, index=True)
    kind = Varchar(length=24, default="other")
    display_name = Varchar(length=100)
    content_type = Varchar(length=32)
    size = Integer()
    sha256 = Varchar(length=64)
    storage_name = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    # How many page images operators see (a PDF's pages, at most
    # app.console.review.documents.MAX_PAGES): counted at the first view, kept.
    page_count = Integer(null=True, default=None)


class ApprovalToken(TokenColumns, Table, tablename="approval_token"):
    """The principal's approval link (代理人 applications; app.links: only the hash stored)."""

    id: Serial
    application = ForeignKey(references=Application, null=False, index=True)


class StatusChange(Table, tablename="application_status_change"):
    """Every move of an application's status, who made it (app.application.workflow.Actor:
    its kind, and the operator's id or the system job's name), why, and when."""

    id: Serial
    application = ForeignKey(references=Application, null=False, index=True)
    from_status = Varchar(length=24)
    to_status = Varchar(length=24)
    actor = Varchar(length=16)
    actor_id = Varchar(length=64, default="")
    reason = Text(default="")
    at = Timestamptz(default=TimestamptzNow())
