"""The SMTP sink of the bench: aiosmtpd in a process of its own, accepting and counting mail.

`python -m tests.benchmarks.sink PORT` prints "ready" once it listens; SIGTERM stops it and
prints the number of messages accepted.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from aiosmtpd.smtp import SMTP


class CountingHandler:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 Message accepted for delivery"


async def serve(port: int) -> None:
    handler = CountingHandler()
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
    asyncio.run(serve(int(sys.argv[1])))
