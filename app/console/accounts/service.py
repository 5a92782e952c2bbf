"""The accounts' operations: setup, sign-in steps, sign-out, each audited in its transaction."""

from __future__ import annotations

from app.console import sessions
from app.console.accounts.tables import ConsoleSession
from app.console.audit.service import record
from app.console.sessions import SessionRow
from app.db import utcnow, write_transaction


async def sign_out(session: SessionRow, client: str) -> None:
    async with write_transaction(ConsoleSession._meta.db):
        await sessions.end(session)
        await record(
            "signout",
            actor=f"operator:{session.operator_id}",
            target=f"operator:{session.operator_id}",
            client=client,
            now=utcnow(),
        )
