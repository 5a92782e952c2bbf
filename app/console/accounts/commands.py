"""`jcan operators ...`: add (prints the setup link), list, disable, reset-mfa; and the demo
admin `jcan demo` makes in development."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.console.accounts import operators
from app.console.permissions import Role
from app.settings import Settings
from app.templating import format_japan_time

ACTOR = "cli"
DEMO_ADMIN = ("admin@example.jp", "デモ管理者")


def add_parser(sub: Any) -> None:
    """The `operators` subcommands, under the `jcan` parser's subparsers."""
    ops = sub.add_parser("operators", help="console operators").add_subparsers(
        dest="action", required=True
    )
    add = ops.add_parser("add", help="add an operator and print a one-time setup link")
    add.add_argument("email")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    ops.add_parser("list", help="list operators")
    disable = ops.add_parser("disable", help="disable an operator (sessions end at once)")
    disable.add_argument("email")
    reset = ops.add_parser("reset-mfa", help="clear password and TOTP; print a new setup link")
    reset.add_argument("email")


def _print_link(link: operators.SetupLink) -> None:
    print(f"setup link (valid until {format_japan_time(link.expires_at)}):")
    print(f"  {link.url}")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "add":
        return await add(settings, args.email, args.name, Role(args.role))
    if args.action == "list":
        return await listing()
    email = operators.normal_email(args.email) or args.email
    row = await operators.by_email(email)
    if row is None:
        print(f"no operator {args.email}", file=sys.stderr)
        return 1
    if args.action == "disable":
        done = await operators.disable(row["id"], actor=ACTOR)
        print(f"{row['email']}: disabled" if done else f"{row['email']}: was disabled already")
        return 0
    link = await operators.reset_mfa(row["id"], actor=ACTOR, settings=settings)
    if link is None:
        print(f"{row['email']}: disabled operators cannot be reset", file=sys.stderr)
        return 1
    print(f"{row['email']}: password, TOTP and recovery codes cleared")
    _print_link(link)
    return 0


async def add(settings: Settings, email: str, name: str, role: Role) -> int:
    normal = operators.normal_email(email)
    name = " ".join(name.split())
    if normal is None or not name or len(name) > 100:
        print("give a valid email address and a name of 1-100 characters", file=sys.stderr)
        return 2
    try:
        link = await operators.create(normal, name, role, actor=ACTOR, settings=settings)
    except operators.OperatorExists:
        print(f"operator {normal} exists already", file=sys.stderr)
        return 1
    print(f"{normal}: {role.value} created")
    _print_link(link)
    return 0


async def listing() -> int:
    rows = await operators.listing()
    for row in rows:
        state = (
            "disabled"
            if row["disabled_at"]
            else ("pending-setup" if not row["enrolled_at"] else "active")
        )
        print(f"{row['email']}\t{row['role']}\t{state}\t{row['name']}")
    if not rows:
        print("no operators (add the first admin: jcan operators add EMAIL NAME --role admin)")
    return 0


async def demo_admin(settings: Settings) -> None:
    """In development (APP_ENV=dev, what `make run` uses): a demo admin with a setup link
    printed (a fresh link while it has not been set up; once it has, where to sign in).
    Elsewhere only how to make the first admin (test servers keep an empty audit log)."""
    if settings.app.env != "dev":
        print("Create the first console admin: jcan operators add EMAIL NAME --role admin")
        return
    email, name = DEMO_ADMIN
    row = await operators.by_email(email)
    if row is None:
        link = await operators.create(email, name, Role.ADMIN, actor=ACTOR, settings=settings)
    elif row["enrolled_at"] is None and row["disabled_at"] is None:
        link_or_none = await operators.reset_mfa(row["id"], actor=ACTOR, settings=settings)
        assert link_or_none is not None
        link = link_or_none
    else:
        print(f"Console: sign in as {email} at {settings.app.base_url}/console/login")
        return
    print(f"Console: demo admin {email}; set its password and authenticator here:")
    print(f"  {link.url}")
    print(
        "  (more operators: jcan operators add EMAIL NAME --role reviewer|approver|admin|auditor)"
    )
