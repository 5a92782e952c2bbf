"""Tables of revocation: the holder's mailed link, the requests (online and on paper) and the
one revocation record of a certificate."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.issuance.tables import Certificate
from app.links.tables import TokenColumns

PENDING = "pending"  # received, waiting for an approver (or for the immediate job)
REVOKED = "revoked"
REJECTED = "rejected"

SUBSCRIBER = "subscriber"  # through the mailed link: the holder proved the mailbox
PAPER = "paper"  # 管理者による失効: recorded by an operator (who asked, how verified)


class RevocationLink(TokenColumns, Table, tablename="revocation_link"):
    """The one-time link mailed to the certificate's address (only the token's hash)."""

    id: Serial
    certificate = ForeignKey(references=Certificate, null=False, index=True)


class RevocationRequest(Table, tablename="revocation_request"):
    """One request to revoke a certificate; `number` is what the holder and the LRA quote."""

    id: Serial
    number = Varchar(length=16, unique=True)  # R-XXXXXXXX (random, never sequential)
    certificate = ForeignKey(references=Certificate, null=False, index=True)
    source = Varchar(length=16, default=SUBSCRIBER)
    confirmed = Boolean(default=True)  # the subscriber proved the certificate's mailbox
    reason = Varchar(length=32, default="none")  # app.revocation.rules.Reason
    invalidity_date = Timestamptz(null=True, default=None)
    status = Varchar(length=16, default=PENDING, index=True)
    received_at = Timestamptz(default=TimestamptzNow())
    due_at = Timestamptz(index=True)
    requester = Text(default="")  # paper: who asked
    verification = Text(default="")  # paper: how the LRA verified them
    decided_at = Timestamptz(null=True, default=None)
    decided_by = Integer(null=True, default=None)  # operator id
    decision_note = Text(default="")  # 却下 reason


class Revocation(Table, tablename="certificate_revocation"):
    """The revocation of one certificate (UNIQUE): what the CA recorded and who caused it."""

    id: Serial
    certificate = ForeignKey(references=Certificate, null=False, unique=True)
    request = ForeignKey(references=RevocationRequest, null=True, default=None)
    reason = Varchar(length=32, default="none")
    revoked_at = Timestamptz()
    invalidity_date = Timestamptz(null=True, default=None)
    actor = Varchar(length=80, default="")
