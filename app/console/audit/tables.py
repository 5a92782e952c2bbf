"""The audit log's one table: append-only rows, each carrying the chain's hash up to itself."""

from __future__ import annotations

from piccolo.columns import Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """One security-relevant event. `seq` numbers the chain from 1 with no gaps; `hash` is
    sha256(prev_hash ‖ canonical JSON of the row), so a changed, deleted, inserted or
    reordered row breaks every hash after it (app.console.audit.chain)."""

    id: Serial
    seq = Integer(unique=True, index=True)
    at = Timestamptz(index=True)
    actor = Varchar(length=80, index=True)
    action = Varchar(length=64, index=True)
    target = Varchar(length=120, index=True)
    client = Varchar(length=64, default="")
    outcome = Varchar(length=16, default="ok")
    details = Text(default="{}")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)
