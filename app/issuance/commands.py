"""`jcan certificates list | show SERIAL`: the certificates issued, for operators."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.application.tables import Application
from app.issuance.tables import Certificate, PickupToken, WrappedKey
from app.revocation.record import revocation_of
from app.templating import format_japan_time


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certificates = sub.add_parser("certificates", help="issued certificates").add_subparsers(
        dest="action", required=True
    )
    listing = certificates.add_parser("list", help="list certificates, newest first")
    listing.add_argument("--limit", type=int, default=100)
    show = certificates.add_parser("show", help="one certificate by its serial (hex)")
    show.add_argument("serial")


def _time(value: Any) -> str:
    return format_japan_time(value) if value else "-"


async def pickup_state(certificate: dict[str, Any]) -> str:
    """received / waiting (until when) / expired (key destroyed) / csr (nothing to pick up)."""
    if certificate["picked_up_at"] is not None:
        return "received"
    link = await PickupToken.select().where(PickupToken.certificate == certificate["id"]).first()
    if link is None:
        return "none"
    if await WrappedKey.exists().where(WrappedKey.certificate == certificate["id"]):
        return f"waiting until {_time(link['expires_at'])}"
    return "key destroyed (link expired)"


async def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        rows = (
            await Certificate.select().order_by(Certificate.id, ascending=False).limit(args.limit)
        )
        for row in rows:
            print(
                f"{row['serial'] or '-'}\t{row['status']}\t{_time(row['not_after'])}\t"
                f"{row['subject']}\t{await pickup_state(dict(row))}"
            )
        return 0
    serial = args.serial.strip().lower().replace(":", "")
    found = await Certificate.select().where(Certificate.serial == serial).first()
    if found is None:
        print(f"no certificate with serial {args.serial}", file=sys.stderr)
        return 1
    row = dict(found)
    application = (
        await Application.select(Application.reference)
        .where(Application.id == row["application"])
        .first()
    )
    fields = [
        ("serial", row["serial"]),
        ("status", row["status"]),
        ("subject", row["subject"]),
        ("not before", _time(row["not_before"])),
        ("not after", _time(row["not_after"])),
        ("sha256", row["fingerprint"]),
        ("key", row["key_origin"]),
        ("application", application["reference"] if application else "-"),
        ("issued", _time(row["issued_at"])),
        ("pickup", await pickup_state(dict(row))),
    ]
    revocation = await revocation_of(int(row["id"]))
    if revocation is not None:
        fields += [
            ("revoked", _time(revocation["revoked_at"])),
            ("reason", revocation["reason"]),
            ("revoked by", revocation["actor"] or "-"),
        ]
        if revocation["invalidity_date"] is not None:
            fields.append(("invalidity date", _time(revocation["invalidity_date"])))
    for name, value in fields:
        print(f"{name}:\t{value}")
    print(row["certificate_pem"], end="")
    return 0
