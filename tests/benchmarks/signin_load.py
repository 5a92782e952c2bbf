"""Sign-in: the console's password step (POST /console/login, an Argon2id verify off the
event loop, a session row and an audit row) under wrk, against a raw loop of argon2-cffi's
PasswordHasher().verify with the same parameters in one process for as many seconds.

    python -m tests.benchmarks.signin_load [--seconds 10]   # alone, on a stack of its own

The operator is made before the server starts, with the console's own functions (created,
password set, TOTP enrolled with a code computed from its secret), in the scratch database.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote

from argon2 import PasswordHasher

from app import db
from app.console.accounts import operators, passwords, totp
from app.console.accounts.tables import OperatorSetupToken
from app.console.permissions import Role
from app.db import utcnow
from app.schema import TABLES
from app.settings import Settings

EMAIL = "signin-bench@example.jp"
PASSWORD = "bench-sign-in-passphrase-2026"
CONNECTIONS = 10  # argon2 is CPU-bound: more connections only queue in the thread pool


@dataclass(frozen=True)
class SigninResult:
    web_rate: float  # password steps passed per second
    raw_rate: float  # verifications per second

    @property
    def ratio(self) -> float:
        return self.web_rate / self.raw_rate


def login_form(csrf: str) -> str:
    fields = [("_csrf_token", csrf), ("email", EMAIL), ("password", PASSWORD)]
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields)


async def add_operator(settings: Settings) -> None:
    """The bench operator, able to sign in (the way an operator's setup link makes one)."""
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        link = await operators.create(
            EMAIL, "ベンチマーク担当", Role.REVIEWER, actor="bench", settings=settings
        )
        await operators.set_password(link.operator_id, PASSWORD, settings)
        row = await operators.by_id(link.operator_id)
        token = await (
            OperatorSetupToken.select(OperatorSetupToken.id)
            .where(OperatorSetupToken.operator == link.operator_id)
            .first()
        )
        assert row is not None and token is not None
        code = totp.code_at(operators.totp_secret(row, settings), utcnow())
        codes = await operators.enrol(token["id"], row, code, settings)
        assert codes, "the bench operator's TOTP enrolment was refused"
    finally:
        await db.stop(engine)


async def console_session(settings: Settings) -> str:
    """A signed-in console session (password and TOTP done) of the bench operator: the
    `jcan_console` cookie value, made the way e2e/test_console_review.py plants one."""
    from app.console import sessions
    from app.console.accounts.tables import Operator

    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    await db.start(engine, settings.database)
    try:
        row = await Operator.select(Operator.id).where(Operator.email == EMAIL).first()
        assert row is not None, "add_operator first"
        now = utcnow()
        async with db.write_transaction(engine):
            raw = await sessions.start(row["id"], now)
            session = await sessions.load(raw, settings)
            assert session is not None
            return await sessions.rotate(session, now, mfa_done=True)
    finally:
        await db.stop(engine)


def raw_loop(seconds: float) -> float:
    """The floor: PasswordHasher().verify of the right password, back to back, for `seconds`;
    verifications per second. The parameters are the app's (asserted)."""
    hasher = PasswordHasher()
    app = passwords.HASHER
    same = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.type)
    assert same == (app.time_cost, app.memory_cost, app.parallelism, app.type)
    encoded = hasher.hash(PASSWORD)
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        hasher.verify(encoded, PASSWORD)
        count += 1
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    from tests.benchmarks.report import Report
    from tests.benchmarks.run import Bench, signin_row
    from tests.benchmarks.stack import Stack
    from tests.benchmarks.web_load import ensure_wrk

    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.signin_load")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    ensure_wrk()
    stack = Stack()
    report = Report()
    try:
        stack.start()
        bench = Bench(stack, args.seconds)
        signin_row(report, bench)
    finally:
        stack.stop()
    print(report.table())
    for problem in bench.broken:
        print("NOT CLEAN:", problem)
    return 1 if bench.broken else 0


if __name__ == "__main__":
    sys.exit(main())
