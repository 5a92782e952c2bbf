"""The hash chain as pure functions: a row's canonical bytes, its link hash, and the walk that
finds the first row that does not belong (and says what kind of tampering it looks like)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import Any

GENESIS = "0" * 64  # the prev_hash of row 1
HASHED = ("seq", "at", "actor", "action", "target", "client", "outcome", "details")
# A stored row as the walk reads it: the hashed fields in HASHED order (`at` as canonical
# text), then prev_hash and hash.
StoredRow = tuple[int, str, str, str, str, str, str, str, str, str]

_sha256 = hashlib.sha256


def canonical_time(at: datetime) -> str:
    """UTC with microseconds and a Z: 2026-12-01T11:57:13.345782Z. Naive times are refused
    (their meaning would depend on the machine's zone)."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError("audit times must be timezone-aware")
    if offset:
        at = at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Details as stored: sorted keys, no spaces, UTF-8 kept (the same text on both engines)."""
    return json.dumps(
        dict(details or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def canonical_values(
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    client: str,
    outcome: str,
    details: str,
) -> bytes:
    """The canonical JSON of a row (sorted keys, no spaces, UTF-8; `at` already canonical
    text, details as its stored text): byte for byte what json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False) gives, written out because verify() runs it
    for every row of the log."""
    q = encode_basestring
    return (
        f'{{"action":{q(action)},"actor":{q(actor)},"at":{q(at)},"client":{q(client)},'
        f'"details":{q(details)},"outcome":{q(outcome)},"seq":{int(seq)},"target":{q(target)}}}'
    ).encode()


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: its hashed fields as canonical JSON (details as text)."""
    at = row["at"]
    values = [row[name] for name in HASHED]
    values[1] = at if isinstance(at, str) else canonical_time(at)
    return canonical_values(*values)


def link(prev_hash: str, row: Mapping[str, Any]) -> str:
    """sha256(prev_hash ‖ canonical JSON of the row), hex."""
    return _sha256(prev_hash.encode() + canonical(row)).hexdigest()


def _link_stored(prev_hash: str, row: StoredRow) -> str:
    return _sha256(prev_hash.encode() + canonical_values(*row[:8])).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """What was written down outside the database earlier (`jcan audit head`): the chain must
    still hold at least `rows` rows, and the row `rows` (or, without it, some row) must still
    carry `head`. This is what catches a deleted last row, and a tail rewritten with
    recomputed hashes."""

    rows: int | None = None
    head: str | None = None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int  # rows that verified (all of them when ok)
    head: str  # hash of the last row that verified
    bad_seq: int | None = None  # the first row (by seq) that does not belong
    problem: str = ""


class Walk:
    """Checks rows in seq order, batch after batch, keeping only the running head. On the
    first row that does not belong it looks at one more row to tell an insert or a reorder
    from a modification, then stops."""

    def __init__(self, anchor: Anchor | None = None) -> None:
        self.anchor = anchor or Anchor()
        self.rows = 0
        self.head = GENESIS
        self.before_head = GENESIS  # hash of the row before the last good one
        self.anchor_seen: int | None = None  # seq of the row carrying the anchored head
        self.suspect: StoredRow | None = None  # the first bad row, waiting for its next
        self.failure: Verdict | None = None

    def feed(self, rows: Iterable[StoredRow]) -> bool:
        """False once a row does not belong (then `verdict()` says which and why)."""
        if self.failure is not None:
            return False
        expected = self.rows + 1
        head = self.head
        before = self.before_head
        for row in rows:
            if self.suspect is not None:
                self._fail(self.suspect, row)
                return False
            seq, prev, digest = row[0], row[8], row[9]
            if seq != expected or prev != head or _link_stored(prev, row) != digest:
                self.rows, self.head, self.before_head = expected - 1, head, before
                self.suspect = row
                continue
            if digest == self.anchor.head:
                self.anchor_seen = seq
            before, head = head, digest
            expected += 1
        if self.suspect is None:
            self.rows, self.head, self.before_head = expected - 1, head, before
        return True

    def verdict(self) -> Verdict:
        if self.failure is None and self.suspect is not None:
            self._fail(self.suspect, None)
        if self.failure is not None:
            return self.failure
        return self._anchored() or Verdict(True, self.rows, self.head)

    def _fail(self, row: StoredRow, following: StoredRow | None) -> None:
        bad, problem = diagnose(row, following, self.rows, self.head, self.before_head)
        self.failure = Verdict(False, self.rows, self.head, bad, problem)

    def _anchored(self) -> Verdict | None:
        rows, head = self.anchor.rows, self.anchor.head
        if rows is not None and self.rows < rows:
            problem = f"deleted rows: {rows} anchored, the chain ends at {self.rows}"
            return Verdict(False, self.rows, self.head, self.rows + 1, problem)
        if head is not None and self.anchor_seen is None:
            problem = f"the anchored head {head} is in no row: rows deleted or rewritten"
            return Verdict(False, self.rows, self.head, rows or self.rows + 1, problem)
        if head is not None and rows is not None and self.anchor_seen != rows:
            problem = f"the anchored head is row {self.anchor_seen}'s, not row {rows}'s"
            return Verdict(
                False, self.rows, self.head, min(rows, self.anchor_seen or rows), problem
            )
        return None


def diagnose(
    row: StoredRow, following: StoredRow | None, good: int, head: str, before_head: str
) -> tuple[int, str]:
    """(seq of the first row that does not belong, what it looks like), for `row`, the first
    row after `good` verified rows ending in `head` that failed, and the row after it."""
    seq, prev, digest = row[0], row[8], row[9]
    expected = good + 1
    if seq > expected:
        return expected, f"deleted row: seq {expected} is missing (seq {seq} comes next)"
    if seq < expected:
        return seq, f"inserted row: seq {seq} appears again after seq {good}"
    if prev == head:
        if following is not None and following[8] == head:
            return seq, "inserted row: the row after it continues the chain without it"
        return seq, "modified (or forged) row: its hash does not match its content"
    if good > 0 and prev == before_head:
        return good, "inserted row: the row after it follows the row before it"
    if following is not None and following[8] == head:
        return seq, f"reordered rows: seq {seq + 1} belongs before seq {seq}"
    if _link_stored(prev, row) == digest:
        return seq, f"deleted or moved row: seq {seq} is intact but follows another row"
    if _link_stored(prev, (seq + 1, *row[1:])) == digest:  # type: ignore[arg-type]
        return seq, f"deleted row: the row at seq {seq} was seq {seq + 1} (renumbered)"
    return seq, "modified row: it does not continue the chain (prev_hash, seq or content)"
