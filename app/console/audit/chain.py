"""The hash chain as pure functions: a row's canonical bytes, its link hash, and the walk that
finds the first row that does not belong."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # the prev_hash of row 1
HASHED = ("seq", "at", "actor", "action", "target", "client", "outcome", "details")


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Details as stored: sorted keys, no spaces, UTF-8 kept (the same text on both engines)."""
    return json.dumps(
        dict(details or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: its hashed fields as canonical JSON (details as text)."""
    fields = {name: row[name] for name in HASHED}
    fields["at"] = canonical_time(row["at"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, row: Mapping[str, Any]) -> str:
    """sha256(prev_hash ‖ canonical JSON of the row), hex."""
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head: str
    bad_seq: int | None = None  # the first row (by seq) that does not belong
    problem: str = ""


class Walk:
    """Checks rows in seq order, batch after batch, keeping only the running head."""

    def __init__(self) -> None:
        self.rows = 0
        self.head = GENESIS
        self.failure: Verdict | None = None

    def feed(self, rows: Iterable[Mapping[str, Any]]) -> bool:
        """False once a row does not belong (then `failure` says which and why)."""
        if self.failure is not None:
            return False
        for row in rows:
            expected = self.rows + 1
            problem = ""
            if row["seq"] != expected:
                problem = "inserted" if row["seq"] < expected else "deleted"
                problem = f"{problem} row: seq {row['seq']} where {expected} was expected"
            elif row["prev_hash"] != self.head:
                problem = "prev_hash does not continue the chain (deleted or reordered row)"
            elif link(self.head, row) != row["hash"]:
                problem = "hash does not match the row's content (modified row)"
            if problem:
                self.failure = Verdict(False, self.rows, self.head, int(row["seq"]), problem)
                return False
            self.rows = expected
            self.head = row["hash"]
        return True

    def verdict(self) -> Verdict:
        return self.failure or Verdict(True, self.rows, self.head)
