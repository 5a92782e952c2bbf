"""Tables of the registration stage: companies, tickets, registrations, access tokens."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.links.tables import TokenColumns


class Company(Table, tablename="company"):
    id: Serial
    code = Varchar(length=16, unique=True, index=True)
    name = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())


class Ticket(Table, tablename="ticket"):
    """A purchased ticket: one certificate. Registrable again until an application uses it."""

    id: Serial
    number = Varchar(length=32, unique=True, index=True)
    company = ForeignKey(references=Company, null=False)
    issued_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)
    last_registered_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)  # an admin voided it: never usable again


class Registration(Table, tablename="registration"):
    """One completed 申請登録: who registered which ticket, and where the link went."""

    id: Serial
    public_id = Varchar(length=26, unique=True, index=True)
    applicant_type = Varchar(length=8)
    company = ForeignKey(references=Company, null=False)
    ticket = ForeignKey(references=Ticket, null=False)
    email = Varchar(length=254)
    created_at = Timestamptz(default=TimestamptzNow())


class AccessToken(TokenColumns, Table, tablename="access_token"):
    """The emailed link to the application (app.links: only the token's SHA-256 is stored)."""

    id: Serial
    registration = ForeignKey(references=Registration, null=False)
    ticket = ForeignKey(references=Ticket, null=False, index=True)


class DraftUse(Table, tablename="registration_draft_use"):
    """The nonce of the step-1 draft a registration used (its CAPTCHA challenge's), written in
    the registration's transaction: a replayed or double-submitted draft finds it taken, so one
    solved CAPTCHA makes at most one registration. Kept as long as the registration."""

    id: Serial
    nonce = Varchar(length=32, unique=True)
    registration = ForeignKey(references=Registration, null=False, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
