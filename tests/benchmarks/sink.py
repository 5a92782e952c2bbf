"""The SMTP sink of the bench: aiosmtpd in a process of its own, accepting and counting mail.

`python -m tests.benchmarks.sink PORT [LINKS]` prints "ready" once it listens; SIGTERM stops it
and prints the number of messages accepted. With LINKS, the pickup link of every message to an
`issue-bench.*` address is appended to that file (the issuing rows pick those certificates up).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import signal
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

PICKUP_LINK = re.compile(r"https?://\S+/pickup/t/[A-Za-z0-9_-]+")


class CountingHandler:
    def __init__(self, links: Path | None = None) -> None:
        self.messages = 0
        self.links = links

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        if self.links is not None and any("issue-bench." in r for r in envelope.rcpt_tos):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            body = message.get_body(("plain",))
            found = PICKUP_LINK.search(body.get_content() if body else "")  # type: ignore[attr-defined]
            if found:
                with self.links.open("a") as out:
                    out.write(found.group(0) + "\n")
        return "250 Message accepted for delivery"


async def serve(port: int, links: Path | None = None) -> None:
    handler = CountingHandler(links)
    loop = asyncio.get_running_loop()
    # A fixed hostname: otherwise every connection resolves this host's FQDN.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench-sink.localhost"), "127.0.0.1", port
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    print(f"accepted {handler.messages} message(s)", flush=True)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
