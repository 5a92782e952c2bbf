"""Tables of the console's accounts: operators, their recovery codes, setup links, sessions."""

from __future__ import annotations

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.links.tables import TokenColumns


class Operator(Table, tablename="operator"):
    """An LRA staff member. Signs in only once enrolled (password + TOTP confirmed) and while
    neither disabled nor locked; `totp_last_step` is the last accepted TOTP time step, so a
    code is accepted once."""

    id: Serial
    email = Varchar(length=254, unique=True, index=True)
    name = Varchar(length=100)
    role = Varchar(length=16)
    password_hash = Varchar(length=200, default="")
    totp_secret = Varchar(length=64, default="")
    totp_last_step = BigInt(default=0)
    failed_attempts = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    enrolled_at = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RecoveryCode(Table, tablename="operator_recovery_code"):
    """A single-use recovery code: only its hash is stored."""

    id: Serial
    operator = ForeignKey(references=Operator, null=False, index=True, on_delete=OnDelete.cascade)
    code_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)


class OperatorSetupToken(TokenColumns, Table, tablename="operator_setup_token"):
    """The one-time link that sets an operator's password and TOTP (app.links, 24 h)."""

    id: Serial
    operator = ForeignKey(references=Operator, null=False, index=True, on_delete=OnDelete.cascade)


class ConsoleSession(Table, tablename="console_session"):
    """A signed-in browser: the cookie carries a random id, only its SHA-256 is stored. A row
    with `mfa_done` false has passed the password only and grants nothing but the code step."""

    id: Serial
    id_hash = Varchar(length=64, unique=True, index=True)
    operator = ForeignKey(references=Operator, null=False, index=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    mfa_done = Boolean(default=False)
