"""The local CA's own records: what it signed (by request id) and the CRLs it numbered."""

from __future__ import annotations

from piccolo.columns import BigInt, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class LocalCaCertificate(Table, tablename="local_ca_certificate"):
    """One certificate the local CA signed. request_id is the idempotency key (UNIQUE): a
    second issue() of the same id returns this row's certificate. serial is lowercase hex."""

    id: Serial
    request_id = Varchar(length=100, unique=True)
    serial = Varchar(length=64, unique=True)
    pem = Text()
    issued_at = Timestamptz()
    not_after = Timestamptz(index=True)
    revoked_at = Timestamptz(null=True, default=None)
    reason = Varchar(length=32, null=True, default=None)  # x509.ReasonFlags value; NULL = none
    invalidity_date = Timestamptz(null=True, default=None)


class LocalCaCrl(Table, tablename="local_ca_crl"):
    """One CRL signed (a log): its CRL Number is thisUpdate in microseconds, above the last."""

    id: Serial
    number = BigInt(index=True)
    this_update = Timestamptz()
    next_update = Timestamptz()
    entries = Integer(default=0)
