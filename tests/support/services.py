"""The real services the suites run beside the app: free ports, this run's id (in database,
queue and process names), and the SMTP sink that receives every mail. Imports nothing of the
app: conftest modules load it before the test environment is set."""

from __future__ import annotations

import email
import os
import secrets
import socket
from email import policy
from typing import Any

from aiosmtpd.controller import Controller

# The real PostgreSQL and Redis to test on (SQLite and the in-process runner without them).
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
RUN_ID = secrets.token_hex(4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """An aiosmtpd server on a free port that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.port = free_port()
        self.reply: str | None = None  # e.g. "550 no such user" to refuse RCPT

        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
                if sink.reply:
                    return sink.reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                sink.messages.append(
                    email.message_from_bytes(envelope.content, policy=policy.default)
                )
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]
