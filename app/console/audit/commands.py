"""`jcan audit ...`: verify the whole hash chain (optionally against an anchored head), print
the head to write down outside the database."""

from __future__ import annotations

import argparse
import re
import sys

from app.console.audit import chain, service

HASH = re.compile(r"^[0-9a-f]{64}$")


def _hash(value: str) -> str:
    value = value.strip().lower()
    if not HASH.match(value):
        raise argparse.ArgumentTypeError("a head is 64 hexadecimal digits")
    return value


def _rows(value: str) -> int:
    try:
        rows = int(value)
    except ValueError:
        rows = -1
    if rows < 0:
        raise argparse.ArgumentTypeError("rows is a whole number, 0 or more")
    return rows


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log").add_subparsers(
        dest="action", required=True
    )
    verify = audit.add_parser(
        "verify", help="walk the whole chain; exit 1 at the first row that does not belong"
    )
    verify.add_argument(
        "--head", type=_hash, help="a head written down earlier (`jcan audit head`)"
    )
    verify.add_argument("--rows", type=_rows, help="the row count written down with it")
    audit.add_parser("head", help="print the row count and the head hash, for anchoring")


async def run(args: argparse.Namespace) -> int:
    if args.action == "head":
        rows, head = await service.head()
        print(f"{rows} rows, head {head}")
        return 0
    verdict = await service.verify(chain.Anchor(rows=args.rows, head=args.head))
    if verdict.ok:
        print(f"ok {verdict.rows} rows, head {verdict.head}")
        return 0
    print(f"FAILED at seq {verdict.bad_seq}: {verdict.problem}", file=sys.stderr)
    print(f"the first {verdict.rows} rows verify, up to head {verdict.head}", file=sys.stderr)
    return 1
